//! Metrics of a run against the truth, as the paper defines them (Table 2, App. B.4) beside
//! relative L2: the correlation of the recovered parameter with the truth, the correlation of
//! the solution derivative the residual hinges on (the paper's "Laplacian correlation": the
//! engine's ∇²u against the true ∇²u, its "essential intermediate"), and the same for the
//! separable estimate of the parameter. Each run also records the mean and spread of every
//! estimate and its truth, which a sweep correlates across runs (the paper's mean and variance
//! correlations, App. B.4.1). Every engine is scored on the same points.

use serde::{Deserialize, Serialize};

use crate::data::dataset::Dataset;
use crate::data::grid::Grid;
use crate::numerics::mollifier::Deriv2;
use crate::problems::Problem;

/// Crops a C-order [ny, nx] field to [m_y..ny−m_y, m_x..nx−m_x], flattened.
pub(crate) fn crop_values(v: &[f64], shape: [usize; 2], m: [usize; 2]) -> Vec<f64> {
    let [ny, nx] = shape;
    (m[0]..ny - m[0])
        .flat_map(|j| (m[1]..nx - m[1]).map(move |i| v[j * nx + i]))
        .collect()
}

/// Puts values defined on the grid less `m` back on the whole grid, NaN outside.
pub(crate) fn embed(v: &[f64], shape: [usize; 2], m: [usize; 2]) -> Vec<f64> {
    let [ny, nx] = shape;
    let inner = nx - 2 * m[1];
    let mut out = vec![f64::NAN; ny * nx];
    for (k, x) in v.iter().enumerate() {
        out[(k / inner + m[0]) * nx + k % inner + m[1]] = *x;
    }
    out
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Population standard deviation.
pub(crate) fn std(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// Pearson correlation of an estimate with its truth; `None` (undefined, not 0) where the
/// truth is constant, so a constant case cannot score a spurious 0. A constant estimate of a
/// varying truth carries no information about it and scores 0.
pub fn correlation(estimate: &[f64], truth: &[f64]) -> Option<f64> {
    let spread = std(truth);
    (spread > 1e-12 * mean(truth).abs().max(1e-300))
        .then(|| crate::problems::pearson(estimate, truth))
}

/// One estimated field scored against its truth on one region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Pearson correlation (spatial in 2D, temporal in 1D); `None` for a constant truth.
    pub correlation: Option<f64>,
    /// ‖e − t‖₂ / ‖t‖₂.
    pub relative_l2: f64,
    /// |mean(e) − mean(t)| / |mean(t)|: the accuracy that remains for a constant truth.
    pub mean_error: f64,
    /// Mean of the estimate (the paper's per-run "predicted mean").
    pub mean: f64,
    /// Mean of the truth.
    pub truth_mean: f64,
    /// Standard deviation of the estimate (the paper's per-run "predicted noise").
    pub std: f64,
    /// Standard deviation of the truth.
    pub truth_std: f64,
    /// Points scored (where estimate and truth are finite).
    pub points: usize,
}

impl Score {
    /// Scores `estimate` against `truth` (equally long, same points) where both are finite: a
    /// separable estimate divides by a derivative that can vanish, and the points where it
    /// does are left out (`points` says how many remain) rather than turning every score into NaN.
    pub fn new(estimate: &[f64], truth: &[f64]) -> Self {
        let (estimate, truth): (Vec<f64>, Vec<f64>) = estimate
            .iter()
            .zip(truth)
            .filter(|(e, t)| e.is_finite() && t.is_finite())
            .map(|(e, t)| (*e, *t))
            .unzip();
        let (estimate, truth) = (estimate.as_slice(), truth.as_slice());
        let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
        let (m, tm) = (mean(estimate), mean(truth));
        Self {
            correlation: correlation(estimate, truth),
            relative_l2: norm(&mut estimate.iter().zip(truth).map(|(e, t)| e - t))
                / norm(&mut truth.iter().copied()).max(1e-300),
            mean_error: (m - tm).abs() / tm.abs().max(1e-12),
            mean: m,
            truth_mean: tm,
            std: std(estimate),
            truth_std: std(truth),
            points: estimate.len(),
        }
    }
}

/// Every estimate of a run scored on one region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Margin [y, x] left out at either end of each axis.
    pub margin: [usize; 2],
    /// The network's parameter head.
    pub parameter: Score,
    /// The separable estimate from the engine's derivatives of u (where the problem has one).
    pub separable: Option<Score>,
    /// The solution derivative the residual hinges on, against the truth's.
    pub intermediate: Option<Score>,
}

