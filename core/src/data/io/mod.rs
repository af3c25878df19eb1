//! Reading and writing fields: NPY (what numpy users load and hand over), CSV grids, and
//! x–y–value tables with comment lines (COMSOL text exports) that are regridded.
//!
//! Parsers work on bytes or text so the browser can use them on files the user drops in;
//! path-based helpers with atomic writes (temp file + rename) exist natively. Every error names
//! its source and the problem.

mod npy;
mod text;

use crate::data::grid::Grid;
use crate::error::{Error, Result};

pub use npy::{Precision, parse_npy, read_npy, write_npy};
pub(crate) use text::NODE_TOLERANCE;
pub use text::{check_uniform, read_csv_grid, read_table, write_csv_grid};

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

/// Parses an array from a file's bytes, choosing the format by extension (.npy, .csv, .txt/.dat
/// tables); a CSV may start with a header row (`x,value` or `t,v` make it a table).
pub fn decode(bytes: &[u8], file_name: &str) -> Result<(Option<Grid>, Array)> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".npy") {
        return Ok((None, read_npy(bytes, file_name)?));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Error::data(file_name, "not UTF-8 text"))?;
    if lower.ends_with(".csv") {
        // A header row names the columns: coordinates then a value make a table, whose
        // coordinates give the grid; other names head a plain grid.
        match text::split_header(text) {
            Some((names, rest)) if text::names_coordinates(&names) => {
                let (grid, array) = read_table(&rest, file_name)?;
                Ok((Some(grid), array))
            }
            Some((_, rest)) => Ok((None, read_csv_grid(&rest, file_name)?)),
            None => Ok((None, read_csv_grid(text, file_name)?)),
        }
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

/// Point localisations (microscopy).
#[derive(Debug, Clone, PartialEq)]
pub struct Localisations {
    /// (x, y) of each localisation.
    pub points: Vec<[f64; 2]>,
    /// A non-negative weight per point (photon count, say), where the file has a third column.
    pub weights: Option<Vec<f64>>,
}

/// Localisations from rows of x, y and optionally a weight: an NPY array of shape [N, 2] or
/// [N, 3], or a CSV/whitespace table with an optional header row.
pub fn decode_points(bytes: &[u8], file_name: &str) -> Result<Localisations> {
    let array = if file_name.to_ascii_lowercase().ends_with(".npy") {
        read_npy(bytes, file_name)?
    } else {
        let text =
            std::str::from_utf8(bytes).map_err(|_| Error::data(file_name, "not UTF-8 text"))?;
        match text::split_header(text) {
            Some((_, rest)) => read_csv_grid(&rest, file_name)?,
            None => read_csv_grid(text, file_name)?,
        }
    };
    array.check_finite(file_name)?;
    let cols = match array.shape.as_slice() {
        [_, c @ (2 | 3)] => *c,
        shape => {
            return Err(Error::data(
                file_name,
                format!(
                    "localisations are rows of x, y[, weight]: expected 2 or 3 columns, got shape {shape:?}"
                ),
            ));
        }
    };
    let rows = array.data.chunks(cols);
    let points = rows.clone().map(|r| [r[0], r[1]]).collect();
    let weights = (cols == 3).then(|| rows.map(|r| r[2]).collect::<Vec<f64>>());
    if let Some(w) = &weights
        && let Some(bad) = w.iter().find(|w| **w < 0.0)
    {
        return Err(Error::data(file_name, format!("weight {bad} is negative")));
    }
    Ok(Localisations { points, weights })
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
    use std::io::Write as _;
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
