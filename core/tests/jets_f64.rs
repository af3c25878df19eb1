//! Taylor-mode jets in f64 against closed forms and against high-order finite differences of
//! the same network evaluated without derivatives, for every layer type the models use.
#![cfg(not(target_arch = "wasm32"))]

use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use mollify_core::numerics::jet::{Jet, JetLayout};

fn device() -> Device {
    let mut device = Device::flex();
    let _ = device.configure(FloatDType::F64);
    assert_eq!(device.settings().float_dtype, FloatDType::F64);
    device
}

fn column(v: &[f64], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1]), device)
}

fn read(t: Tensor<2>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// Independent closed forms of tanh⁽ⁿ⁾ through sech: sech², −2sech²t, …
fn tanh_n(z: f64, n: usize) -> f64 {
    let (t, s2) = (z.tanh(), 1.0 / z.cosh().powi(2));
    match n {
        0 => t,
        1 => s2,
        2 => -2.0 * s2 * t,
        3 => -2.0 * s2 * s2 + 4.0 * s2 * t * t,
        _ => 16.0 * s2 * s2 * t - 8.0 * s2 * t.powi(3),
    }
}

#[test]
fn tanh_of_an_affine_map_matches_its_closed_form() {
    let device = device();
    let layout = JetLayout::new(2, 4).unwrap();
    let (w1, w2, b) = (0.7, -1.3, 0.2);
    let xs = [-1.0, -0.3, 0.0, 0.45, 1.2];
    let ys = [0.5, -0.8, 0.1, 0.9, -0.2];
    let x = Jet::coordinate(&layout, column(&xs, &device), 0).unwrap();
    let y = Jet::coordinate(&layout, column(&ys, &device), 1).unwrap();
    let u = x
        .scale(w1)
        .add(&y.scale(w2))
        .map_linear(|c| c, |c| c + b)
        .tanh();
    let mut worst: f64 = 0.0;
    for deg in 0..=4 {
        for a in 0..=deg {
            let bb = deg - a;
            let got = read(u.derivative(a, bb).unwrap());
            for (i, (&xv, &yv)) in xs.iter().zip(&ys).enumerate() {
                let exact =
                    w1.powi(a as i32) * w2.powi(bb as i32) * tanh_n(w1 * xv + w2 * yv + b, deg);
                worst = worst.max((got[i] - exact).abs() / exact.abs().max(1.0));
            }
        }
    }
    println!("tanh(w·x + b): max relative error of all derivatives up to order 4: {worst:.1e}");
    assert!(worst < 1e-10, "{worst:e}");
}

#[test]
fn relu_jets_are_piecewise_linear() {
    let device = device();
    let layout = JetLayout::new(1, 3).unwrap();
    let xs = [-1.0, -0.2, 0.3, 2.0];
    let u = Jet::coordinate(&layout, column(&xs, &device), 0)
        .unwrap()
        .scale(2.0)
        .relu();
    assert_eq!(read(u.value()), vec![0.0, 0.0, 0.6, 4.0]);
    assert_eq!(read(u.derivative(1, 0).unwrap()), vec![0.0, 0.0, 2.0, 2.0]);
    assert_eq!(read(u.derivative(2, 0).unwrap()), vec![0.0; 4]);
}

/// Weights of a small network that uses every layer type of the three architectures.
struct Net {
    omega: Vec<f64>,
    w1: Tensor<2>,
    b1: Tensor<1>,
    w2: Tensor<2>,
    b2: Tensor<1>,
    w3: Tensor<2>,
    ones: Tensor<2>,
    wout: Tensor<2>,
}

impl Net {
    fn new(device: &Device) -> Self {
        // Deterministic pseudo-random weights of moderate size.
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1.6
        };
        let mut mat = |r: usize, c: usize| {
            Tensor::<2>::from_data(
                TensorData::new((0..r * c).map(|_| next()).collect::<Vec<f64>>(), [r, c]),
                device,
            )
        };
        let w1 = mat(6, 8);
        let w2 = mat(8, 8);
        let w3 = mat(8, 8);
        let wout = mat(8, 1);
        let b1 = Tensor::<1>::from_data(
            TensorData::new(
                (0..8).map(|i| 0.1 * i as f64 - 0.3).collect::<Vec<f64>>(),
                [8],
            ),
            device,
        );
        let b2 = Tensor::<1>::from_data(
            TensorData::new((0..8).map(|i| 0.05 * i as f64).collect::<Vec<f64>>(), [8]),
            device,
        );
        Self {
            omega: vec![1.0, 2.5],
            w1,
            b1,
            w2,
            b2,
            w3,
            ones: Tensor::ones([8, 8], device),
            wout,
        }
    }

    /// Fourier features → linear → tanh → LayerNorm → linear + residual → gate (sigmoid) →
    /// WaveAct (a·sin + b·cos) → softmax over features → linear → exp → output.
    fn forward(&self, x: Jet<2>, y: Jet<2>) -> Jet<2> {
        let mut features = vec![x.clone(), y.clone()];
        for &w in &self.omega {
            features.push(x.scale(w).sin());
            features.push(y.scale(w).cos());
        }
        let h0 = Jet::cat(&features);
        let h1 = h0.linear(&self.w1, Some(&self.b1)).tanh();
        let h1 = h1.normalize(1e-5);
        let h2 = h1.linear(&self.w2, Some(&self.b2)).add(&h1);
        let gate = h2.scale(-1.0).exp().map_linear(|c| c, |c| c + 1.0).recip();
        let h3 = h2.mul(&gate);
        let wave = h3.linear(&self.w3, None);
        let h4 = wave.sin().scale(0.7).add(&wave.cos().scale(0.3));
        let e = h4.exp();
        let softmax = e.mul(&e.linear(&self.ones, None).recip());
        softmax.linear(&self.wout, None).scale(3.0).exp()
    }
}

