//! The data flow simulate → dataset → mollifier derivatives → residual, on burn tensors: each
//! problem's clean simulated solution with its true parameter gives a residual that is small
//! against the size of the equation's terms, and a wrong parameter does not.
#![cfg(not(target_arch = "wasm32"))]

use burn::tensor::{Device, Tensor, TensorData};
use mollify_core::problems::{Observation, Size, chromatin, heat, langevin};
use mollify_core::{Deriv2, KernelFamily, Mollifier, MollifierConfig};

fn rms(t: Tensor<2>) -> f64 {
    let v = t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

fn tensor2(v: &[f64], n: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [n, n]), device)
}

/// Crops a full-grid field to the operator's Valid interior.
fn crop(t: Tensor<2>, m: [usize; 2]) -> Tensor<2> {
    let [ny, nx] = t.dims();
    t.slice([m[0]..ny - m[0], m[1]..nx - m[1]])
}

fn config(size: usize) -> MollifierConfig {
    MollifierConfig {
        family: KernelFamily::Bump,
        size,
        ..MollifierConfig::default()
    }
}

/// The chromatin residual from [u, ∂ₓ, ∂ᵧ, ∇², ∇⁴] of φ_d and φ_w (the first four) and Γ.
fn chromatin_residual(
    p: &chromatin::Params,
    d: &[Tensor<2>],
    w: &[Tensor<2>],
    gamma: Tensor<2>,
) -> Tensor<2> {
    chromatin::residual(
        p,
        chromatin::Fields {
            phi_d: d[0].clone(),
            phi_d_x: d[1].clone(),
            phi_d_y: d[2].clone(),
            lap_phi_d: d[3].clone(),
            bih_phi_d: d[4].clone(),
            phi_w: w[0].clone(),
            phi_w_x: w[1].clone(),
            phi_w_y: w[2].clone(),
            lap_phi_w: w[3].clone(),
            gamma,
        },
    )
}

#[test]
fn heat_residual_vanishes_for_the_true_conductivity() {
    let device = Device::flex();
    let ds = heat::simulate(
        heat::Case::Smooth,
        heat::Form::NonDivergence,
        Size::Quick,
        &Observation::default(),
    )
    .unwrap();
    let n = ds.grid.x().n;
    let h = ds.grid.x().step;
    let op = Mollifier::new_2d(config(7), h, h, &device).unwrap();
    let m = op.margin_2d(&[Deriv2::Laplacian]).unwrap();
    let lap = op
        .derivatives_2d(
            tensor2(ds.field("T_clean").unwrap(), n, &device),
            &[Deriv2::Laplacian],
        )
        .unwrap()
        .remove(0);
    let k = crop(tensor2(ds.field("k").unwrap(), n, &device), m);
    let f = crop(tensor2(ds.field("f").unwrap(), n, &device), m);
    let zero = k.zeros_like();
    let r_true = rms(heat::residual(
        heat::Form::NonDivergence,
        k.clone(),
        lap.clone(),
        zero.clone(),
        f.clone(),
    ));
    let r_wrong = rms(heat::residual(
        heat::Form::NonDivergence,
        k.ones_like(),
        lap,
        zero,
        f.clone(),
    ));
    let scale = rms(f);
    println!(
        "heat: RMS residual {r_true:.3e} with the true k, {r_wrong:.3e} with k = 1 (source RMS {scale})"
    );
    assert!(r_true < 0.02 * scale, "{r_true}");
    assert!(r_wrong > 10.0 * r_true);
}

#[test]
fn langevin_residual_vanishes_for_the_true_forcing() {
    let device = Device::flex();
    let p = langevin::Params::default();
    let ds = langevin::simulate(
        langevin::Case::Varying,
        Size::Paper,
        &p,
        &Observation::default(),
    )
    .unwrap();
    let n = ds.grid.x().n;
    let op = Mollifier::new_1d(config(11), ds.grid.x().step, &device).unwrap();
    let m = op.margin_1d(&[0, 1]).unwrap();
    let v = Tensor::<1>::from_data(
        TensorData::new(ds.field("v_clean").unwrap().to_vec(), [n]),
        &device,
    );
    let out = op.derivatives_1d(v, &[0, 1]).unwrap();
    let forcing = Tensor::<1>::from_data(
        TensorData::new(ds.field("F").unwrap()[m..n - m].to_vec(), [n - 2 * m]),
        &device,
    );
    let r = langevin::residual(out[0].clone(), out[1].clone(), forcing.clone(), p.gamma);
    let r = rms(r.reshape([1, n - 2 * m]));
    let scale = rms(forcing.reshape([1, n - 2 * m]));
    println!("langevin: RMS residual {r:.3e} against forcing RMS {scale:.3}");
    assert!(r < 1e-3 * scale, "{r}");
}

