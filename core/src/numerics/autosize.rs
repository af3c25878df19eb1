//! Kernel size from the data, which the paper leaves to hand tuning (its stated future work).
//!
//! Morozov's discrepancy principle: estimate the noise level σ from the data, then take the
//! smallest kernel whose smoothing removes about that much, i.e. whose residual
//! RMS(y − y∗φ_K) reaches σ. A smaller kernel keeps noise that its derivatives amplify by
//! h⁻ᵏ; a larger one only adds bias. σ comes from the median absolute second difference,
//! which a smooth signal barely moves: for white noise Δ²y has standard deviation √6·σ.

use crate::data::dataset::{Dataset, Role};
use crate::error::{Error, Result};
use crate::numerics::kernel::KernelFamily;
use crate::numerics::stencil::stencil_1d;

/// Smallest size tried.
const MIN_SIZE: usize = 5;

/// The outcome of the selection, with the numbers that justify it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoSize {
    /// Chosen kernel size (odd, in grid points).
    pub size: usize,
    /// Estimated noise standard deviation.
    pub sigma: f64,
    /// RMS of y − y∗φ at the chosen size (interior points).
    pub residual: f64,
}

/// [`choose_size`] on a dataset's observed field (what `--kernel-size auto` and the browser's
/// "auto" use).
pub fn for_dataset(family: KernelFamily, ds: &Dataset) -> Result<AutoSize> {
    let values = ds
        .fields
        .values()
        .find(|f| f.role == Role::Observed)
        .map(|f| f.values.as_slice())
        .ok_or_else(|| Error::Invalid(format!("dataset '{}' has no observed field", ds.problem)))?;
    let shape = match ds.grid.shape()[..] {
        [n] => [1, n],
        [ny, nx] => [ny, nx],
        ref other => {
            return Err(Error::Invalid(format!(
                "kernel size auto: grids of {} dimensions are not supported",
                other.len()
            )));
        }
    };
    choose_size(family, values, shape)
}

/// Robust noise standard deviation of samples on a [ny, nx] grid (1D: [1, n]), from second
/// differences along x (and y in 2D).
pub fn noise_level(values: &[f64], shape: [usize; 2]) -> f64 {
    let [ny, nx] = shape;
    let mut d = Vec::with_capacity(values.len() * 2);
    for r in 0..ny {
        let row = &values[r * nx..(r + 1) * nx];
        d.extend(row.windows(3).map(|w| (w[0] - 2.0 * w[1] + w[2]).abs()));
    }
    if ny >= 3 {
        for c in 0..nx {
            for r in 1..ny - 1 {
                let v = |i: usize| values[i * nx + c];
                d.push((v(r - 1) - 2.0 * v(r) + v(r + 1)).abs());
            }
        }
    }
    if d.is_empty() {
        return 0.0;
    }
    d.sort_by(f64::total_cmp);
    let median = d[d.len() / 2];
    median / (0.674_489_75 * 6f64.sqrt())
}

/// Separable smoothing with `taps` on the interior (points at least the kernel's half-width
/// from every differenced edge); returns RMS of y − y∗φ there.
fn smoothing_residual(values: &[f64], shape: [usize; 2], taps: &[f64]) -> f64 {
    let [ny, nx] = shape;
    let m = taps.len() / 2;
    let conv_x = |r: usize, c: usize, src: &[f64]| -> f64 {
        taps.iter()
            .enumerate()
            .map(|(j, w)| w * src[r * nx + c + j - m])
            .sum()
    };
    let (y0, y1) = if ny > 1 { (m, ny - m) } else { (0, 1) };
    let mut sum = 0.0;
    let mut count = 0usize;
    // Smooth along x on the rows the y pass needs, then along y.
    let mut sx = vec![0.0; values.len()];
    for r in 0..ny {
        for c in m..nx - m {
            sx[r * nx + c] = conv_x(r, c, values);
        }
    }
    for r in y0..y1 {
        for c in m..nx - m {
            let s = if ny > 1 {
                taps.iter()
                    .enumerate()
                    .map(|(j, w)| w * sx[(r + j - m) * nx + c])
                    .sum()
            } else {
                sx[r * nx + c]
            };
            sum += (values[r * nx + c] - s).powi(2);
            count += 1;
        }
    }
    (sum / count.max(1) as f64).sqrt()
}

/// Chooses the kernel size for `family` by the discrepancy principle on a [ny, nx] grid
/// (1D: [1, n]). Fails when the grid is too small for the smallest kernel.
pub fn choose_size(family: KernelFamily, values: &[f64], shape: [usize; 2]) -> Result<AutoSize> {
    let [ny, nx] = shape;
    let shortest = if ny > 1 { nx.min(ny) } else { nx };
    // Leave at least a third of the shortest axis as interior to judge the residual on.
    let largest = (shortest * 2 / 3) | 1;
    if largest < MIN_SIZE {
        return Err(Error::Invalid(format!(
            "kernel size auto: {shortest} points along the shortest axis are too few (need ≥ {})",
            MIN_SIZE * 3 / 2 + 1
        )));
    }
    let sigma = noise_level(values, shape);
    let mut last = None;
    for size in (MIN_SIZE..=largest).step_by(2) {
        let residual = smoothing_residual(values, shape, &stencil_1d(family, size, 0)?);
        last = Some(AutoSize {
            size,
            sigma,
            residual,
        });
        if residual >= sigma {
            break;
        }
    }
    Ok(last.expect("at least one size tried"))
}
