//! # mollify-kernels
//!
//! The CPU training step's element-wise kernels, on plain f32 slices: tanh, and a network
//! layer's LayerNorm followed by tanh with its backward pass. mollify-core wraps them as burn
//! ops on the `flex` backend.
//!
//! They live in their own crate so that the workspace profile can build them at opt-level 3
//! (LLVM vectorises loops only from 2) while mollify-core, large and rebuilt on every edit,
//! stays at 1. Composed from burn's tensor ops, one LayerNorm + tanh is about ten passes over
//! the activations forward and twenty backward, each allocating its output; fused, each row is
//! read and written once each way, its reductions done while it is in cache.

use wide::f32x8;

/// tanh of every element.
pub fn tanh(src: &[f32]) -> Vec<f32> {
    let mut out = src.to_vec();
    tanh_in_place(&mut out);
    out
}

/// tanh of every element in place, eight lanes at a time (the tail padded).
fn tanh_in_place(v: &mut [f32]) {
    let mut chunks = v.chunks_exact_mut(8);
    for c in &mut chunks {
        let y = tanh8(load(c));
        c.copy_from_slice(&y.to_array());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut lanes = [0.0; 8];
        lanes[..rest.len()].copy_from_slice(rest);
        let n = rest.len();
        rest.copy_from_slice(&tanh8(f32x8::new(lanes)).to_array()[..n]);
    }
}

fn load(c: &[f32]) -> f32x8 {
    f32x8::new(c.try_into().expect("chunks of 8"))
}

/// tanh as the rational minimax approximation p₁₃(x)/q₆(x) that Eigen and XLA's CPU backend
/// evaluate for f32 (JAX's tanh on the CPU is this one): a few ULP from libm, no exp, no branch.
/// `wide`'s own tanh goes through exp_m1 and measured 4× slower here than this.
#[inline]
fn tanh8(x: f32x8) -> f32x8 {
    // The fit holds on [−7.905, 7.905], where p/q reaches ±1 within f32 rounding; beyond it
    // tanh differs from ±1 by < 3·10⁻⁷ (within the test's 4 ε), so clamping costs nothing.
    const CLAMP: f32 = 7.905_311;
    const P: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const Q: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let nan = x.is_nan();
    let x = x
        .fast_max(f32x8::splat(-CLAMP))
        .fast_min(f32x8::splat(CLAMP));
    let x2 = x * x;
    let p = P[1..]
        .iter()
        .fold(f32x8::splat(P[0]), |acc, &c| acc * x2 + f32x8::splat(c));
    let q = Q[1..]
        .iter()
        .fold(f32x8::splat(Q[0]), |acc, &c| acc * x2 + f32x8::splat(c));
    // The clamp would turn NaN into a number; a diverging run must stay visible.
    nan.select(f32x8::splat(f32::NAN), p * x / q)
}

/// What [`norm_tanh`] keeps for the backward pass besides its output.
#[derive(Debug, Clone)]
pub struct NormTanh {
    /// y = tanh(γ·x̂ + β), [rows, n] row-major.
    pub y: Vec<f32>,
    /// The normalised input x̂ = (x − mean)/√(var + ε), [rows, n].
    pub xhat: Vec<f32>,
    /// 1/√(var + ε) of each row.
    pub rstd: Vec<f32>,
}

/// y = tanh(γ·x̂ + β) of each row of `x` ([rows, n], row-major), x̂ its LayerNorm: mean and
/// biased variance over the row, as burn's `LayerNorm`.
pub fn norm_tanh(x: &[f32], n: usize, gamma: &[f32], beta: &[f32], eps: f32) -> NormTanh {
    assert!(
        n > 0 && x.len().is_multiple_of(n) && gamma.len() == n && beta.len() == n,
        "norm_tanh: {} values in rows of {n}, γ {} and β {}",
        x.len(),
        gamma.len(),
        beta.len()
    );
    let rows = x.len() / n;
    let mut y = vec![0.0; x.len()];
    let mut xhat = vec![0.0; x.len()];
    let mut rstd = vec![0.0; rows];
    for (((xr, yr), hr), s) in x
        .chunks_exact(n)
        .zip(y.chunks_exact_mut(n))
        .zip(xhat.chunks_exact_mut(n))
        .zip(&mut rstd)
    {
        // Two passes (mean, then squared deviations): as stable as burn's composed LayerNorm.
        let mean = sum(xr) / n as f32;
        let var = squared_deviations(xr, mean) / n as f32;
        *s = 1.0 / (var + eps).sqrt();
        for ((h, z), (&v, (&g, &b))) in hr
            .iter_mut()
            .zip(yr.iter_mut())
            .zip(xr.iter().zip(gamma.iter().zip(beta)))
        {
            *h = (v - mean) * *s;
            *z = g * *h + b;
        }
        tanh_in_place(yr);
    }
    NormTanh { y, xhat, rstd }
}

