//! Derivative checks shared by the native tests (flex, wgpu on Vulkan) and the browser tests
//! (flex and WebGPU in headless Chromium). Each check takes the device it runs on, computes in
//! the device's default float type (f32 everywhere here), and panics with the numbers it saw.
#![allow(dead_code, unreachable_pub)]

use burn::tensor::{Device, Tensor, TensorData};
use mollify_core::numerics::stencil::stencil_1d;
use mollify_core::{Boundary, Deriv2, KernelFamily, Layout2d, Mollifier, MollifierConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

include!("report.rs");

const TAU: f64 = std::f64::consts::TAU;

pub fn linspace(n: usize, a: f64, b: f64) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

pub fn upload1(v: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

pub fn upload2(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

pub async fn read<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data_async()
        .await
        .expect("device readback")
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("f64 data")
}

/// max |a − b| / max |b|
pub fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

pub fn rms(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

pub fn config(family: KernelFamily, size: usize) -> MollifierConfig {
    MollifierConfig {
        family,
        size,
        ..MollifierConfig::default()
    }
}

/// f64 reference: apply a chain of 1D grid-unit stencils (valid convolution), scaled by 1/hᵏ.
pub fn reference_chain(g: &[f64], chain: &[(KernelFamily, usize, usize)], h: f64) -> Vec<f64> {
    chain
        .iter()
        .fold(g.to_vec(), |acc, &(family, size, order)| {
            let w = stencil_1d(family, size, order).unwrap();
            let scale = h.powi(order as i32);
            (0..=acc.len() - size)
                .map(|i| {
                    w.iter()
                        .enumerate()
                        .map(|(j, wj)| wj * acc[i + j])
                        .sum::<f64>()
                        / scale
                })
                .collect()
        })
}

/// Analytic derivatives of a test function of x.
pub struct Field1 {
    pub name: &'static str,
    pub f: fn(f64, usize) -> f64,
}

pub const FIELDS_1D: [Field1; 3] = [
    Field1 {
        name: "sin 2πx",
        f: |x, k| TAU.powi(k as i32) * (TAU * x + k as f64 * std::f64::consts::FRAC_PI_2).sin(),
    },
    Field1 {
        name: "gaussian",
        // exp(−a(x−½)²), a = 50: derivatives via Hermite-like closed forms
        f: |x, k| {
            let a = 50.0;
            let z = x - 0.5;
            let e = (-a * z * z).exp();
            match k {
                0 => e,
                1 => -2.0 * a * z * e,
                2 => (4.0 * a * a * z * z - 2.0 * a) * e,
                3 => (-8.0 * a.powi(3) * z.powi(3) + 12.0 * a * a * z) * e,
                _ => (16.0 * a.powi(4) * z.powi(4) - 48.0 * a.powi(3) * z * z + 12.0 * a * a) * e,
            }
        },
    },
    Field1 {
        name: "x⁴ − x³",
        f: |x, k| match k {
            0 => x.powi(4) - x.powi(3),
            1 => 4.0 * x.powi(3) - 3.0 * x * x,
            2 => 12.0 * x * x - 6.0 * x,
            3 => 24.0 * x - 6.0,
            _ => 24.0,
        },
    },
];

/// Orders 0–4 of smooth fields on 400 points, against analytic derivatives.
/// The bounds cover the mollifier's O(ε²) smoothing bias (ε = 8h; orders 3–4 use the doubly
/// mollified field, so twice the second moment) plus f32 rounding, with about 2× headroom.
pub async fn derivatives_1d_match_analytic(device: &Device) {
    let n = 400;
    let x = linspace(n, 0.0, 1.0);
    let h = x[1] - x[0];
    let op = Mollifier::new_1d(config(KernelFamily::Bump, 15), h, device).unwrap();
    let orders = [0, 1, 2, 3, 4];
    let m = op.margin_1d(&orders).unwrap();
    for field in &FIELDS_1D {
        let g: Vec<f64> = x.iter().map(|&x| (field.f)(x, 0)).collect();
        let out = op.derivatives_1d(upload1(&g, device), &orders).unwrap();
        for (k, t) in orders.iter().zip(out) {
            let got = read(t).await;
            assert_eq!(got.len(), n - 2 * m);
            let exact: Vec<f64> = x[m..n - m].iter().map(|&x| (field.f)(x, *k)).collect();
            let err = rel_err(&got, &exact);
            report!("1D {} order {k}: max rel error {err:.2e}", field.name);
            let bound = [1e-2, 1e-2, 2e-2, 5e-2, 6e-2][*k];
            assert!(
                err < bound,
                "{} order {k}: {err:e} (bound {bound:e})",
                field.name
            );
        }
    }
}

/// f32 outputs of every order against an f64 evaluation of the same stencil chains:
/// isolates rounding. The 39-tap bump on sin 2πx (1000 points) is the case where a single φ⁗
/// stencil lost all accuracy in f32 (relative error ≈ 1). Composed, what remains is the f32
/// quantisation of g itself (≈ 3e-8) amplified by the fourth-derivative stencil's noise gain:
/// an intrinsic floor that only a wider kernel lowers.
pub async fn f32_matches_f64_reference(device: &Device) {
    let n = 1000;
    let x = linspace(n, 0.0, 1.0);
    let h = x[1] - x[0];
    let size = 39;
    let op = Mollifier::new_1d(config(KernelFamily::Bump, size), h, device).unwrap();
    let g: Vec<f64> = x.iter().map(|&x| (TAU * x).sin() + 0.3).collect();
    let orders = [0, 1, 2, 3, 4];
    let m = op.margin_1d(&orders).unwrap();
    let out = op.derivatives_1d(upload1(&g, device), &orders).unwrap();
    let b = KernelFamily::Bump;
    for (k, t) in orders.into_iter().zip(out) {
        let chain: Vec<(KernelFamily, usize, usize)> = match k {
            3 => vec![(b, size, 2), (b, size, 1)],
            4 => vec![(b, size, 2), (b, size, 2)],
            k => vec![(b, size, k)],
        };
        let reference = reference_chain(&g, &chain, h);
        let crop = (reference.len() - (n - 2 * m)) / 2;
        let reference = &reference[crop..reference.len() - crop];
        let got = read(t).await;
        let err = rel_err(&got, reference);
        let truth: Vec<f64> = x[m..n - m]
            .iter()
            .map(|&x| (FIELDS_1D[0].f)(x, k))
            .collect();
        report!(
            "f32 vs f64, K={size} order {k}: rounding {err:.2e}, total vs analytic {:.2e}",
            rel_err(&got, &truth)
        );
        let bound = if k == 4 { 1e-2 } else { 2e-4 };
        assert!(err < bound, "order {k}: f32 rounding error {err:e}");
    }
}

/// All 2D derivatives on an anisotropic grid (hx ≠ hy), both kernel layouts.
pub async fn derivatives_2d_match_analytic(device: &Device) {
    let (nx, ny) = (120, 90);
    let (lx, ly) = (2.0, 1.0);
    let (hx, hy) = (lx / (nx - 1) as f64, ly / (ny - 1) as f64);
    // f = sin(πx)·cos(2πy) + ½(x² y); all derivatives in closed form.
    let (a, b) = (std::f64::consts::PI, TAU);
    let f = |x: f64, y: f64, d: Deriv2| -> f64 {
        let (s, c) = ((a * x).sin(), (a * x).cos());
        let (sy, cy) = ((b * y).sin(), (b * y).cos());
        match d {
            Deriv2::U => s * cy + 0.5 * x * x * y,
            Deriv2::X => a * c * cy + x * y,
            Deriv2::Y => -b * s * sy + 0.5 * x * x,
            Deriv2::Xx => -a * a * s * cy + y,
            Deriv2::Yy => -b * b * s * cy,
            Deriv2::Xy => -a * b * c * sy + x,
            Deriv2::Laplacian => -(a * a + b * b) * s * cy + y,
            Deriv2::Xxx => -a.powi(3) * c * cy,
            Deriv2::Yyy => b.powi(3) * s * sy,
            Deriv2::Xxxx => a.powi(4) * s * cy,
            Deriv2::Xxyy => a * a * b * b * s * cy,
            Deriv2::Yyyy => b.powi(4) * s * cy,
            Deriv2::Biharmonic => (a * a + b * b).powi(2) * s * cy,
        }
    };
    let all = [
        Deriv2::U,
        Deriv2::X,
        Deriv2::Y,
        Deriv2::Xx,
        Deriv2::Yy,
        Deriv2::Xy,
        Deriv2::Laplacian,
        Deriv2::Xxx,
        Deriv2::Yyy,
        Deriv2::Xxxx,
        Deriv2::Xxyy,
        Deriv2::Yyyy,
        Deriv2::Biharmonic,
    ];
    let g: Vec<f64> = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .map(|(i, j)| f(i as f64 * hx, j as f64 * hy, Deriv2::U))
        .collect();
    for layout in [Layout2d::Separable, Layout2d::Radial] {
        let cfg = MollifierConfig {
            layout,
            ..config(KernelFamily::Bump, 9)
        };
        let op = Mollifier::new_2d(cfg, hx, hy, device).unwrap();
        let [my, mx] = op.margin_2d(&all).unwrap();
        let out = op
            .derivatives_2d(upload2(&g, [ny, nx], device), &all)
            .unwrap();
        for (d, t) in all.iter().zip(out) {
            assert_eq!(t.dims(), [ny - 2 * my, nx - 2 * mx]);
            let got = read(t).await;
            let exact: Vec<f64> = (my..ny - my)
                .flat_map(|j| (mx..nx - mx).map(move |i| (i, j)))
                .map(|(i, j)| f(i as f64 * hx, j as f64 * hy, *d))
                .collect();
            let err = rel_err(&got, &exact);
            report!("2D {layout:?} {d:?}: max rel error {err:.2e}");
            // Smoothing bias of the 9-point kernel on this grid, with about 2× headroom.
            let bound = if d.order() >= 3 { 5e-2 } else { 3e-2 };
            assert!(err < bound, "{layout:?} {d:?}: {err:e}");
        }
    }
}

/// The paper's noise claim: on sin 2πx (1000 points) + N(0, 0.01²) noise, the mollified second
/// derivative's RMS error is ≥ 10× smaller than the central finite difference's.
pub async fn mollifier_beats_finite_differences_on_noise(device: &Device) -> f64 {
    let n = 1000;
    let x = linspace(n, 0.0, 1.0);
    let h = x[1] - x[0];
    let mut rng = StdRng::seed_from_u64(7);
    let noise = Normal::new(0.0, 1e-2).unwrap();
    let g: Vec<f64> = x
        .iter()
        .map(|&x| (TAU * x).sin() + noise.sample(&mut rng))
        .collect();
    let size = 61;
    let op = Mollifier::new_1d(config(KernelFamily::Bump, size), h, device).unwrap();
    let m = op.margin_1d(&[2]).unwrap();
    let got = read(
        op.derivatives_1d(upload1(&g, device), &[2])
            .unwrap()
            .remove(0),
    )
    .await;
    let exact: Vec<f64> = x[m..n - m]
        .iter()
        .map(|&x| -TAU * TAU * (TAU * x).sin())
        .collect();
    let fd: Vec<f64> = (m..n - m)
        .map(|i| (g[i + 1] - 2.0 * g[i] + g[i - 1]) / (h * h))
        .collect();
    let (e_moll, e_fd) = (rms(&got, &exact), rms(&fd, &exact));
    let ratio = e_fd / e_moll;
    report!(
        "noise σ=1e-2: RMS error of u'' mollifier {e_moll:.3e}, central FD {e_fd:.3e}, ratio {ratio:.0}"
    );
    assert!(ratio >= 10.0, "ratio {ratio}");
    ratio
}

/// Whole-grid policies: Extrapolate is accurate up to the edge on a field with nonzero slope
/// and curvature there; Reflect forces odd derivatives to zero at the edge; both agree with
/// Valid in the interior.
pub async fn boundary_policies_behave_as_documented(device: &Device) {
    let n = 400;
    let x = linspace(n, 0.0, 1.0);
    let h = x[1] - x[0];
    let g: Vec<f64> = x.iter().map(|&x| (TAU * x).sin() + x).collect();
    let exact = |x: f64, k: usize| match k {
        0 => (TAU * x).sin() + x,
        1 => TAU * (TAU * x).cos() + 1.0,
        _ => -TAU * TAU * (TAU * x).sin(),
    };
    let size = 11;
    let m = size / 2;
    let valid = Mollifier::new_1d(config(KernelFamily::Bump, size), h, device).unwrap();
    let interior: Vec<Vec<f64>> = {
        let mut v = Vec::new();
        for t in valid
            .derivatives_1d(upload1(&g, device), &[0, 1, 2])
            .unwrap()
        {
            v.push(read(t).await);
        }
        v
    };
    for (policy, edge_bound) in [
        (Boundary::Extrapolate, [2e-3, 2e-2, 5e-2]),
        (Boundary::Reflect, [f64::MAX; 3]),
    ] {
        let cfg = MollifierConfig {
            boundary: policy,
            ..config(KernelFamily::Bump, size)
        };
        let op = Mollifier::new_1d(cfg, h, device).unwrap();
        assert_eq!(
            op.margin_1d(&[0, 1, 2]).unwrap(),
            m,
            "margin is reported for Valid sizes"
        );
        let out = op.derivatives_1d(upload1(&g, device), &[0, 1, 2]).unwrap();
        for (k, t) in out.into_iter().enumerate() {
            let got = read(t).await;
            assert_eq!(got.len(), n, "{policy:?} returns the whole grid");
            let truth: Vec<f64> = x.iter().map(|&x| exact(x, k)).collect();
            let scale = truth.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let edge = (0..m)
                .chain(n - m..n)
                .map(|i| (got[i] - truth[i]).abs())
                .fold(0.0, f64::max)
                / scale;
            let inner = rel_err(&got[m..n - m], &interior[k]);
            report!(
                "{policy:?} order {k}: edge error {edge:.2e} (of max), interior vs Valid {inner:.1e}"
            );
            assert!(inner < 1e-5, "{policy:?} changes the interior: {inner:e}");
            assert!(
                edge < edge_bound[k],
                "{policy:?} order {k}: edge error {edge:e}"
            );
            if policy == Boundary::Reflect && k == 1 {
                // g′(0) = 2π + 1 but the even reflection has slope 0 there.
                let at_edge = (got[0] - truth[0]).abs() / truth[0].abs();
                assert!(
                    at_edge > 0.5,
                    "reflect should bias u′ at the edge, got {at_edge}"
                );
            }
        }
    }
}

/// Periodic: on one period of a periodic field (the right end not repeating the left) the
/// wrapped operator returns the whole grid, as accurate at the edges as inside — 1D to order 4
/// and the 2D biharmonic (the chromatin residual's top derivative).
pub async fn periodic_boundary_is_exact_on_periodic_fields(device: &Device) {
    let n = 200;
    let h = 1.0 / n as f64;
    let x: Vec<f64> = (0..n).map(|i| i as f64 * h).collect();
    let g: Vec<f64> = x
        .iter()
        .map(|&x| (TAU * x).sin() + 0.5 * (2.0 * TAU * x).cos())
        .collect();
    let exact = |x: f64, k: i32| {
        let w = TAU;
        w.powi(k) * (w * x + k as f64 * std::f64::consts::FRAC_PI_2).sin()
            + 0.5 * (2.0 * w).powi(k) * (2.0 * w * x + k as f64 * std::f64::consts::FRAC_PI_2).cos()
    };
    let cfg = MollifierConfig {
        boundary: Boundary::Periodic,
        ..config(KernelFamily::Bump, 15)
    };
    let op = Mollifier::new_1d(cfg, h, device).unwrap();
    let out = op
        .derivatives_1d(upload1(&g, device), &[0, 1, 2, 3, 4])
        .unwrap();
    for (k, t) in out.into_iter().enumerate() {
        let got = read(t).await;
        assert_eq!(got.len(), n, "periodic returns the whole grid");
        let truth: Vec<f64> = x.iter().map(|&x| exact(x, k as i32)).collect();
        let scale = truth.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let err = |r: std::ops::Range<usize>| {
            r.map(|i| (got[i] - truth[i]).abs()).fold(0.0, f64::max) / scale
        };
        let (edge, inner) = (err(0..8).max(err(n - 8..n)), err(8..n - 8));
        report!("periodic order {k}: edge error {edge:.2e}, interior {inner:.2e}");
        // The smoothing bias of a 15-point kernel on the second harmonic (a few %, more for the
        // doubly mollified orders 3–4); the edge is no worse than the interior.
        assert!(
            inner < 0.1 && edge < 1.2 * inner + 1e-6,
            "order {k}: {edge:e} vs {inner:e}"
        );
    }
    // 2D: u = sin 2πx · cos 2πy on [0, 1)², ∇⁴u = (8π²)²·u.
    let m = 64;
    let h2 = 1.0 / m as f64;
    let u: Vec<f64> = (0..m * m)
        .map(|i| (TAU * (i % m) as f64 * h2).sin() * (TAU * (i / m) as f64 * h2).cos())
        .collect();
    let cfg = MollifierConfig { size: 9, ..cfg };
    let op = Mollifier::new_2d(cfg, h2, h2, device).unwrap();
    let bih = read(
        op.derivatives_2d(upload2(&u, [m, m], device), &[Deriv2::Biharmonic])
            .unwrap()
            .remove(0),
    )
    .await;
    assert_eq!(bih.len(), m * m);
    let factor = (2.0 * TAU * TAU).powi(2);
    let err = |edge: bool| {
        (0..m * m)
            .filter(|i| {
                let (r, c) = (i / m, i % m);
                let near = |v: usize| v < 8 || v >= m - 8;
                (near(r) || near(c)) == edge
            })
            .map(|i| (bih[i] - factor * u[i]).abs())
            .fold(0.0, f64::max)
            / factor
    };
    let (edge, inner) = (err(true), err(false));
    report!("periodic 2D biharmonic: edge error {edge:.2e}, interior {inner:.2e} of its amplitude");
    assert!(
        inner < 0.1 && edge < 1.2 * inner + 1e-6,
        "{edge:e} vs {inner:e}"
    );
}

/// Gradients of a loss of the mollified derivatives w.r.t. g, through burn autodiff, against
/// the exact adjoint (transposed stencil chains) evaluated in f64.
pub async fn gradient_matches_adjoint(device: &Device) {
    let device = device.clone().autodiff();
    let n = 200;
    let x = linspace(n, 0.0, 1.0);
    let h = x[1] - x[0];
    let size = 9;
    let g: Vec<f64> = x.iter().map(|&x| (TAU * x).sin() * (1.0 + x)).collect();
    let op = Mollifier::new_1d(config(KernelFamily::Bump, size), h, &device).unwrap();
    let gt = upload1(&g, &device).require_grad();
    let out = op.derivatives_1d(gt.clone(), &[0, 2, 4]).unwrap();
    let len = out[0].dims()[0];
    let c: Vec<f64> = (0..len)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    // L = Σ cᵢ·u″ᵢ/1000 + Σ u⁗ᵢ·cᵢ/1e5 + ½Σ uᵢ²: linear and quadratic parts.
    let ct = upload1(&c, &device);
    let loss = (out[1].clone() * ct.clone()).sum() / 1e3
        + (out[2].clone() * ct).sum() / 1e5
        + (out[0].clone() * out[0].clone()).sum() / 2.0;
    let grads = loss.backward();
    let got = read(gt.grad(&grads).expect("gradient w.r.t. g")).await;
    // Exact adjoint: dL/dg = Σ_chains Aᵀ(weights).
    let b = KernelFamily::Bump;
    let u = reference_chain(&g, &[(b, size, 0)], h);
    let m = size / 2;
    let crop = |v: Vec<f64>, c: usize| v[c..v.len() - c].to_vec();
    let adjoint = |chain: &[(KernelFamily, usize, usize)], weights: &[f64]| -> Vec<f64> {
        // Transpose of the valid-convolution chain, by linearity: column j = chain(e_j).
        (0..n)
            .map(|j| {
                let mut e = vec![0.0; n];
                e[j] = 1.0;
                let r = reference_chain(&e, chain, h);
                let c = (r.len() - weights.len()) / 2;
                crop(r, c).iter().zip(weights).map(|(a, b)| a * b).sum()
            })
            .collect()
    };
    let u_c = crop(u, m);
    let c3: Vec<f64> = c.iter().map(|v| v / 1e3).collect();
    let c5: Vec<f64> = c.iter().map(|v| v / 1e5).collect();
    let parts = [
        adjoint(&[(b, size, 2)], &c3),
        adjoint(&[(b, size, 2), (b, size, 2)], &c5),
        adjoint(&[(b, size, 0)], &u_c),
    ];
    let expect: Vec<f64> = (0..n).map(|j| parts.iter().map(|p| p[j]).sum()).collect();
    let err = rel_err(&got, &expect);
    report!("autodiff gradient vs exact adjoint: max rel error {err:.2e}");
    assert!(err < 1e-4, "{err:e}");
}

/// Bad requests fail with errors that say what is wrong.
pub async fn bad_requests_fail_clearly(device: &Device) {
    let poly2 = Mollifier::new_1d(config(KernelFamily::Poly2, 9), 0.01, device).unwrap();
    let err = poly2
        .derivatives_1d(upload1(&[0.0; 50], device), &[2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("poly2") && err.contains("at most 1"), "{err}");
    // poly4 is smooth to order 2, and D⁴ is two D² passes: allowed, and exact on x⁴/24 (D⁴ of
    // the doubly mollified field is exact on degree 5), to f32 rounding.
    let poly4 = Mollifier::new_1d(config(KernelFamily::Poly4, 9), 0.05, device).unwrap();
    let g: Vec<f64> = (0..60)
        .map(|i| (i as f64 * 0.05 - 1.5).powi(4) / 24.0)
        .collect();
    let d4 = read(
        poly4
            .derivatives_1d(upload1(&g, device), &[4])
            .unwrap()
            .remove(0),
    )
    .await;
    assert!(d4.iter().all(|v| (v - 1.0).abs() < 1e-3), "{:?}", &d4[..3]);
    let op = Mollifier::new_1d(config(KernelFamily::Bump, 11), 0.01, device).unwrap();
    let err = op
        .derivatives_1d(upload1(&[0.0; 15], device), &[4])
        .unwrap_err()
        .to_string();
    assert!(err.contains("wider than the grid"), "{err}");
    assert!(Mollifier::new_1d(config(KernelFamily::Bump, 10), 0.01, device).is_err());
    assert!(Mollifier::new_1d(config(KernelFamily::Bump, 11), 0.0, device).is_err());
    let err = op
        .derivatives_2d(upload2(&[0.0; 400], [20, 20], device), &[Deriv2::U])
        .unwrap_err()
        .to_string();
    assert!(err.contains("1D"), "{err}");
}

/// Runs the same operators on two devices and returns the largest difference relative to each
/// output's magnitude; also covers the wgpu conv2d-then-elementwise pattern.
pub async fn max_difference_between(a: &Device, b: &Device) -> f64 {
    let (nx, ny) = (64, 48);
    let g: Vec<f64> = (0..nx * ny)
        .map(|i| {
            let (x, y) = ((i % nx) as f64 / nx as f64, (i / nx) as f64 / ny as f64);
            (3.0 * x).sin() * (2.0 * y).cos() + 0.1 * ((i * 37 % 101) as f64 / 101.0)
        })
        .collect();
    let shift: Vec<f64> = (0..nx * ny).map(|i| (i % 13) as f64 * 0.25).collect();
    let all = [
        Deriv2::U,
        Deriv2::X,
        Deriv2::Xx,
        Deriv2::Xy,
        Deriv2::Laplacian,
        Deriv2::Biharmonic,
    ];
    let mut worst = 0.0f64;
    for layout in [Layout2d::Separable, Layout2d::Radial] {
        for boundary in [Boundary::Valid, Boundary::Extrapolate] {
            let cfg = MollifierConfig {
                layout,
                boundary,
                ..config(KernelFamily::Bump, 7)
            };
            let mut results = Vec::new();
            for device in [a, b] {
                let op = Mollifier::new_2d(cfg, 1.0 / nx as f64, 1.0 / ny as f64, device).unwrap();
                let outs = op
                    .derivatives_2d(upload2(&g, [ny, nx], device), &all)
                    .unwrap();
                let mut vals = Vec::new();
                for t in outs {
                    let [h, w] = t.dims();
                    // conv output followed directly by an elementwise op (the wgpu bug pattern).
                    let s = upload2(&shift, [ny, nx], device).slice([0..h, 0..w]);
                    vals.push(read(t - s).await);
                }
                results.push(vals);
            }
            for (d, (x, y)) in all.iter().zip(results[0].iter().zip(&results[1])) {
                let e = rel_err(x, y);
                report!("{layout:?} {boundary:?} {d:?}: max rel difference {e:.1e}");
                worst = worst.max(e);
            }
        }
    }
    let x = linspace(500, 0.0, 1.0);
    let g1: Vec<f64> = x.iter().map(|&x| (TAU * x).sin()).collect();
    let mut r = Vec::new();
    for device in [a, b] {
        let op = Mollifier::new_1d(config(KernelFamily::Bump, 15), x[1], device).unwrap();
        let mut vals = Vec::new();
        for t in op
            .derivatives_1d(upload1(&g1, device), &[0, 1, 2, 3, 4])
            .unwrap()
        {
            vals.push(read(t).await);
        }
        r.push(vals);
    }
    for (k, (x, y)) in r[0].iter().zip(&r[1]).enumerate() {
        let e = rel_err(x, y);
        report!("1D order {k}: max rel difference {e:.1e}");
        worst = worst.max(e);
    }
    worst
}
