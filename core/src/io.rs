//! Reading and writing fields: NPY (what numpy users load and hand over), CSV grids, and
//! x–y–value tables with comment lines (COMSOL text exports) that are regridded.
//!
//! Parsers work on bytes or text so the browser can use them on files the user drops in;
//! path-based helpers with atomic writes (temp file + rename) exist natively. Every error names
//! its source and the problem.

use std::io::Write;

use npyz::WriterBuilder;

use crate::error::{Error, Result};
use crate::grid::{Axis, Grid};

/// A dense C-order array of f64 with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f64>,
}

impl Array {
    /// Wraps `data` with `shape`, checking that they agree.
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Invalid(format!(
                "shape {shape:?} holds {n} values but {} were given",
                data.len()
            )));
        }
        Ok(Self { shape, data })
    }

    /// Fails on the first NaN or infinity, naming its index.
    pub fn check_finite(&self, source: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(Error::data(
                source,
                format!(
                    "value {} at index {} (of shape {:?}) is not finite",
                    self.data[i],
                    unravel(i, &self.shape),
                    self.shape
                ),
            )),
        }
    }
}

fn unravel(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (k, &n) in shape.iter().enumerate().rev() {
        idx[k] = i % n.max(1);
        i /= n.max(1);
    }
    format!("{idx:?}")
}

/// Storage precision for written NPY files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 4-byte floats (`<f4`).
    F32,
    /// 8-byte floats (`<f8`).
    F64,
}

/// Parses an NPY file of f32 or f64 values in C or Fortran order (returned in C order).
pub fn read_npy(bytes: &[u8], source: &str) -> Result<Array> {
    let bad = |m: String| Error::data(source, m);
    if bytes.is_empty() {
        return Err(bad("empty file".into()));
    }
    check_npy_shape(bytes).map_err(bad)?;
    let file = npyz::NpyFile::new(bytes).map_err(|e| bad(format!("not a valid NPY file ({e})")))?;
    let shape: Vec<usize> = file.shape().iter().map(|&n| n as usize).collect();
    let order = file.order();
    let dtype = file.dtype();
    let expected: usize = shape.iter().product();
    let data: Vec<f64> = match dtype.descr().as_str() {
        "'<f8'" | "'|f8'" => file.into_vec::<f64>(),
        "'<f4'" | "'|f4'" => file.into_vec::<f32>().map(|v| v.into_iter().map(f64::from).collect()),
        other => {
            return Err(bad(format!(
                "unsupported dtype {other}: expected little-endian float32 or float64 (numpy: arr.astype('<f8'))"
            )));
        }
    }
    .map_err(|e| bad(format!("truncated or malformed data ({e})")))?;
    if data.len() != expected {
        return Err(bad(format!(
            "holds {} values, its header promises {expected}",
            data.len()
        )));
    }
    if expected == 0 {
        return Err(bad(format!("array of shape {shape:?} is empty")));
    }
    let data = match order {
        npyz::Order::C => data,
        npyz::Order::Fortran => fortran_to_c(&data, &shape),
    };
    let array = Array::new(shape, data)?;
    array.check_finite(source)?;
    Ok(array)
}

/// Refuses a header whose shape cannot fit in the file before npyz sees it: npyz multiplies
/// the dimensions unchecked, so a corrupt shape would overflow (a panic) or promise terabytes.
/// Headers it cannot parse are left to npyz, which explains them.
fn check_npy_shape(bytes: &[u8]) -> std::result::Result<(), String> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Ok(());
    }
    let (len, start) = if bytes[6] == 1 {
        (
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
            10usize,
        )
    } else if bytes.len() >= 12 {
        let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        (usize::try_from(len).unwrap_or(usize::MAX), 12)
    } else {
        return Ok(());
    };
    let end = start.saturating_add(len).min(bytes.len());
    let header = String::from_utf8_lossy(&bytes[start..end]);
    let Some(tuple) = header
        .find("shape")
        .and_then(|at| header[at..].find('(').map(|open| at + open + 1))
        .and_then(|open| {
            header[open..]
                .find(')')
                .map(|close| &header[open..open + close])
        })
    else {
        return Ok(());
    };
    let Ok(dims) = tuple
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<u64>())
        .collect::<std::result::Result<Vec<u64>, _>>()
    else {
        return Ok(());
    };
    // Every partial product must fit too: npyz forms them as strides, zeros or not.
    let nonzero = dims
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let data_bytes = bytes.len().saturating_sub(end) as u64;
    match nonzero {
        None => Err(format!("header shape ({tuple}) overflows")),
        Some(n) if !dims.contains(&0) && n > data_bytes => Err(format!(
            "truncated or malformed data: the header promises {n} values, the file holds {data_bytes} bytes of data"
        )),
        Some(_) => Ok(()),
    }
}

