//! # mollify-kernels
//!
//! The CPU training step's kernels, on plain f32 slices: tanh, a network layer's LayerNorm
//! followed by tanh, and a dense layer, each with its backward pass. mollify-core wraps them as
//! burn ops on the `flex` backend.
//!
//! They live in their own crate so that the workspace profile can build them at opt-level 3
//! (LLVM vectorises loops only from 2) while mollify-core, large and rebuilt on every edit,
//! stays at 1. Composed from burn's tensor ops, one LayerNorm + tanh is about ten passes over
//! the activations forward and twenty backward, each allocating its output; fused, each row is
//! read and written once each way, its reductions done while it is in cache.

use pulp::{Arch, Simd, WithSimd};

/// tanh of every element.
pub fn tanh(src: &[f32]) -> Vec<f32> {
    Arch::new().dispatch(Tanh(src))
}

/// tanh's backward pass from its output y: dy·(1 − y²), computed as dy − (dy·y)·y.
pub fn tanh_backward(dy: &[f32], y: &[f32]) -> Vec<f32> {
    assert_eq!(dy.len(), y.len(), "tanh_backward: shapes differ");
    Arch::new().dispatch(TanhBackward { dy, y })
}

/// Each kernel runs in the widest instruction set the CPU has (AVX-512, AVX2 or scalar), chosen
/// at run time: the crate itself is built for baseline x86-64, whose SSE lanes bounded the
/// rational tanh's division, and `pulp` gives the dispatch without unsafe code here. The output
/// is written straight into a new vector: no zero fill, no copy of the input first.
struct Tanh<'a>(&'a [f32]);

impl WithSimd for Tanh<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.0.len());
        let (head, tail) = S::as_simd_f32s(self.0);
        for &x in head {
            out.extend_from_slice(pulp::bytemuck::cast_slice(&[tanh_lanes(simd, x)]));
        }
        out.extend_from_slice(tail);
        let done = out.len() - tail.len();
        tanh_in_place(simd, &mut out[done..]);
        out
    }
}

struct TanhBackward<'a> {
    dy: &'a [f32],
    y: &'a [f32],
}

impl WithSimd for TanhBackward<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> Vec<f32> {
        // The order of burn's composed backward (two products, then the difference).
        self.dy
            .iter()
            .zip(self.y)
            .map(|(&g, &t)| g - g * t * t)
            .collect()
    }
}

#[inline(always)]
fn tanh_in_place<S: Simd>(simd: S, v: &mut [f32]) {
    let (head, tail) = S::as_mut_simd_f32s(v);
    for x in head {
        *x = tanh_lanes(simd, *x);
    }
    if !tail.is_empty() {
        let y = tanh_lanes(simd, simd.partial_load_f32s(tail));
        simd.partial_store_f32s(tail, y);
    }
}

/// tanh as the rational minimax approximation p₁₃(x)/q₆(x) that Eigen and XLA's CPU backend
/// evaluate for f32 (JAX's tanh on the CPU is this one): a few ULP from libm, no exp, no branch.
/// A tanh through exp_m1 measured 4× slower here than this.
#[inline(always)]
fn tanh_lanes<S: Simd>(simd: S, x: S::f32s) -> S::f32s {
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
    let number = simd.equal_f32s(x, x);
    let c = simd.min_f32s(
        simd.max_f32s(x, simd.splat_f32s(-CLAMP)),
        simd.splat_f32s(CLAMP),
    );
    let x2 = simd.mul_f32s(c, c);
    let horner = |coeffs: &[f32]| {
        // Multiply, then add: the clamp is where p/q rounds to ±1 without fused multiply-adds.
        coeffs[1..]
            .iter()
            .fold(simd.splat_f32s(coeffs[0]), |acc, &k| {
                simd.add_f32s(simd.mul_f32s(acc, x2), simd.splat_f32s(k))
            })
    };
    let (p, q) = (horner(&P), horner(&Q));
    // The clamp would turn NaN into a number; a diverging run must stay visible.
    let y = simd.div_f32s(simd.mul_f32s(p, c), q);
    simd.select_f32s(number, y, simd.splat_f32s(f32::NAN))
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
    Arch::new().dispatch(Forward {
        x,
        n,
        gamma,
        beta,
        eps,
    })
}

struct Forward<'a> {
    x: &'a [f32],
    n: usize,
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
}

impl WithSimd for Forward<'_> {
    type Output = NormTanh;
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> NormTanh {
        let Self {
            x,
            n,
            gamma,
            beta,
            eps,
        } = self;
        // Each output is appended row by row: no zero fill to overwrite.
        let mut y = Vec::with_capacity(x.len());
        let mut xhat = Vec::with_capacity(x.len());
        let mut rstd = Vec::with_capacity(x.len() / n);
        for xr in x.chunks_exact(n) {
            // Two passes (mean, then squared deviations): as stable as burn's composed LayerNorm.
            let mean = sum(simd, xr) / n as f32;
            let var = squared_deviations(simd, xr, mean) / n as f32;
            let s = 1.0 / (var + eps).sqrt();
            let row = xhat.len();
            xhat.extend(xr.iter().map(|&v| (v - mean) * s));
            let affine = xhat[row..].iter().zip(gamma.iter().zip(beta));
            y.extend(affine.map(|(&h, (&g, &b))| g * h + b));
            tanh_in_place(simd, &mut y[row..]);
            rstd.push(s);
        }
        NormTanh { y, xhat, rstd }
    }
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
    Arch::new().dispatch(Backward {
        dy,
        y,
        xhat,
        rstd,
        gamma,
    })
}