/// The estimates of a run on the whole grid (C order; NaN where an estimate is undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct Estimates {
    /// The fitted solution u (the mollified field for the mollifier engine).
    pub solution: Vec<f64>,
    /// The network's parameter head.
    pub parameter: Vec<f64>,
    /// The separable estimate p̂ solving r(p̂) = 0 pointwise from the engine's derivatives of u.
    pub separable: Option<Vec<f64>>,
    /// The engine's value of the problem's intermediate derivative of u.
    pub intermediate: Option<Vec<f64>>,
}

/// The truths the estimates are scored against (C order; NaN where undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct Truths<'a> {
    /// The parameter.
    pub parameter: &'a [f64],
    /// The intermediate derivative of the clean solution.
    pub intermediate: Option<&'a [f64]>,
}

/// A run's metrics on the whole domain and on the interior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Name of the intermediate derivative ("∇²T", "v′"), where the problem has one.
    pub intermediate: Option<String>,
    /// The grid less the kernel's half-width (see [`super::Trainer::metric_regions`]).
    pub whole: Scores,
    /// The interior, the headline: also away from a Dirichlet boundary in 2D.
    pub interior: Scores,
}

impl Metrics {
    /// Scores `estimates` against `truths` on the two regions.
    pub fn new(
        estimates: &Estimates,
        truths: &Truths<'_>,
        intermediate: Option<&str>,
        shape: [usize; 2],
        regions: [[usize; 2]; 2],
    ) -> Self {
        let scores = |margin: [usize; 2]| {
            let score = |e: &[f64], t: &[f64]| {
                Score::new(
                    &crop_values(e, shape, margin),
                    &crop_values(t, shape, margin),
                )
            };
            Scores {
                margin,
                parameter: score(&estimates.parameter, truths.parameter),
                separable: estimates
                    .separable
                    .as_deref()
                    .map(|s| score(s, truths.parameter)),
                intermediate: estimates
                    .intermediate
                    .as_deref()
                    .zip(truths.intermediate)
                    .map(|(e, t)| score(e, t)),
            }
        };
        Self {
            intermediate: intermediate.map(String::from),
            whole: scores(regions[0]),
            interior: scores(regions[1]),
        }
    }

    /// The headline: the parameter's correlation on the interior.
    pub fn correlation(&self) -> Option<f64> {
        self.interior.parameter.correlation
    }

    /// The intermediate derivative's correlation on the interior.
    pub fn intermediate_correlation(&self) -> Option<f64> {
        self.interior.intermediate.and_then(|s| s.correlation)
    }

    /// The separable estimate's correlation on the interior.
    pub fn separable_correlation(&self) -> Option<f64> {
        self.interior.separable.and_then(|s| s.correlation)
    }
}

/// The ground truth of `problem`'s parameter in `ds`, where the dataset has it.
pub fn parameter_truth<'a>(problem: &dyn Problem, ds: &'a Dataset) -> Option<&'a [f64]> {
    let f = ds.fields.get(problem.parameter()?.truth)?;
    Some(&f.values)
}

/// The problem's intermediate derivative of the clean solution in `ds` (C order, NaN on the
/// edge), where the dataset has the clean solution.
pub fn intermediate_truth(problem: &dyn Problem, ds: &Dataset) -> Option<Vec<f64>> {
    let i = problem.intermediate()?;
    reference_derivative(&ds.fields.get(i.clean)?.values, &ds.grid, i.key)
}