fn fortran_to_c(data: &[f64], shape: &[usize]) -> Vec<f64> {
    let n = data.len();
    (0..n)
        .map(|c| {
            // C index → multi-index → Fortran offset.
            let (mut rest, mut offset, mut stride) = (c, 0, 1);
            let mut idx = vec![0; shape.len()];
            for (k, &d) in shape.iter().enumerate().rev() {
                idx[k] = rest % d;
                rest /= d;
            }
            for (k, &d) in shape.iter().enumerate() {
                offset += idx[k] * stride;
                stride *= d;
            }
            data[offset]
        })
        .collect()
}

/// Writes `array` as a C-order NPY file.
pub fn write_npy(mut w: impl Write, array: &Array, precision: Precision) -> std::io::Result<()> {
    let shape: Vec<u64> = array.shape.iter().map(|&n| n as u64).collect();
    match precision {
        Precision::F64 => {
            let mut writer = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut w)
                .begin_nd()?;
            writer.extend(array.data.iter().copied())?;
            writer.finish()
        }
        Precision::F32 => {
            let mut writer = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut w)
                .begin_nd()?;
            writer.extend(array.data.iter().map(|&v| v as f32))?;
            writer.finish()
        }
    }
}

/// Lines that carry data: blank lines and `#`/`%` comments are skipped.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'))
}

fn parse_numbers(line: &str, lineno: usize, source: &str) -> Result<Vec<f64>> {
    line.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f64>()
                .map_err(|_| Error::data(source, format!("line {lineno}: '{s}' is not a number")))
        })
        .collect()
}