/// max |a − b| over the points, relative to max |b| (floored at 1e-3 for vanishing derivatives).
fn max_relative_difference(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max)
        / scale
}

type Plain<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;

/// ∂ₓᵃ∂ᵧᵇ by nested 8th-order central differences (step h) of a plain evaluation.
/// `h` trades truncation (∝ h⁸) against rounding (∝ h⁻ᵃ⁻ᵇ).
fn finite_difference(net: Plain, x: &[f64], y: &[f64], a: usize, b: usize, h: f64) -> Vec<f64> {
    const C: [f64; 4] = [4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0];
    if a == 0 && b == 0 {
        return net(x, y);
    }
    let (da, db, dx, dy) = if a > 0 {
        (a - 1, b, h, 0.0)
    } else {
        (a, b - 1, 0.0, h)
    };
    let mut acc = vec![0.0; x.len()];
    for (i, c) in C.iter().enumerate() {
        let s = (i + 1) as f64;
        let shift =
            |v: &[f64], d: f64, sign: f64| v.iter().map(|t| t + sign * s * d).collect::<Vec<_>>();
        let plus = finite_difference(net, &shift(x, dx, 1.0), &shift(y, dy, 1.0), da, db, h);
        let minus = finite_difference(net, &shift(x, dx, -1.0), &shift(y, dy, -1.0), da, db, h);
        for k in 0..x.len() {
            acc[k] += c * (plus[k] - minus[k]) / h;
        }
    }
    acc
}

/// Points where the networks' jets are checked (away from the origin and the axes, where
/// odd derivatives could vanish by symmetry).
const XS: [f64; 3] = [-0.4, 0.1, 0.35];
const YS: [f64; 3] = [0.25, -0.3, 0.6];

