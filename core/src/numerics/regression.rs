//! Nadaraya–Watson kernel regression (paper Sec. 5, App. C): super-resolution microscopy gives
//! point localisations, not fields; a Gaussian kernel of bandwidth h turns scattered points
//! (and optional values) into a density or field on a regular grid.
//!
//! Points are streamed in batches and each touches only the grid nodes within 4h (the
//! Gaussian's weight beyond is < 3.4e-4), so memory is the grid alone: 10⁶ points onto a 256²
//! grid need two 256² accumulators, never a points × nodes matrix.

use crate::data::grid::Grid;
use crate::error::{Error, Result};

/// Kernel support in bandwidths.
const CUTOFF: f64 = 4.0;

/// Kernel density of 2D points on `grid` (integrates to ≈ 1 over the plane), each point
/// counting its weight (1 without weights):
/// ρ(g) = Σᵢ wᵢ exp(−|g − pᵢ|²/2h²) / (2πh² Σᵢ wᵢ).
pub fn density(
    points: &[[f64; 2]],
    weights: Option<&[f64]>,
    grid: &Grid,
    bandwidth: f64,
    batch: usize,
) -> Result<Vec<f64>> {
    let total = match weights {
        Some(w) if w.len() != points.len() => {
            return Err(Error::Invalid(format!(
                "{} weights for {} points",
                w.len(),
                points.len()
            )));
        }
        Some(w) => w.iter().sum::<f64>(),
        None => points.len() as f64,
    };
    let (sum, _) = accumulate(points, weights, grid, bandwidth, batch)?;
    let norm = 1.0 / (total * std::f64::consts::TAU * bandwidth * bandwidth);
    Ok(sum.into_iter().map(|v| v * norm).collect())
}

/// Share of each node's Gaussian kernel mass inside the observation window [x0, x1] × [y0, y1]
/// (the field of view the points were recorded in). A density of points seen only there, divided
/// by it, does not fade towards the window's edges: the paper's Nadaraya–Watson estimate over an
/// image's pixels normalises the same way, by the kernel weight the image holds.
pub fn window_mass(grid: &Grid, bandwidth: f64, window: [f64; 4]) -> Result<Vec<f64>> {
    let [x0, x1, y0, y1] = window;
    if !(bandwidth.is_finite() && bandwidth > 0.0 && x1 >= x0 && y1 >= y0) {
        return Err(Error::Invalid(format!(
            "window mass needs a positive bandwidth and a window (got h = {bandwidth}, {window:?})"
        )));
    }
    let phi = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let inside = |c: f64, a: f64, b: f64| phi((b - c) / bandwidth) - phi((a - c) / bandwidth);
    Ok(grid.sample(|x, y| inside(x, x0, x1) * inside(y, y0, y1)))
}

/// Kernel-weighted mean of `values` at each grid node: Σ K·v / Σ K. Nodes with no point within
/// the kernel's support get `None` so callers decide (mask them, or widen the bandwidth).
pub fn regress(
    points: &[[f64; 2]],
    values: &[f64],
    grid: &Grid,
    bandwidth: f64,
    batch: usize,
) -> Result<Vec<Option<f64>>> {
    if values.len() != points.len() {
        return Err(Error::Invalid(format!(
            "{} values for {} points",
            values.len(),
            points.len()
        )));
    }
    let (num, den) = accumulate(points, Some(values), grid, bandwidth, batch)?;
    Ok(num
        .into_iter()
        .zip(den)
        .map(|(a, b)| (b > 1e-12).then(|| a / b))
        .collect())
}

