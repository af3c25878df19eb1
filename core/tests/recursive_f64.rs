//! The recursive reverse-mode engine (nested autodiff backends) against Taylor-mode jets, which
//! `jets_f64` checks against closed forms and finite differences: values, every derivative a
//! residual asks for, and the weights' gradient of a loss built from them, on every
//! architecture, in f64.
#![cfg(not(target_arch = "wasm32"))]

use burn::module::Module;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use mollify_core::Deriv2;
use mollify_core::engine::Request;
use mollify_core::engine::recursive;
use mollify_core::model::{Arch, Network};
use mollify_core::numerics::jet::{Jet, JetLayout};

/// The CPU device in f64. Every test of this process goes through here: tests run in parallel,
/// and whichever first touches the device fixes its dtype for the whole process.
fn flex_f64() -> Device {
    let mut device = Device::flex();
    let _ = device.configure(FloatDType::F64);
    assert_eq!(device.settings().float_dtype, FloatDType::F64);
    device
}

fn device() -> Device {
    flex_f64().autodiff()
}

fn column(v: &[f64], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1]), device)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn flat(t: Tensor<2>) -> Tensor<1> {
    let n = t.dims()[0];
    t.reshape([n])
}

fn max_relative_difference(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs() / scale))
}

/// Every parameter gradient of `loss`, concatenated in visiting order.
fn weight_gradients(net: &Network, loss: Tensor<1>) -> Vec<f64> {
    let grads = loss.backward();
    let mut out = Vec::new();
    struct Collect<'a> {
        grads: &'a burn::tensor::Gradients,
        out: &'a mut Vec<f64>,
    }
    impl burn::module::ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if let Some(g) = param.val().grad(self.grads) {
                self.out.extend(read(g));
            }
        }
    }
    net.visit(&mut Collect {
        grads: &grads,
        out: &mut out,
    });
    out
}