/// Parses a CSV grid: one row of numbers per line (rows = y, columns = x); a single row or
/// column is a 1D field. Separators: comma, semicolon or whitespace.
pub fn read_csv_grid(text: &str, source: &str) -> Result<Array> {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (lineno, line) in data_lines(text) {
        let row = parse_numbers(line, lineno, source)?;
        if let Some(first) = rows.first()
            && row.len() != first.len()
        {
            return Err(Error::data(
                source,
                format!(
                    "line {lineno} has {} values but the first row has {}",
                    row.len(),
                    first.len()
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::data(source, "no data rows"));
    }
    let (ny, nx) = (rows.len(), rows[0].len());
    let shape = if ny == 1 || nx == 1 {
        vec![ny * nx]
    } else {
        vec![ny, nx]
    };
    let array = Array::new(shape, rows.into_iter().flatten().collect())?;
    array.check_finite(source)?;
    Ok(array)
}

/// Writes a 1D array as one column, a 2D array as rows of comma-separated values.
pub fn write_csv_grid(w: impl Write, array: &Array) -> Result<()> {
    let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(w);
    let cols = if array.shape.len() == 2 {
        array.shape[1]
    } else {
        1
    };
    for row in array.data.chunks(cols) {
        out.write_record(row.iter().map(|v| format!("{v:e}")))
            .map_err(|e| Error::Invalid(format!("csv: {e}")))?;
    }
    out.flush().map_err(|e| Error::Invalid(format!("csv: {e}")))
}

/// How far, as a fraction of the grid step, a table coordinate may sit from its node. Meshers
/// and FEM exports write nodes with last-bit noise (x = −2e-17 for 0); a tolerance relative to
/// the *step*, not to the coordinate, treats those alike at zero and far from it.
pub(crate) const NODE_TOLERANCE: f64 = 1e-4;

/// Parses an x–value (1D) or x–y–value (2D) table, e.g. a COMSOL text export (`%` header
/// lines, then `X Y value` rows), and regrids it: the coordinates must form a complete,
/// uniformly spaced grid (any row order), else the error says which condition fails.
pub fn read_table(text: &str, source: &str) -> Result<(Grid, Array)> {
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (lineno, line) in data_lines(text) {
        let row = parse_numbers(line, lineno, source)?;
        if !(2..=3).contains(&row.len()) {
            return Err(Error::data(
                source,
                format!(
                    "line {lineno}: expected 'x value' or 'x y value', found {} columns",
                    row.len()
                ),
            ));
        }
        if let Some(first) = rows.first()
            && first.len() != row.len()
        {
            return Err(Error::data(
                source,
                format!(
                    "line {lineno}: {} columns, earlier rows have {}",
                    row.len(),
                    first.len()
                ),
            ));
        }
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::data(
                source,
                format!("line {lineno}: value {v} is not finite"),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(Error::data(source, "no data rows"));
    }
    let dims = rows[0].len() - 1;
    let axis_of = |k: usize, name: &str| -> Result<Axis> {
        let values: Vec<f64> = rows.iter().map(|r| r[k]).collect();
        table_axis(name, values, source)
    };
    let x = axis_of(0, "x")?;
    let y = if dims == 2 {
        Some(axis_of(1, "y")?)
    } else {
        None
    };
    let grid = match &y {
        None => Grid::d1(x.clone()),
        Some(y) => Grid::d2(y.clone(), x.clone()),
    };
    let index = |r: &[f64]| -> Result<usize> {
        let i = snap(&x, r[0], source)?;
        Ok(match &y {
            None => i,
            Some(y) => snap(y, r[1], source)? * x.n + i,
        })
    };
    let n = grid.len();
    if rows.len() != n {
        return Err(Error::data(
            source,
            format!(
                "{} rows do not fill the {:?} grid their coordinates span ({n} points): missing or duplicate points",
                rows.len(),
                grid.shape()
            ),
        ));
    }
    let mut data = vec![f64::NAN; n];
    for r in &rows {
        let i = index(r)?;
        if !data[i].is_nan() {
            return Err(Error::data(
                source,
                format!("duplicate point at {:?}", &r[..dims]),
            ));
        }
        data[i] = r[dims];
    }
    let array = Array::new(grid.shape(), data)?;
    Ok((grid, array))
}

/// The uniform axis a table column's coordinates lie on. Sorted values closer than
/// [`NODE_TOLERANCE`] of the widest gap (which is the step on a uniform grid) are one node;
/// start and step are then fitted to all nodes by least squares, so last-bit noise in the
/// export neither splits a node nor shifts the grid.
fn table_axis(name: &str, mut values: Vec<f64>, source: &str) -> Result<Axis> {
    values.sort_by(f64::total_cmp);
    let widest = values.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let mut nodes: Vec<(f64, usize)> = Vec::new();
    for &v in &values {
        match nodes.last_mut() {
            Some((sum, count)) if v - *sum / *count as f64 <= NODE_TOLERANCE * widest => {
                *sum += v;
                *count += 1;
            }
            _ => nodes.push((v, 1)),
        }
    }
    let nodes: Vec<f64> = nodes.iter().map(|(s, c)| s / *c as f64).collect();
    let axis = uniform_axis(name, &nodes, source)?;
    // Least-squares line through (i, node_i): the noise averages out of start and step.
    let n = nodes.len() as f64;
    let mean_i = (n - 1.0) / 2.0;
    let mean_v = nodes.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in nodes.iter().enumerate() {
        sxy += (i as f64 - mean_i) * (v - mean_v);
        sxx += (i as f64 - mean_i).powi(2);
    }
    let step = sxy / sxx;
    let mut start = mean_v - step * mean_i;
    // A grid that starts at zero up to rounding starts at zero.
    if start.abs() <= 1e-9 * step {
        start = 0.0;
    }
    Ok(Axis {
        start,
        step,
        ..axis
    })
}

fn uniform_axis(name: &str, values: &[f64], source: &str) -> Result<Axis> {
    if values.len() < 2 {
        return Err(Error::data(
            source,
            format!("{name} takes a single value: a grid needs at least 2 points per axis"),
        ));
    }
    let step = (values[values.len() - 1] - values[0]) / (values.len() - 1) as f64;
    if !(step.is_finite() && step > 0.0) {
        return Err(Error::data(
            source,
            format!(
                "{name} spans {} to {}: no finite grid step",
                values[0],
                values[values.len() - 1]
            ),
        ));
    }
    for (i, w) in values.windows(2).enumerate() {
        if ((w[1] - w[0]) - step).abs() > NODE_TOLERANCE * step {
            return Err(Error::data(
                source,
                format!(
                    "{name} is not uniformly spaced: step {} between {} and {} (index {i}), mean step {step}",
                    w[1] - w[0],
                    w[0],
                    w[1]
                ),
            ));
        }
    }
    Ok(Axis {
        name: name.to_string(),
        n: values.len(),
        start: values[0],
        step,
    })
}

fn snap(axis: &Axis, v: f64, source: &str) -> Result<usize> {
    let i = ((v - axis.start) / axis.step).round();
    if !(0.0..axis.n as f64).contains(&i)
        || (axis.coord(i as usize) - v).abs() > NODE_TOLERANCE * axis.step
    {
        return Err(Error::data(
            source,
            format!("{} = {v} is off the grid", axis.name),
        ));
    }
    Ok(i as usize)
}

/// Checks that a 1D sample of coordinates is strictly increasing and uniform (for user grids).
pub fn check_uniform(coords: &[f64], name: &str, source: &str) -> Result<Axis> {
    if let Some(i) = coords.windows(2).position(|w| w[1] <= w[0]) {
        return Err(Error::data(
            source,
            format!(
                "{name} is not strictly increasing at index {} ({} then {})",
                i + 1,
                coords[i],
                coords[i + 1]
            ),
        ));
    }
    uniform_axis(name, coords, source)
}

/// Serialises named arrays by file kind: used by dataset folders and the front ends.
pub fn encode(array: &Array, file_name: &str, precision: Precision) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file_name.ends_with(".csv") {
        write_csv_grid(&mut bytes, array)?;
    } else {
        write_npy(&mut bytes, array, precision)
            .map_err(|e| Error::data(file_name, e.to_string()))?;
    }
    Ok(bytes)
}

/// Parses an array from a file's bytes, choosing the format by extension (.npy, .csv, .txt/.dat tables).
pub fn decode(bytes: &[u8], file_name: &str) -> Result<(Option<Grid>, Array)> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".npy") {
        return Ok((None, read_npy(bytes, file_name)?));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Error::data(file_name, "not UTF-8 text"))?;
    if lower.ends_with(".csv") {
        Ok((None, read_csv_grid(text, file_name)?))
    } else if lower.ends_with(".txt") || lower.ends_with(".dat") || lower.ends_with(".tsv") {
        let (grid, array) = read_table(text, file_name)?;
        Ok((Some(grid), array))
    } else {
        Err(Error::data(
            file_name,
            "unknown file type: expected .npy, .csv, or an x-y-value table (.txt/.dat/.tsv)",
        ))
    }
}

/// Reads a file of any supported kind.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_path(path: &std::path::Path) -> Result<(Option<Grid>, Array)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    decode(&bytes, &name)
}

/// Creates an output folder and its parents; failing is a write error, not bad input.
#[cfg(not(target_arch = "wasm32"))]
pub fn create_dir_all(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.display().to_string(),
        source,
    })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename,
/// so readers never see a half-written file and a failure leaves any old file intact.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
