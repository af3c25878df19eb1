//! NPY: the format numpy users load and hand over (f32/f64, C or Fortran order).

use std::io::Write;

use npyz::WriterBuilder;

use super::Array;
use crate::error::{Error, Result};

/// Storage precision for written NPY files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 4-byte floats (`<f4`).
    F32,
    /// 8-byte floats (`<f8`).
    F64,
}

/// Parses an NPY file of f32 or f64 values in C or Fortran order (returned in C order), every
/// value finite: the check for data.
pub fn read_npy(bytes: &[u8], source: &str) -> Result<Array> {
    let array = parse_npy(bytes, source)?;
    array.check_finite(source)?;
    Ok(array)
}

/// [`read_npy`] without the finiteness check, for mollify's own outputs, which mark points
/// where an estimate is undefined (an engine's margin) with NaN.
pub fn parse_npy(bytes: &[u8], source: &str) -> Result<Array> {
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
    Array::new(shape, data)
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