#[test]
fn recursive_derivatives_and_weight_gradients_match_jets() {
    let device = device();
    let xs = [-0.4, 0.1, 0.35, 0.8];
    let ys = [0.25, -0.3, 0.6, -0.9];
    // Physical coordinates map to the network's by a non-trivial affine map, as in training.
    let normalise = [(1.5, -0.2), (0.8, 0.1)];
    let request = Request::new(
        [Deriv2::X, Deriv2::Y, Deriv2::Laplacian, Deriv2::Biharmonic],
        [Deriv2::X, Deriv2::Y],
    );
    let layout = JetLayout::new(2, 4).unwrap();
    for arch in Arch::ALL {
        let net = Network::new(arch, 2, 16, 4, 3, &device);
        let coords = [column(&xs, &device), column(&ys, &device)];
        let rec = recursive::derivatives(&net, &coords, &normalise, &request).unwrap();

        let inputs: Vec<Jet<2>> = coords
            .iter()
            .zip(normalise)
            .enumerate()
            .map(|(k, (c, (s, o)))| {
                Jet::coordinate(&layout, c.clone(), k)
                    .unwrap()
                    .map_linear(|c| c * s, |c| c + o)
            })
            .collect();
        let out = net.forward(&inputs);
        let u = out.map_linear(|c| c.narrow(1, 0, 1), |c| c);
        let p = out.map_linear(|c| c.narrow(1, 1, 1), |c| c);
        let d = |j: &Jet<2>, a, b| flat(j.derivative(a, b).unwrap());
        let pairs = [
            ("u", rec.u.get(Deriv2::U).unwrap(), flat(u.value())),
            ("p", rec.p.get(Deriv2::U).unwrap(), flat(p.value())),
            ("u_x", rec.u.get(Deriv2::X).unwrap(), d(&u, 1, 0)),
            ("u_y", rec.u.get(Deriv2::Y).unwrap(), d(&u, 0, 1)),
            (
                "lap",
                rec.u.get(Deriv2::Laplacian).unwrap(),
                d(&u, 2, 0) + d(&u, 0, 2),
            ),
            (
                "bih",
                rec.u.get(Deriv2::Biharmonic).unwrap(),
                d(&u, 4, 0) + d(&u, 2, 2) * 2.0 + d(&u, 0, 4),
            ),
            ("p_x", rec.p.get(Deriv2::X).unwrap(), d(&p, 1, 0)),
            ("p_y", rec.p.get(Deriv2::Y).unwrap(), d(&p, 0, 1)),
        ];
        for (name, r, t) in pairs {
            let (r, t) = (read(r), read(t));
            let err = max_relative_difference(&r, &t);
            println!("{} {name}: recursive vs Taylor {err:.1e}", arch.name());
            assert!(
                t.iter().any(|v| v.abs() > 1e-6),
                "{name} vanishes: the check would be empty"
            );
            assert!(err < 1e-9, "{} {name}: {err:e}", arch.name());
        }

        // The weights' gradient of a loss on the fourth-order term, through both towers.
        let bih_t = d(&u, 4, 0) + d(&u, 2, 2) * 2.0 + d(&u, 0, 4);
        let loss = |b: Tensor<1>| (b.clone() * b).mean();
        let g_rec = weight_gradients(&net, loss(rec.u.get(Deriv2::Biharmonic).unwrap()));
        let g_tay = weight_gradients(&net, loss(bih_t));
        assert_eq!(g_rec.len(), g_tay.len());
        assert!(g_tay.iter().any(|v| v.abs() > 1e-8));
        let err = max_relative_difference(&g_rec, &g_tay);
        println!(
            "{} dL/dθ of mean(∇⁴u²) ({} weights): recursive vs Taylor {err:.1e}",
            arch.name(),
            g_rec.len()
        );
        // PirateNet (no LayerNorm) agrees to ~3e-16; through LayerNorm the fifth-order terms
        // of (σ² + ε)^(−1/2) are ill-conditioned and the two summation orders part at ~1e-8
        // of the largest gradient (a wrong rule would differ at O(1)).
        assert!(err < 1e-6, "{}: {err:e}", arch.name());
    }
}

#[test]
fn one_dimensional_first_derivative_matches_jets() {
    let device = device();
    let ts = [0.0, 0.3, 1.1, 2.5];
    let normalise = [(0.4, -1.0)];
    let layout = JetLayout::new(1, 1).unwrap();
    for arch in Arch::ALL {
        let net = Network::new(arch, 1, 16, 3, 8, &device);
        let t = column(&ts, &device);
        let request = Request::new([Deriv2::X], []);
        let rec =
            recursive::derivatives(&net, std::slice::from_ref(&t), &normalise, &request).unwrap();
        let jet = Jet::coordinate(&layout, t, 0)
            .unwrap()
            .map_linear(|c| c * 0.4, |c| c - 1.0);
        let out = net.forward(&[jet]).map_linear(|c| c.narrow(1, 0, 1), |c| c);
        let err = max_relative_difference(
            &read(rec.u.get(Deriv2::X).unwrap()),
            &read(flat(out.derivative(1, 0).unwrap())),
        );
        println!("{} u_t: recursive vs Taylor {err:.1e}", arch.name());
        assert!(err < 1e-9, "{}: {err:e}", arch.name());
    }
}

#[test]
fn devices_other_than_the_cpu_are_refused_with_a_reason() {
    // The engine reads primitives of the CPU autodiff backend; a non-autodiff tensor is not one.
    let plain = flex_f64();
    let net = Network::new(Arch::Pinn, 1, 8, 2, 0, &plain);
    let err = recursive::derivatives(
        &net,
        &[column(&[0.0, 1.0], &plain)],
        &[(1.0, 0.0)],
        &Request::new([Deriv2::X], []),
    )
    .unwrap_err();
    assert!(err.to_string().contains("recursive engine"), "{err}");
}