struct Backward<'a> {
    dy: &'a [f32],
    y: &'a [f32],
    xhat: &'a [f32],
    rstd: &'a [f32],
    gamma: &'a [f32],
}

impl WithSimd for Backward<'_> {
    type Output = (Vec<f32>, Vec<f32>, Vec<f32>);
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Self::Output {
        let Self {
            dy,
            y,
            xhat,
            rstd,
            gamma,
        } = self;
        let n = gamma.len();
        let mut dx = Vec::with_capacity(dy.len());
        let mut dgamma = vec![0.0; n];
        let mut dbeta = vec![0.0; n];
        let mut dz = vec![0.0; n];
        for (((dyr, yr), hr), &s) in dy
            .chunks_exact(n)
            .zip(y.chunks_exact(n))
            .zip(xhat.chunks_exact(n))
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
            let (m1, m2) = (sum(simd, &dz) / n as f32, dot(simd, &dz, hr) / n as f32);
            dx.extend(dz.iter().zip(hr).map(|(&dh, &h)| s * (dh - m1 - h * m2)));
        }
        (dx, dgamma, dbeta)
    }
}

/// A row-major matrix operand of [`matmul`]: `data` holds `rows × cols` values, or, when
/// `transposed`, the `cols × rows` matrix whose transpose is the operand (read through strides,
/// never copied).
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    /// The stored values, row-major.
    pub data: &'a [f32],
    /// Rows of the operand (after the transpose).
    pub rows: usize,
    /// Columns of the operand (after the transpose).
    pub cols: usize,
    /// Whether `data` stores the operand's transpose.
    pub transposed: bool,
}

impl<'a> Operand<'a> {
    /// `data` as a row-major [rows, cols] matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        let transposed = false;
        Self {
            data,
            rows,
            cols,
            transposed,
        }
    }

    /// The [rows, cols] transpose of `data`, a row-major [cols, rows] matrix.
    pub fn transpose_of(data: &'a [f32], rows: usize, cols: usize) -> Self {
        let transposed = true;
        Self {
            data,
            rows,
            cols,
            transposed,
        }
    }

    /// (row stride, column stride) of the operand in `data`.
    fn strides(&self) -> (isize, isize) {
        let (r, c) = (self.rows as isize, self.cols as isize);
        if self.transposed { (1, r) } else { (c, 1) }
    }
}

/// dst ← dst + a·b (`accumulate`) or a·b, for `dst` row-major [a.rows, b.cols], on one thread.
///
/// burn's flex matmul allocates each output as a zeroed byte vector and then copies it into an
/// aligned buffer; on a 3×64 network's step that was a tenth of the time. Here the caller owns
/// `dst` (a layer writes its bias there first and accumulates onto it).
pub fn matmul(dst: &mut [f32], accumulate: bool, a: Operand<'_>, b: Operand<'_>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && a.data.len() == m * k && b.data.len() == k * n && dst.len() == m * n,
        "matmul: [{m}, {k}]·[{}, {n}] from {} and {} values into {}",
        b.rows,
        a.data.len(),
        b.data.len(),
        dst.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let ((a_rs, a_cs), (b_rs, b_cs)) = (a.strides(), b.strides());
    // SAFETY: the assertion above makes every index gemm forms in bounds: dst is m×n with
    // strides (n, 1), a m×k with (a_rs, a_cs) and b k×n with (b_rs, b_cs), each a row-major
    // matrix or its transpose over exactly the slice's length. dst is a unique borrow and the
    // inputs shared ones, so nothing aliases it.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A dense layer y = x·W + b for x [rows, k] and W [k, n] (burn's `Linear` layout).
pub fn linear(x: &[f32], rows: usize, weight: &[f32], n: usize, bias: Option<&[f32]>) -> Vec<f32> {
    assert!(
        n > 0 && weight.len().is_multiple_of(n),
        "linear: a weight of {} values for {n} outputs",
        weight.len()
    );
    let k = weight.len() / n;
    // The bias in every row (no zero fill first), the product accumulated onto it.
    let mut y = match bias {
        Some(b) => {
            assert_eq!(
                b.len(),
                n,
                "linear: a bias of {} values for {n} outputs",
                b.len()
            );
            b.repeat(rows)
        }
        None => vec![0.0; rows * n],
    };
    let (x, w) = (Operand::new(x, rows, k), Operand::new(weight, k, n));
    matmul(&mut y, bias.is_some(), x, w);
    y
}

/// Gradients of [`linear`] from dy [rows, n]: dx = dy·Wᵀ (if `want_x`), dW = xᵀ·dy and
/// db = Σ_rows dy.
pub fn linear_backward(
    dy: &[f32],
    x: &[f32],
    weight: &[f32],
    n: usize,
    want_x: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    assert!(
        n > 0 && weight.len().is_multiple_of(n) && dy.len().is_multiple_of(n),
        "linear_backward: {} gradients and a weight of {} values for {n} outputs",
        dy.len(),
        weight.len()
    );
    let (rows, k) = (dy.len() / n, weight.len() / n);
    let dyo = Operand::new(dy, rows, n);
    let dx = want_x.then(|| {
        let mut dx = vec![0.0; rows * k];
        matmul(&mut dx, false, dyo, Operand::transpose_of(weight, n, k));
        dx
    });
    let mut dw = vec![0.0; k * n];
    matmul(&mut dw, false, Operand::transpose_of(x, k, rows), dyo);
    let db = Arch::new().dispatch(ColumnSums { v: dy, n });
    (dx, dw, db)
}

struct ColumnSums<'a> {
    v: &'a [f32],
    n: usize,
}