#[test]
fn network_jets_match_finite_differences_for_every_layer_type() {
    let device = device();
    let net = Net::new(&device);
    let (xs, ys) = (XS, YS);
    let layout = JetLayout::new(2, 4).unwrap();
    let value_only = JetLayout::new(2, 0).unwrap();
    let u = net.forward(
        Jet::coordinate(&layout, column(&xs, &device), 0).unwrap(),
        Jet::coordinate(&layout, column(&ys, &device), 1).unwrap(),
    );
    let mut worst: f64 = 0.0;
    for (a, b) in [
        (1, 0),
        (0, 1),
        (2, 0),
        (1, 1),
        (0, 2),
        (3, 0),
        (2, 1),
        (4, 0),
        (2, 2),
        (0, 4),
    ] {
        let jet = read(u.derivative(a, b).unwrap());
        let plain = |x: &[f64], y: &[f64]| {
            read(
                net.forward(
                    Jet::constant(&value_only, column(x, &device)),
                    Jet::constant(&value_only, column(y, &device)),
                )
                .value(),
            )
        };
        let fd = finite_difference(&plain, &xs, &ys, a, b, 0.01);
        let err = max_relative_difference(&jet, &fd);
        println!(
            "network ∂x^{a}∂y^{b}: jet vs finite differences, max relative difference {err:.1e}"
        );
        worst = worst.max(err);
    }
    assert!(worst < 1e-5, "{worst:e}");
}

/// A layout that carries only what a residual asks for (and what that hangs on) must give
/// exactly the full layout's derivatives: its coefficients are closed under every jet operation.
#[test]
fn covering_layouts_give_the_full_layouts_derivatives_exactly() {
    let device = device();
    let net = Net::new(&device);
    let (xs, ys) = (XS, YS);
    let at = |layout: &std::sync::Arc<JetLayout>| {
        net.forward(
            Jet::coordinate(layout, column(&xs, &device), 0).unwrap(),
            Jet::coordinate(layout, column(&ys, &device), 1).unwrap(),
        )
    };
    let full = at(&JetLayout::new(2, 4).unwrap());
    // What is asked, and one index just outside its downward closure: a Laplacian's jet has
    // no ∂ₓᵧ, chromatin's no ∂ₓ³∂ᵧ, a lone ∂ᵧ no ∂ₓ.
    for (asked, outside) in [
        (vec![[2, 0], [0, 2]], [1, 1]),
        (vec![[1, 0], [0, 1], [4, 0], [2, 2], [0, 4]], [3, 1]),
        (vec![[0, 1]], [1, 0]),
    ] {
        let layout = JetLayout::covering(2, asked.iter().copied()).unwrap();
        let part = at(&layout);
        for &[a, b] in &asked {
            assert_eq!(
                read(part.derivative(a, b).unwrap()),
                read(full.derivative(a, b).unwrap()),
                "∂x^{a}∂y^{b} from the layout covering {asked:?}"
            );
        }
        assert!(
            layout.index(outside[0], outside[1]).is_none(),
            "{asked:?} carries {outside:?}"
        );
    }
}

#[test]
fn model_jets_match_finite_differences() {
    use mollify_core::model::{Arch, Network};
    let device = device();
    let (xs, ys) = (XS, YS);
    let layout = JetLayout::new(2, 4).unwrap();
    for arch in Arch::ALL {
        let net = Network::new(arch, 2, 16, 3, 5, &device);
        let jets = net.forward(&[
            Jet::coordinate(&layout, column(&xs, &device), 0).unwrap(),
            Jet::coordinate(&layout, column(&ys, &device), 1).unwrap(),
        ]);
        let u = jets.map_linear(|c| c.narrow(1, 0, 1), |c| c);

        let plain = |x: &[f64], y: &[f64]| {
            read(
                net.forward(&[column(x, &device), column(y, &device)])
                    .narrow(1, 0, 1),
            )
        };
        for (a, b) in [(1, 0), (0, 2), (1, 1), (2, 2), (4, 0)] {
            let jet = read(u.derivative(a, b).unwrap());
            let fd = finite_difference(&plain, &xs, &ys, a, b, 0.003);
            let err = max_relative_difference(&jet, &fd);
            println!(
                "{} ∂x^{a}∂y^{b}: jet vs finite differences {err:.1e}",
                arch.name()
            );
            // h = 0.003: the PINN's Fourier features (ω up to 6) make its high derivatives
            // large, and the 8th-order differences need the smaller step (h = 0.01 left a
            // truncation error of 5e-5 at fourth order).
            assert!(err < 1e-5, "{} ∂x^{a}∂y^{b}: {err:e}", arch.name());
        }
    }
}