/// Derivative `d` of a clean field by second-order central differences on the grid's
/// interior (NaN on the edge): the reference an engine's derivative of u is scored against.
/// `None` for a derivative it does not provide.
pub fn reference_derivative(values: &[f64], grid: &Grid, d: Deriv2) -> Option<Vec<f64>> {
    let nx = grid.x().n;
    let ny = grid.y().map_or(1, |a| a.n);
    let hx = grid.x().step;
    let hy = grid.y().map_or(1.0, |a| a.step);
    let at = |i: usize, j: usize| values[j * nx + i];
    let inside = |i: usize, j: usize, y: bool| i > 0 && i + 1 < nx && (!y || (j > 0 && j + 1 < ny));
    let d1x = |i, j| (at(i + 1, j) - at(i - 1, j)) / (2.0 * hx);
    let d1y = |i, j| (at(i, j + 1) - at(i, j - 1)) / (2.0 * hy);
    let d2x = |i, j| (at(i + 1, j) - 2.0 * at(i, j) + at(i - 1, j)) / (hx * hx);
    let d2y = |i, j| (at(i, j + 1) - 2.0 * at(i, j) + at(i, j - 1)) / (hy * hy);
    let is_2d = ny > 1;
    let f: Box<dyn Fn(usize, usize) -> f64> = match d {
        Deriv2::U => Box::new(at),
        Deriv2::X => Box::new(d1x),
        Deriv2::Y if is_2d => Box::new(d1y),
        Deriv2::Xx => Box::new(d2x),
        Deriv2::Yy if is_2d => Box::new(d2y),
        Deriv2::Laplacian if is_2d => Box::new(move |i, j| d2x(i, j) + d2y(i, j)),
        _ => return None,
    };
    Some(
        (0..ny * nx)
            .map(|p| {
                let (i, j) = (p % nx, p / nx);
                if d == Deriv2::U || inside(i, j, is_2d) {
                    f(i, j)
                } else {
                    f64::NAN
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::grid::Axis;

    #[test]
    fn correlation_is_undefined_for_a_constant_truth() {
        assert_eq!(correlation(&[1.0, 2.0, 3.0], &[2.0; 3]), None);
        assert_eq!(correlation(&[1.0; 3], &[1.0, 2.0, 3.0]), Some(0.0));
        let c = correlation(&[1.0, 2.0, 3.5], &[1.0, 2.0, 3.0]).unwrap();
        assert!((c - 0.9933992677987828).abs() < 1e-12, "{c}");
        let s = Score::new(&[1.1; 4], &[1.0; 4]);
        assert!((s.mean_error - 0.1).abs() < 1e-12 && s.correlation.is_none());
        // A vanishing divisor's infinity is left out, not spread to every score.
        let s = Score::new(&[1.0, f64::INFINITY, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.5]);
        assert_eq!(s.points, 3);
        assert!(s.correlation.unwrap() > 0.99 && s.relative_l2.is_finite());
    }

    #[test]
    fn embed_inverts_crop() {
        let v: Vec<f64> = (0..20).map(f64::from).collect();
        let c = crop_values(&v, [4, 5], [1, 2]);
        assert_eq!(c, vec![7.0, 12.0]);
        let e = embed(&c, [4, 5], [1, 2]);
        assert_eq!(crop_values(&e, [4, 5], [1, 2]), c);
        assert_eq!(e.iter().filter(|x| x.is_nan()).count(), 18);
    }

    #[test]
    fn reference_derivatives_are_second_order() {
        // sin(x)·cos(2y): ∇² = −5·sin(x)·cos(2y); errors fall 4× per halving of h.
        let err = |n: usize| {
            let grid = Grid::d2(Axis::span("y", n, 0.0, 1.0), Axis::span("x", n, 0.0, 1.0));
            let u = grid.sample(|x, y| x.sin() * (2.0 * y).cos());
            let exact = grid.sample(|x, y| -5.0 * x.sin() * (2.0 * y).cos());
            let lap = reference_derivative(&u, &grid, Deriv2::Laplacian).unwrap();
            assert!(lap[0].is_nan() && lap[n + 1].is_finite());
            lap.iter()
                .zip(&exact)
                .filter(|(a, _)| a.is_finite())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        let order = (err(17) / err(33)).log2();
        assert!((1.9..2.1).contains(&order), "{order}");
        let grid = Grid::d1(Axis::span("t", 101, 0.0, 1.0));
        let v = grid.sample(|t, _| t * t * t);
        let d = reference_derivative(&v, &grid, Deriv2::X).unwrap();
        assert!((d[50] - 0.75 - 1e-4).abs() < 1e-12, "{}", d[50]);
        assert!(reference_derivative(&v, &grid, Deriv2::Laplacian).is_none());
    }
}
