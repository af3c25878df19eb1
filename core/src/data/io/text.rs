//! Text formats: CSV grids, and x–y–value tables with comment lines (COMSOL exports) that
//! are snapped onto a uniform grid.

use std::io::Write;

use super::Array;
use crate::data::grid::{Axis, Grid};
use crate::error::{Error, Result};

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

/// A CSV whose first data line names its columns instead of holding numbers: the column
/// names, and the text with that line blanked (line numbers in later errors stay right).
pub(super) fn split_header(text: &str) -> Option<(Vec<String>, String)> {
    let (lineno, line) = data_lines(text).next()?;
    let names: Vec<String> = line
        .split([',', ';', '\t'])
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect();
    if names
        .iter()
        .any(|n| n.is_empty() || n.parse::<f64>().is_ok())
    {
        return None;
    }
    let rest = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == lineno { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    Some((names, rest))
}

/// Whether header `names` describe an x–value or x–y–value table: every column but the last
/// names a coordinate.
pub(super) fn names_coordinates(names: &[String]) -> bool {
    let coordinate = |n: &String| {
        matches!(
            n.to_ascii_lowercase().as_str(),
            "x" | "y" | "t" | "time" | "s" | "position"
        )
    };
    (2..=3).contains(&names.len()) && names[..names.len() - 1].iter().all(coordinate)
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