impl WithSimd for ColumnSums<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> Vec<f32> {
        let mut out = vec![0.0; self.n];
        for row in self.v.chunks_exact(self.n) {
            for (o, &r) in out.iter_mut().zip(row) {
                *o += r;
            }
        }
        out
    }
}

/// Sum in the instruction set's lanes (a scalar left fold would serialise on the adds).
#[inline(always)]
fn sum<S: Simd>(simd: S, v: &[f32]) -> f32 {
    let (head, tail) = S::as_simd_f32s(v);
    let acc = head
        .iter()
        .fold(simd.splat_f32s(0.0), |a, &c| simd.add_f32s(a, c));
    simd.reduce_sum_f32s(acc) + tail.iter().sum::<f32>()
}

/// Σ (v − mean)² in lanes.
#[inline(always)]
fn squared_deviations<S: Simd>(simd: S, v: &[f32], mean: f32) -> f32 {
    let m = simd.splat_f32s(mean);
    let (head, tail) = S::as_simd_f32s(v);
    let acc = head.iter().fold(simd.splat_f32s(0.0), |a, &c| {
        let d = simd.sub_f32s(c, m);
        simd.mul_add_e_f32s(d, d, a)
    });
    let rest = tail.iter().map(|&x| (x - mean) * (x - mean));
    simd.reduce_sum_f32s(acc) + rest.sum::<f32>()
}

/// Σ aᵢ·bᵢ in lanes.
#[inline(always)]
fn dot<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let ((ha, ta), (hb, tb)) = (S::as_simd_f32s(a), S::as_simd_f32s(b));
    let acc = ha.iter().zip(hb).fold(simd.splat_f32s(0.0), |s, (&x, &y)| {
        simd.mul_add_e_f32s(x, y, s)
    });
    let rest = ta.iter().zip(tb).map(|(x, y)| x * y);
    simd.reduce_sum_f32s(acc) + rest.sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tanh on every instruction set this CPU has, scalar (the wasm build's) included.
    fn tanh_each_instruction_set(xs: &[f32]) -> Vec<(&'static str, Vec<f32>)> {
        fn run(simd: impl Simd, xs: &[f32]) -> Vec<f32> {
            simd.vectorize(Tanh(xs))
        }
        #[allow(unused_mut)]
        let mut out = vec![("scalar", run(pulp::Scalar::new(), xs))];
        #[cfg(target_arch = "x86_64")]
        {
            out.extend(pulp::x86::V3::try_new().map(|s| ("avx2", run(s, xs))));
            out.extend(pulp::x86::V4::try_new().map(|s| ("avx512", run(s, xs))));
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let best = &out.last().expect("scalar").1;
        assert_eq!(bits(&tanh(xs)), bits(best), "the dispatch's choice");
        out
    }

    #[test]
    fn lanes_match_libm_to_a_few_ulp() {
        // Every regime of the kernel: tiny (tanh x ≈ x), moderate, saturated, and a tail.
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.006_1).collect();
        for (set, ys) in tanh_each_instruction_set(&xs) {
            assert_eq!(ys.len(), xs.len());
            for (&x, &y) in xs.iter().zip(&ys) {
                let exact = (x as f64).tanh();
                assert!(
                    (y as f64 - exact).abs() <= 4.0 * f32::EPSILON as f64 * exact.abs().max(1e-30),
                    "{set}: tanh({x}) = {y}, libm {exact}"
                );
            }
        }
        let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0];
        for (set, odd) in tanh_each_instruction_set(&special) {
            assert!(odd[0].is_nan(), "{set}: tanh(NaN) = {}", odd[0]);
            assert_eq!(&odd[1..], &[1.0, -1.0, 0.0, 0.0], "{set}");
        }
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
