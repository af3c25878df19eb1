//! Aggregates over seeds and runs.

use super::super::Cell;

/// Mean ± sample standard deviation of the finite values, and how many there were.
pub(super) fn stats(v: impl Iterator<Item = Option<f64>>) -> Option<(f64, f64, usize)> {
    let v: Vec<f64> = v.flatten().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let s = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    Some((m, s, v.len()))
}

pub(super) fn pm(v: Option<(f64, f64, usize)>, digits: usize) -> String {
    v.map_or("–".into(), |(m, s, _)| {
        format!("{m:.digits$} ± {s:.digits$}")
    })
}

/// The paper's mean (or variance) correlation: across runs, the estimate's region mean (or
/// standard deviation) against the truth's. Undefined where the truth's is the same in every
/// run (a sweep over observation noise only).
pub(super) fn across_runs(
    cells: &[&Cell],
    get: fn(&Cell) -> (Option<f64>, Option<f64>),
) -> Option<f64> {
    let (e, t): (Vec<f64>, Vec<f64>) = cells
        .iter()
        .filter_map(|c| match get(c) {
            (Some(e), Some(t)) if e.is_finite() && t.is_finite() => Some((e, t)),
            _ => None,
        })
        .unzip();
    if e.len() < 3 {
        return None;
    }
    mollify_core::train::metrics::correlation(&e, &t)
}

pub(super) fn unique<T: PartialEq + Clone>(v: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

pub(super) fn fmt1(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}
