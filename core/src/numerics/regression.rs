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

/// Kernel density of 2D points on `grid` (integrates to ≈ 1 over the plane):
/// ρ(g) = (1/N) Σᵢ exp(−|g − pᵢ|²/2h²)/(2πh²).
pub fn density(points: &[[f64; 2]], grid: &Grid, bandwidth: f64, batch: usize) -> Result<Vec<f64>> {
    let (sum, _) = accumulate(points, None, grid, bandwidth, batch)?;
    let norm = 1.0 / (points.len() as f64 * std::f64::consts::TAU * bandwidth * bandwidth);
    Ok(sum.into_iter().map(|v| v * norm).collect())
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
        let rho = density(&points, &grid, 0.02, 4096).unwrap();
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
        assert!(density(&[], &grid, 0.1, 10).is_err());
        assert!(
            density(&[[0.5, f64::NAN]], &grid, 0.1, 10)
                .unwrap_err()
                .to_string()
                .contains("not finite")
        );
        assert!(density(&[[0.5, 0.5]], &grid, 0.0, 10).is_err());
        let far = regress(&[[5.0, 5.0]], &[1.0], &grid, 0.05, 10).unwrap();
        assert!(far.iter().all(Option::is_none));
    }
}
