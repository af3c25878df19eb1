//! Convergence orders and a finite-difference gradient check in f64 on the CPU backend.
//! A separate test binary because a device's default float type is fixed once per process.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::{Device, FloatDType};
use common::{FIELDS_1D, config, linspace, read, rel_err, upload1, upload2};
use futures_lite::future::block_on;
use mollify_core::{Deriv2, KernelFamily, Layout2d, Mollifier, MollifierConfig};

fn sci(v: &[f64]) -> String {
    v.iter()
        .map(|e| format!("{e:.2e}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn fixed(v: &[f64]) -> String {
    v.iter()
        .map(|e| format!("{e:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn f64_device() -> Device {
    let mut device = Device::flex();
    // Every test in this binary asks for f64; the first call configures, later ones find it set.
    let _ = device.configure(FloatDType::F64);
    assert_eq!(device.settings().float_dtype, FloatDType::F64);
    device
}

/// Max error of order `k` of field `f` at n points with kernel size K fixed (ε ∝ h).
fn error_1d(field: &common::Field1, n: usize, k: usize, size: usize) -> f64 {
    let device = f64_device();
    let x = linspace(n, 0.0, 1.0);
    let op = Mollifier::new_1d(config(KernelFamily::Bump, size), x[1], &device).unwrap();
    let m = op.margin_1d(&[k]).unwrap();
    let g: Vec<f64> = x.iter().map(|&x| (field.f)(x, 0)).collect();
    let got = block_on(read(
        op.derivatives_1d(upload1(&g, &device), &[k])
            .unwrap()
            .remove(0),
    ));
    let exact: Vec<f64> = x[m..n - m].iter().map(|&x| (field.f)(x, k)).collect();
    got.iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn one_d_derivatives_converge_at_second_order() {
    for field in &FIELDS_1D[..2] {
        for k in 1..=4 {
            let errors: Vec<f64> = [200, 400, 800, 1600]
                .iter()
                .map(|&n| error_1d(field, n, k, 9))
                .collect();
            let orders: Vec<f64> = errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect();
            println!(
                "1D {} order {k}: errors {}, observed convergence orders {}",
                field.name,
                sci(&errors),
                fixed(&orders)
            );
            let last = orders[orders.len() - 1];
            assert!(
                (1.8..2.3).contains(&last),
                "{} order {k}: observed order {last}",
                field.name
            );
        }
    }
}

#[test]
fn polynomials_of_degree_k_plus_1_are_differentiated_exactly() {
    // Moment conditions make Dᵏ exact on polynomials up to degree k+1 (k ≤ 2) and the
    // composed D³ = D¹∘D², D⁴ = D²∘D² exact up to degree k.
    let device = f64_device();
    let n = 101;
    let x = linspace(n, -1.0, 1.0);
    let op = Mollifier::new_1d(config(KernelFamily::Bump, 11), x[1] - x[0], &device).unwrap();
    for (k, degree) in [(0, 1), (1, 2), (2, 3), (3, 3), (4, 4)] {
        let m = op.margin_1d(&[k]).unwrap();
        let g: Vec<f64> = x.iter().map(|&x| x.powi(degree)).collect();
        let got = block_on(read(
            op.derivatives_1d(upload1(&g, &device), &[k])
                .unwrap()
                .remove(0),
        ));
        let falling: f64 = (0..k).map(|i| (degree - i as i32) as f64).product();
        let exact: Vec<f64> = x[m..n - m]
            .iter()
            .map(|&x| falling * x.powi(degree - k as i32))
            .collect();
        let err = rel_err(&got, &exact);
        assert!(err < 1e-10, "D^{k} x^{degree}: {err:e}");
    }
}

#[test]
fn two_d_laplacian_and_biharmonic_converge_at_second_order() {
    let device = f64_device();
    for layout in [Layout2d::Separable, Layout2d::Radial] {
        for d in [Deriv2::Laplacian, Deriv2::Xy, Deriv2::Biharmonic] {
            let errors: Vec<f64> = [40, 80, 160]
                .iter()
                .map(|&n| {
                    let h = 1.0 / (n - 1) as f64;
                    let cfg = MollifierConfig {
                        layout,
                        ..config(KernelFamily::Bump, 7)
                    };
                    let op = Mollifier::new_2d(cfg, h, h, &device).unwrap();
                    let [my, mx] = op.margin_2d(&[d]).unwrap();
                    let f = |x: f64, y: f64| (3.0 * x).sin() * (2.0 * y).cos();
                    let exact = |x: f64, y: f64| match d {
                        Deriv2::Laplacian => -13.0 * f(x, y),
                        Deriv2::Xy => -6.0 * (3.0 * x).cos() * (2.0 * y).sin(),
                        _ => 169.0 * f(x, y),
                    };
                    let g: Vec<f64> = (0..n * n)
                        .map(|i| f((i % n) as f64 * h, (i / n) as f64 * h))
                        .collect();
                    let got = block_on(read(
                        op.derivatives_2d(upload2(&g, [n, n], &device), &[d])
                            .unwrap()
                            .remove(0),
                    ));
                    let want: Vec<f64> = (my..n - my)
                        .flat_map(|j| (mx..n - mx).map(move |i| (i, j)))
                        .map(|(i, j)| exact(i as f64 * h, j as f64 * h))
                        .collect();
                    got.iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max)
                })
                .collect();
            let orders: Vec<f64> = errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect();
            println!(
                "2D {layout:?} {d:?}: errors {}, observed convergence orders {}",
                sci(&errors),
                fixed(&orders)
            );
            let last = orders[orders.len() - 1];
            assert!(
                (1.8..2.4).contains(&last),
                "{layout:?} {d:?}: observed order {last}"
            );
        }
    }
}

#[test]
fn gradient_matches_finite_differences() {
    let device = f64_device().autodiff();
    let n = 60;
    let x = linspace(n, 0.0, 1.0);
    let op = Mollifier::new_1d(config(KernelFamily::Bump, 7), x[1], &device).unwrap();
    let g: Vec<f64> = x.iter().map(|&x| (5.0 * x).sin() + x * x).collect();
    // A nonlinear loss of u, u′, u″ and u⁗: L = Σ (u″)²/1e3 + Σ u·u′ + Σ sin(u⁗/1e3).
    let loss_of = |g: &[f64]| {
        let gt = upload1(g, &device).require_grad();
        let out = op.derivatives_1d(gt.clone(), &[0, 1, 2, 4]).unwrap();
        let [u, u1, u2, u4] = [0, 1, 2, 3].map(|i| out[i].clone());
        let len = u4.dims()[0];
        let crop = |t: burn::tensor::Tensor<1>| {
            let c = (t.dims()[0] - len) / 2;
            t.narrow(0, c, len)
        };
        let loss = (crop(u2.clone()) * crop(u2)).sum() / 1e3
            + (crop(u) * crop(u1)).sum()
            + (u4 / 1e3).sin().sum();
        (gt, loss)
    };
    let (gt, loss) = loss_of(&g);
    let grad = block_on(read(gt.grad(&loss.backward()).unwrap()));
    let step = 1e-6;
    let fd: Vec<f64> = (0..n)
        .map(|j| {
            let mut p = g.clone();
            p[j] += step;
            let mut q = g.clone();
            q[j] -= step;
            let lp = block_on(read(loss_of(&p).1))[0];
            let lq = block_on(read(loss_of(&q).1))[0];
            (lp - lq) / (2.0 * step)
        })
        .collect();
    let err = rel_err(&grad, &fd);
    println!("f64 autodiff gradient vs central finite differences: max rel error {err:.2e}");
    assert!(err < 1e-6, "{err:e}");
}