fn accumulate(
    points: &[[f64; 2]],
    values: Option<&[f64]>,
    grid: &Grid,
    h: f64,
    batch: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    grid.validate()?;
    let y = grid
        .y()
        .ok_or_else(|| Error::Invalid("kernel regression needs a 2D grid".into()))?;
    let x = grid.x();
    if !(h.is_finite() && h > 0.0) || batch == 0 || points.is_empty() {
        return Err(Error::Invalid(format!(
            "kernel regression needs points, a positive bandwidth and batch size (got {} points, h = {h}, batch {batch})",
            points.len()
        )));
    }
    if let Some(p) = points
        .iter()
        .find(|p| !(p[0].is_finite() && p[1].is_finite()))
    {
        return Err(Error::Invalid(format!("localisation {p:?} is not finite")));
    }
    let mut num = vec![0.0; grid.len()];
    let mut den = vec![0.0; grid.len()];
    let reach = |axis: &crate::data::grid::Axis, c: f64| -> (usize, usize) {
        let lo = ((c - CUTOFF * h - axis.start) / axis.step).ceil().max(0.0) as usize;
        let hi = (((c + CUTOFF * h - axis.start) / axis.step).floor() + 1.0)
            .clamp(0.0, axis.n as f64) as usize;
        (lo.min(axis.n), hi)
    };
    let inv = 1.0 / (2.0 * h * h);
    for (b, chunk) in points.chunks(batch).enumerate() {
        for (k, p) in chunk.iter().enumerate() {
            let v = values.map_or(1.0, |vals| vals[b * batch + k]);
            let (x0, x1) = reach(x, p[0]);
            let (y0, y1) = reach(y, p[1]);
            for j in y0..y1 {
                let dy = y.coord(j) - p[1];
                for i in x0..x1 {
                    let dx = x.coord(i) - p[0];
                    let w = (-(dx * dx + dy * dy) * inv).exp();
                    num[j * x.n + i] += w * v;
                    den[j * x.n + i] += w;
                }
            }
        }
    }
    Ok((num, den))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::grid::Axis;
    use crate::problems::pearson;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Uniform points on the unit square: the raw density drops to ¼ in the corners (a quarter
    /// of the kernel sees points), divided by the window mass it is flat to sampling noise.
    #[test]
    fn window_mass_removes_the_fade_at_the_field_of_views_edges() {
        let mut rng = StdRng::seed_from_u64(3);
        let points: Vec<[f64; 2]> = (0..400_000)
            .map(|_| [rng.random::<f64>(), rng.random::<f64>()])
            .collect();
        let grid = Grid::d2(Axis::span("y", 33, 0.0, 1.0), Axis::span("x", 33, 0.0, 1.0));
        let h = 0.05;
        let raw = density(&points, None, &grid, h, 8192).unwrap();
        let mass = window_mass(&grid, h, [0.0, 1.0, 0.0, 1.0]).unwrap();
        assert!((mass[0] - 0.25).abs() < 1e-12 && (mass[16 * 33 + 16] - 1.0).abs() < 1e-9);
        let corrected: Vec<f64> = raw.iter().zip(&mass).map(|(d, m)| d / m).collect();
        let worst = |v: &[f64]| v.iter().fold(0.0f64, |w, d| w.max((d - 1.0).abs()));
        println!(
            "uniform density 1: raw worst error {:.3}, window-corrected {:.3}",
            worst(&raw),
            worst(&corrected)
        );
        assert!(worst(&raw) > 0.7 && worst(&corrected) < 0.08);
    }

    #[test]
    fn density_of_sampled_localisations_correlates_with_the_source() {
        let source = |x: f64, y: f64| {
            1.0 + 0.8 * (std::f64::consts::TAU * x).sin() * (std::f64::consts::TAU * y).cos()
        };
        let mut rng = StdRng::seed_from_u64(11);
        let mut points = Vec::new();
        while points.len() < 200_000 {
            let (x, y, u) = (
                rng.random::<f64>(),
                rng.random::<f64>(),
                rng.random::<f64>() * 1.8,
            );
            if u < source(x, y) {
                points.push([x, y]);
            }
        }
        let grid = Grid::d2(
            Axis::span("y", 64, 0.05, 0.95),
            Axis::span("x", 64, 0.05, 0.95),
        );
        let rho = density(&points, None, &grid, 0.02, 4096).unwrap();
        let corr = pearson(&rho, &grid.sample(source));
        println!("Nadaraya–Watson density vs source field: correlation {corr:.4}");
        assert!(corr > 0.95, "{corr}");
        // Values: regressing the source's own values at the points recovers it.
        let values: Vec<f64> = points.iter().map(|p| source(p[0], p[1])).collect();
        let fit: Vec<f64> = regress(&points, &values, &grid, 0.02, 4096)
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect();
        let corr_v = pearson(&fit, &grid.sample(source));
        assert!(corr_v > 0.99, "{corr_v}");
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let grid = Grid::d2(Axis::span("y", 8, 0.0, 1.0), Axis::span("x", 8, 0.0, 1.0));
        assert!(density(&[], None, &grid, 0.1, 10).is_err());
        assert!(
            density(&[[0.5, f64::NAN]], None, &grid, 0.1, 10)
                .unwrap_err()
                .to_string()
                .contains("not finite")
        );
        assert!(density(&[[0.5, 0.5]], None, &grid, 0.0, 10).is_err());
        let far = regress(&[[5.0, 5.0]], &[1.0], &grid, 0.05, 10).unwrap();
        assert!(far.iter().all(Option::is_none));
    }
}