/// Gradients of [`norm_tanh`] from the output's gradient `dy`, given its output `y`, `xhat` and
/// `rstd`: (dx, dγ, dβ).
pub fn norm_tanh_backward(
    dy: &[f32],
    y: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    gamma: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = gamma.len();
    assert!(
        dy.len() == y.len() && dy.len() == xhat.len() && dy.len() == rstd.len() * n,
        "norm_tanh_backward: shapes differ"
    );
    let mut dx = vec![0.0; dy.len()];
    let mut dgamma = vec![0.0; n];
    let mut dbeta = vec![0.0; n];
    let mut dz = vec![0.0; n];
    for ((((dyr, yr), hr), dxr), &s) in dy
        .chunks_exact(n)
        .zip(y.chunks_exact(n))
        .zip(xhat.chunks_exact(n))
        .zip(dx.chunks_exact_mut(n))
        .zip(rstd)
    {
        // dz = dy·(1 − y²); dx̂ = γ·dz; dx = (dx̂ − mean dx̂ − x̂·mean(dx̂·x̂))/σ. `dz` holds dx̂.
        for (((dh, (dg, db)), &gm), ((&g, &yv), &h)) in dz
            .iter_mut()
            .zip(dgamma.iter_mut().zip(dbeta.iter_mut()))
            .zip(gamma)
            .zip(dyr.iter().zip(yr).zip(hr))
        {
            let d = g * (1.0 - yv * yv);
            *dg += d * h;
            *db += d;
            *dh = d * gm;
        }
        let (m1, m2) = (sum(&dz) / n as f32, dot(&dz, hr) / n as f32);
        for ((o, &dh), &h) in dxr.iter_mut().zip(&dz).zip(hr) {
            *o = s * (dh - m1 - h * m2);
        }
    }
    (dx, dgamma, dbeta)
}

/// Sum in eight lanes (a scalar left fold would serialise on the adds).
fn sum(v: &[f32]) -> f32 {
    let mut chunks = v.chunks_exact(8);
    let acc = (&mut chunks).fold(f32x8::ZERO, |a, c| a + load(c));
    acc.reduce_add() + chunks.remainder().iter().sum::<f32>()
}

/// Σ (v − mean)² in eight lanes.
fn squared_deviations(v: &[f32], mean: f32) -> f32 {
    let m = f32x8::splat(mean);
    let mut chunks = v.chunks_exact(8);
    let acc = (&mut chunks).fold(f32x8::ZERO, |a, c| {
        let d = load(c) - m;
        a + d * d
    });
    let rest = chunks.remainder().iter().map(|&x| (x - mean) * (x - mean));
    acc.reduce_add() + rest.sum::<f32>()
}

/// Σ aᵢ·bᵢ in eight lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let acc = (&mut ca)
        .zip(&mut cb)
        .fold(f32x8::ZERO, |s, (x, y)| s + load(x) * load(y));
    let rest = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y);
    acc.reduce_add() + rest.sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_match_libm_to_a_few_ulp() {
        // Every regime of the kernel: tiny (tanh x ≈ x), moderate, saturated, and a tail.
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.006_1).collect();
        let ys = tanh(&xs);
        assert_eq!(ys.len(), xs.len());
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = (x as f64).tanh();
            assert!(
                (y as f64 - exact).abs() <= 4.0 * f32::EPSILON as f64 * exact.abs().max(1e-30),
                "tanh({x}) = {y}, libm {exact}"
            );
        }
        let odd = tanh(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]);
        assert!(odd[0].is_nan());
        assert_eq!(&odd[1..], &[1.0, -1.0, 0.0, 0.0]);
    }

    /// A row width that is not a multiple of 8 (the lanes' tails) and values far from 0.
    const N: usize = 13;
    const ROWS: usize = 3;

    fn inputs() -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let x = (0..ROWS * N)
            .map(|i| 3.0 + (i as f32 * 0.37).sin() * (1.0 + i as f32 * 0.05))
            .collect();
        let gamma = (0..N).map(|j| 0.5 + 0.1 * j as f32).collect();
        let beta = (0..N).map(|j| 0.2 - 0.03 * j as f32).collect();
        (x, gamma, beta)
    }

    /// The layer in f64 from its definition.
    fn reference(x: &[f64], gamma: &[f64], beta: &[f64]) -> Vec<f64> {
        x.chunks(N)
            .flat_map(|r| {
                let mean = r.iter().sum::<f64>() / N as f64;
                let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / N as f64;
                r.iter()
                    .zip(gamma.iter().zip(beta))
                    .map(move |(v, (g, b))| (g * (v - mean) / (var + 1e-5).sqrt() + b).tanh())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn wide64(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&a| a as f64).collect()
    }

    #[test]
    fn norm_tanh_is_the_layer_norm_then_tanh() {
        let (x, gamma, beta) = inputs();
        let got = norm_tanh(&x, N, &gamma, &beta, 1e-5);
        let want = reference(&wide64(&x), &wide64(&gamma), &wide64(&beta));
        for (g, w) in got.y.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 2e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn backward_is_the_gradient_of_a_weighted_sum() {
        // L = Σ w·y with fixed weights w: dL/dy = w. Each analytic gradient against a central
        // difference of L in f64 (step 1e-4, error O(h²) ≈ 1e-8).
        let (x, gamma, beta) = inputs();
        let w: Vec<f32> = (0..ROWS * N).map(|i| (i as f32 * 0.91).cos()).collect();
        let saved = norm_tanh(&x, N, &gamma, &beta, 1e-5);
        let (dx, dgamma, dbeta) =
            norm_tanh_backward(&w, &saved.y, &saved.xhat, &saved.rstd, &gamma);
        let loss = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
            reference(x, g, b)
                .iter()
                .zip(&w)
                .map(|(y, &w)| y * w as f64)
                .sum()
        };
        let (x, gamma, beta) = (wide64(&x), wide64(&gamma), wide64(&beta));
        let h = 1e-4;
        let check = |which: usize, got: &[f32]| {
            for (i, &g) in got.iter().enumerate() {
                let at = |s: f64| {
                    let mut v = [x.clone(), gamma.clone(), beta.clone()];
                    v[which][i] += s;
                    loss(&v[0], &v[1], &v[2])
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (g as f64 - fd).abs() < 1e-4 * (1.0 + fd.abs()),
                    "input {which}, index {i}: {g} vs {fd}"
                );
            }
        };
        check(0, &dx);
        check(1, &dgamma);
        check(2, &dbeta);
    }
}
