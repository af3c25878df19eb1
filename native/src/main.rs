//! `mollify`: until the full CLI lands, a demonstration of mollified derivatives of noisy data
//! against central finite differences, on the GPU when wgpu comes up and on the CPU otherwise.

use burn::tensor::{Tensor, TensorData};
use futures_lite::future::block_on;
use mollify_core::backend::{self, BackendChoice};
use mollify_core::{KernelFamily, Mollifier, MollifierConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let selected = block_on(backend::select(BackendChoice::Auto))?;
    match &selected.fallback_reason {
        Some(reason) => println!("backend: cpu (GPU unavailable: {reason})"),
        None => println!("backend: {}", selected.name),
    }
    let device = &selected.device;
    let n = 1000;
    let h = 1.0 / (n - 1) as f64;
    let tau = std::f64::consts::TAU;
    // sin 2πx with deterministic pseudo-random noise of standard deviation ≈ 0.01.
    let noise = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract() * 0.0346;
    let g: Vec<f64> = (0..n)
        .map(|i| (tau * i as f64 * h).sin() + noise(i))
        .collect();
    let exact = |x: f64, k: usize| {
        tau.powi(k as i32) * (tau * x + k as f64 * std::f64::consts::FRAC_PI_2).sin()
    };
    println!("noisy sin 2πx on {n} points: RMS error of the k-th derivative");
    println!(
        "{:>6} {:>14} {:>14} {:>14} {:>14}",
        "order", "central FD", "bump K=11", "bump K=31", "bump K=61"
    );
    for k in 1..=2 {
        let mut row = vec![fd_rms(&g, h, k, &exact)];
        for size in [11, 31, 61] {
            let config = MollifierConfig {
                family: KernelFamily::Bump,
                size,
                ..MollifierConfig::default()
            };
            let op = Mollifier::new_1d(config, h, device)?;
            let m = op.margin_1d(&[k])?;
            let input = Tensor::<1>::from_data(TensorData::new(g.clone(), [n]), device);
            let out = op.derivatives_1d(input, &[k])?.remove(0);
            let values = out
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .map_err(|e| format!("{e:?}"))?;
            let err = values
                .iter()
                .enumerate()
                .map(|(i, v)| (v - exact((i + m) as f64 * h, k)).powi(2))
                .sum::<f64>();
            row.push((err / values.len() as f64).sqrt());
        }
        println!(
            "{k:>6} {:>14.4e} {:>14.4e} {:>14.4e} {:>14.4e}",
            row[0], row[1], row[2], row[3]
        );
    }
    Ok(())
}

fn fd_rms(g: &[f64], h: f64, k: usize, exact: &dyn Fn(f64, usize) -> f64) -> f64 {
    let n = g.len();
    let d = |i: usize| match k {
        1 => (g[i + 1] - g[i - 1]) / (2.0 * h),
        _ => (g[i + 1] - 2.0 * g[i] + g[i - 1]) / (h * h),
    };
    let err: f64 = (1..n - 1)
        .map(|i| (d(i) - exact(i as f64 * h, k)).powi(2))
        .sum();
    (err / (n - 2) as f64).sqrt()
}
