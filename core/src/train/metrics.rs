//! Metrics of a recovered parameter field against the truth, computed identically for every
//! engine (the paper's Table 2: correlations of the field and of its Laplacian).

use crate::problems::pearson;

/// Crops a C-order [ny, nx] field to [m_y..ny−m_y, m_x..nx−m_x], flattened.
pub(crate) fn crop_values(v: &[f64], shape: [usize; 2], m: [usize; 2]) -> Vec<f64> {
    let [ny, nx] = shape;
    (m[0]..ny - m[0])
        .flat_map(|j| (m[1]..nx - m[1]).map(move |i| v[j * nx + i]))
        .collect()
}

/// How well a recovered parameter matches the truth (the paper's Table 2 metrics).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Pearson correlation over the grid (spatial in 2D, temporal in 1D).
    pub correlation: f64,
    /// Relative error of the mean level.
    pub mean_error: f64,
    /// ‖p − p*‖₂/‖p*‖₂.
    pub relative_l2: f64,
    /// Correlation of the five-point Laplacians (2D only).
    pub laplacian_correlation: Option<f64>,
}

impl Metrics {
    /// Compares `p` with `truth` on the evaluation region (inside `margin`).
    pub fn compare(p: &[f64], truth: &[f64], shape: [usize; 2], margin: [usize; 2]) -> Self {
        let (a, b) = (
            crop_values(p, shape, margin),
            crop_values(truth, shape, margin),
        );
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let diff: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        let laplacian_correlation = (shape[0] > 2).then(|| {
            let lap = |v: &[f64]| -> Vec<f64> {
                let [ny, nx] = shape;
                (margin[0].max(1)..ny - margin[0].max(1))
                    .flat_map(|j| (margin[1].max(1)..nx - margin[1].max(1)).map(move |i| (i, j)))
                    .map(|(i, j)| {
                        v[j * nx + i + 1]
                            + v[j * nx + i - 1]
                            + v[(j + 1) * nx + i]
                            + v[(j - 1) * nx + i]
                            - 4.0 * v[j * nx + i]
                    })
                    .collect()
            };
            pearson(&lap(p), &lap(truth))
        });
        Self {
            correlation: pearson(&a, &b),
            mean_error: (mean(&a) - mean(&b)).abs() / mean(&b).abs().max(1e-12),
            relative_l2: norm(&diff) / norm(&b).max(1e-12),
            laplacian_correlation,
        }
    }
}