#[test]
fn chromatin_residual_vanishes_for_the_true_methylation_rate() {
    let device = Device::flex();
    let p = chromatin::Params::default();
    let ds = chromatin::simulate(
        chromatin::Case::Patterned,
        chromatin::Layout::Smooth,
        Size::Paper,
        &p,
        &Observation::default(),
    )
    .unwrap();
    let n = ds.grid.x().n;
    let h = ds.grid.x().step;
    let op = Mollifier::new_2d(config(9), h, h, &device).unwrap();
    let wanted = [
        Deriv2::U,
        Deriv2::X,
        Deriv2::Y,
        Deriv2::Laplacian,
        Deriv2::Biharmonic,
    ];
    let m = op.margin_2d(&wanted).unwrap();
    let d = op
        .derivatives_2d(
            tensor2(ds.field("phi_d_clean").unwrap(), n, &device),
            &wanted,
        )
        .unwrap();
    // Same request as for φ_d, so both come back on the same (biharmonic-sized) interior.
    let w = op
        .derivatives_2d(tensor2(ds.field("phi_w").unwrap(), n, &device), &wanted)
        .unwrap();
    let gamma = crop(tensor2(ds.field("gamma").unwrap(), n, &device), m);
    let reaction_scale = rms((gamma.clone() + 1.0) * d[0].clone());
    let r_true = rms(chromatin_residual(&p, &d, &w, gamma.clone()));
    let r_wrong = rms(chromatin_residual(&p, &d, &w, gamma.ones_like()));
    println!(
        "chromatin: RMS residual {r_true:.3e} with the true Γ, {r_wrong:.3e} with Γ = 1 (reaction RMS {reaction_scale:.3})"
    );
    assert!(r_true < 0.02 * reaction_scale, "{r_true}");
    assert!(r_wrong > 10.0 * r_true);
}

/// One mollified field per residual (`one_field`): on the droplet steady state (sharp
/// interfaces, l²∇⁴φ_d the leading term), the residual from the mollifier's derivatives is the
/// exact (spectral) residual of the one smoothed field S(φ) the operator's value output is — the
/// smoothing bias and nothing else. The default chains take orders ≤ 2 of g∗φ beside ∇⁴ of
/// g∗φ∗φ: two different fields, whose residual misses S(φ)'s by the size of the bias.
#[test]
fn chromatin_residual_of_one_mollified_field_is_the_smoothing_bias() {
    let device = Device::flex();
    let p = chromatin::Params::default();
    let ds = chromatin::simulate(
        chromatin::Case::Patterned,
        chromatin::Layout::Droplets,
        Size::Quick,
        &p,
        &Observation::default(),
    )
    .unwrap();
    let n = ds.grid.x().n;
    let h = ds.grid.x().step;
    let p = chromatin::Params {
        domain: ds.meta_f64("domain").unwrap(),
        ..p
    };
    let all = [
        Deriv2::U,
        Deriv2::X,
        Deriv2::Y,
        Deriv2::Laplacian,
        Deriv2::Biharmonic,
    ];
    let vec = |t: Tensor<2>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let residual = |d: &[Tensor<2>], w: &[Tensor<2>]| {
        let gamma = tensor2(ds.field("gamma").unwrap(), n, &device);
        vec(chromatin_residual(&p, d, w, gamma))
    };
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let diff = |a: &[f64], b: &[f64]| {
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        rms(&d)
    };
    // The exact residual of a smoothed pair, from their spectral derivatives.
    let spectral = |t: &Tensor<2>| {
        let v = vec(t.clone());
        let [dx, dy, lap, bih] = chromatin::spectral_derivatives(&v, n, p.domain);
        [v, dx, dy, lap, bih].map(|f| tensor2(&f, n, &device))
    };
    // From 9 points on, the stencils resolve S(φ) (at 5–7 their own discretisation error is
    // a third of the bias: measured 3.3e-2 and 2.7e-2 against 1.0e-1).
    for size in [9, 11, 15] {
        let run = |one_field| {
            let op = Mollifier::new_2d(
                MollifierConfig {
                    boundary: mollify_core::Boundary::Periodic,
                    one_field,
                    ..config(size)
                },
                h,
                h,
                &device,
            )
            .unwrap();
            let field = |name| tensor2(ds.field(name).unwrap(), n, &device);
            let d = op.derivatives_2d(field("phi_d_clean"), &all).unwrap();
            let w = op.derivatives_2d(field("phi_w"), &all).unwrap();
            let r = residual(&d, &w);
            let bias = residual(&spectral(&d[0]), &spectral(&w[0]));
            (r, bias)
        };
        let (r_one, bias_one) = run(true);
        let (r_mixed, bias_mixed) = run(false);
        let (off_one, off_mixed) = (diff(&r_one, &bias_one), diff(&r_mixed, &bias_mixed));
        println!(
            "droplets, kernel {size}: RMS residual of the true state: one field {:.3e} (its field's smoothing bias {:.3e}, \
             off by {off_one:.3e}), mixed chains {:.3e} (their value field's bias {:.3e}, off by {off_mixed:.3e})",
            rms(&r_one),
            rms(&bias_one),
            rms(&r_mixed),
            rms(&bias_mixed)
        );
        assert!(off_one < 0.2 * rms(&bias_one), "{off_one}");
        assert!(off_mixed > 3.0 * off_one, "{off_mixed}");
        assert!(rms(&r_one) < rms(&r_mixed));
    }
}
