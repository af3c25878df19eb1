//! Engines, models and the training loop on the CPU backend.
#![cfg(not(target_arch = "wasm32"))]

use burn::tensor::{Device, Tensor, TensorData};
use futures_lite::future::block_on;
use std::collections::BTreeSet;

use mollify_core::engine::{self, Engine, EngineKind, Net, Request, Setup};
use mollify_core::model::{Arch, FOURIER_MAX, PinnConfig, seeded};
use mollify_core::numerics::jet::{Jet, JetLayout};
use mollify_core::problems::{Observation, Size, chromatin, heat, langevin, ode};
use mollify_core::train::{RunConfig, Trainer};
use mollify_core::{
    Axis, Boundary, Dataset, Deriv2, Grid, KernelFamily, Mollifier, MollifierConfig,
};

fn read<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

/// The Laplacian of one smooth network from the three engines: Taylor-mode jets (exact),
/// the mollifier (exact derivative of the smoothed field) and central differences agree
/// within the mollifier's smoothing bias and the difference quotient's truncation error.
#[test]
fn engines_agree_on_the_laplacian_of_a_smooth_network() {
    let device = Device::flex();
    let model = seeded(&device, 3, || {
        PinnConfig::new(2)
            .with_outputs(1)
            .with_fourier(2)
            .with_fourier_max(2.0)
            .init(&device)
    });
    let n = 160;
    let h = 2.0 / (n - 1) as f64;
    let coords: Vec<f64> = (0..n).map(|i| -1.0 + h * i as f64).collect();
    let column = |f: &dyn Fn(usize) -> f64| {
        Tensor::<2>::from_data(
            TensorData::new((0..n * n).map(f).collect::<Vec<f64>>(), [n * n, 1]),
            &device,
        )
    };
    let x = column(&|p| coords[p % n]);
    let y = column(&|p| coords[p / n]);
    // Taylor mode.
    let layout = JetLayout::new(2, 2).unwrap();
    let u = model.forward(&[
        Jet::coordinate(&layout, x.clone(), 0).unwrap(),
        Jet::coordinate(&layout, y.clone(), 1).unwrap(),
    ]);
    let taylor = read(u.derivative(2, 0).unwrap() + u.derivative(0, 2).unwrap());
    let plain = model.forward(&[x, y]).reshape([n, n]);
    // Mollifier.
    let cfg = MollifierConfig {
        family: KernelFamily::Bump,
        size: 7,
        ..MollifierConfig::default()
    };
    let op = Mollifier::new_2d(cfg, h, h, &device).unwrap();
    let m = op.margin_2d(&[Deriv2::Laplacian]).unwrap()[0];
    let moll = read(
        op.derivatives_2d(plain.clone(), &[Deriv2::Laplacian])
            .unwrap()
            .remove(0),
    );
    // Central differences.
    let g = read(plain);
    let inner = |j: usize, i: usize| (j - m) * (n - 2 * m) + (i - m);
    let (mut e_moll, mut e_fd, mut scale) = (0.0f64, 0.0f64, 0.0f64);
    for j in m..n - m {
        for i in m..n - m {
            let t = taylor[j * n + i];
            let fd =
                (g[j * n + i + 1] + g[j * n + i - 1] + g[(j + 1) * n + i] + g[(j - 1) * n + i]
                    - 4.0 * g[j * n + i])
                    / (h * h);
            e_moll = e_moll.max((moll[inner(j, i)] - t).abs());
            e_fd = e_fd.max((fd - t).abs());
            scale = scale.max(t.abs());
        }
    }
    println!(
        "Laplacian of a PINN: mollifier vs Taylor {:.2e}, central FD vs Taylor {:.2e} (of max {scale:.2})",
        e_moll / scale,
        e_fd / scale
    );
    assert!(e_moll < 0.05 * scale, "{}", e_moll / scale);
    assert!(e_fd < 0.05 * scale, "{}", e_fd / scale);
}

/// `Boundary::Network` evaluates the network on a halo around the grid: on grid G it must give
/// exactly what `Valid` gives on G extended by the kernel's reach (same network, same physical
/// coordinates), with the parameter read on G itself, and extend data fields (no halo) as
/// `Extrapolate` does — in 2D and 1D.
#[test]
fn the_network_boundary_is_valid_on_the_grid_extended_by_the_halo() {
    let device = Device::flex();
    let (n, size) = (24, 7);
    for dims in [2, 1] {
        let request = Request::new([Deriv2::Laplacian, Deriv2::X], [Deriv2::X]);
        let request = if dims == 2 {
            request
        } else {
            Request::new([Deriv2::Xx], [Deriv2::X])
        };
        let model = RunConfig::new().model.init(dims, &device);
        let grid = |r: usize| {
            let x = Axis {
                name: "x".into(),
                n: n + 2 * r,
                start: 0.1 - 0.05 * r as f64,
                step: 0.05,
            };
            if dims == 2 {
                let y = Axis {
                    name: "y".into(),
                    n: n + 2 * r,
                    start: -0.3 - 0.04 * r as f64,
                    step: 0.04,
                };
                Grid::d2(y, x)
            } else {
                Grid::d1(x)
            }
        };
        let derivs = |grid: &Grid, boundary: Boundary| {
            let setup = Setup {
                grid,
                request: &request,
                known: &BTreeSet::new(),
                mollifier: MollifierConfig {
                    size,
                    boundary,
                    ..MollifierConfig::default()
                },
                device: &device,
            };
            let engine = engine::build(EngineKind::Mollifier, &setup).unwrap();
            let points = engine::coordinates(grid, [0, 0], &device);
            let net = Net {
                model: &model,
                points: &points,
                normalise: &[(1.5, -0.2), (1.2, 0.1)][..dims],
                shape: grid.shape_2d(),
                scale: (2.0, 0.5),
            };
            let d = engine.derivatives(&net).unwrap();
            (engine, d)
        };
        let r = derivs(&grid(0), Boundary::Valid).0.margin()[1];
        assert!(r >= size / 2);
        let (engine, halo) = derivs(&grid(0), Boundary::Network);
        let (_, wide) = derivs(&grid(r), Boundary::Valid);
        assert_eq!(engine.margin(), [0, 0], "the whole grid has u");
        // Data fields have no halo: they are extended as under Extrapolate.
        let values: Vec<f64> = (0..n.pow(dims as u32))
            .map(|p| (0.3 * p as f64).sin())
            .collect();
        let known = |e: &dyn Engine| e.known(&values, &request.u, &|_| None).unwrap();
        let data = known(engine.as_ref());
        let extrapolated = known(derivs(&grid(0), Boundary::Extrapolate).0.as_ref());
        for (field, a, b) in [
            ("u", &halo.u, &wide.u),
            ("p", &halo.p, &wide.p),
            ("a known field", &data, &extrapolated),
        ] {
            for (d, t) in a.iter() {
                let (x, y) = (read(t), read(b.get(d).unwrap()));
                assert_eq!(x.len(), n.pow(dims as u32), "{field} {d:?} covers the grid");
                let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let err = x
                    .iter()
                    .zip(&y)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    err <= 1e-5 * scale,
                    "{dims}D {field} {d:?}: {err:e} of {scale:e}"
                );
            }
        }
    }
}

/// A known field whose exact derivatives the problem gives (φ_w on chromatin's periodic square)
/// reaches the mollifier's residual as those, value and derivatives unsmoothed and cropped to
/// the evaluation points; without them it is smoothed by the kernel.
#[test]
fn the_mollifier_takes_a_known_fields_exact_derivatives_where_they_exist() {
    let device = Device::flex();
    let n = 20;
    let axis = |name: &str| Axis {
        name: name.into(),
        n,
        start: 0.0,
        step: 0.1,
    };
    let grid = Grid::d2(axis("y"), axis("x"));
    let request = Request::new([Deriv2::Laplacian], []);
    let keys: BTreeSet<Deriv2> = [Deriv2::U, Deriv2::Laplacian].into();
    let values: Vec<f64> = (0..n * n).map(|p| (0.7 * p as f64).sin()).collect();
    // Not the Laplacian of `values`: only its passing through unchanged is checked.
    let lap: Vec<f64> = (0..n * n).map(|p| p as f64).collect();
    let exact = |d: Deriv2| (d == Deriv2::Laplacian).then(|| lap.clone());
    for boundary in [Boundary::Periodic, Boundary::Valid] {
        let setup = Setup {
            grid: &grid,
            request: &request,
            known: &keys,
            mollifier: MollifierConfig {
                size: 5,
                boundary,
                ..MollifierConfig::default()
            },
            device: &device,
        };
        let engine = engine::build(EngineKind::Mollifier, &setup).unwrap();
        let [my, mx] = engine.margin();
        let inner = |v: &[f64]| -> Vec<f64> {
            (my..n - my)
                .flat_map(|i| (mx..n - mx).map(move |j| i * n + j))
                .map(|p| v[p])
                .collect()
        };
        let given = engine.known(&values, &keys, &exact).unwrap();
        for (d, want) in [
            (Deriv2::U, inner(&values)),
            (Deriv2::Laplacian, inner(&lap)),
        ] {
            let got = read(given.get(d).unwrap());
            assert_eq!(got.len(), want.len(), "{boundary:?} {d:?}");
            for (a, b) in got.iter().zip(&want) {
                let tol = 1e-6 * b.abs().max(1.0);
                assert!((a - b).abs() <= tol, "{boundary:?} {d:?}: {a} vs {b}");
            }
        }
        let smoothed = engine.known(&values, &keys, &|_| None).unwrap();
        let u = read(smoothed.get(Deriv2::U).unwrap());
        let off = u
            .iter()
            .zip(inner(&values))
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            off > 0.1,
            "{boundary:?}: smoothing changed the value by only {off}"
        );
    }
}

fn datasets() -> Vec<Dataset> {
    let obs = Observation::default();
    vec![
        langevin::simulate(
            langevin::Case::Varying,
            Size::Quick,
            &langevin::Params::default(),
            &obs,
        )
        .unwrap(),
        heat::simulate(
            heat::Case::Smooth,
            heat::Form::Divergence,
            Size::Quick,
            &obs,
        )
        .unwrap(),
        chromatin::simulate(
            chromatin::Case::Patterned,
            // The smooth layout: these tests exercise the training machinery in 40 steps, and
            // on the droplets PirateNet's gated start needs more (measured: loss 11.3 → 9.7).
            chromatin::Layout::Smooth,
            Size::Quick,
            &chromatin::Params::default(),
            &obs,
        )
        .unwrap(),
        ode::simulate(Size::Quick, &ode::Params::default()).unwrap(),
    ]
}

/// Runs too costly for a CI test on the 2-core machine (measured: PINNsFormer jets on heat
/// 1.1 s/step; recursive order-4 towers on 4096 points need gigabytes). Their derivatives are
/// checked exactly in `jets_f64` and `recursive_f64`; their costs are `mollify bench`'s job.
fn too_costly_for_ci(ds: &Dataset, engine: EngineKind, arch: Arch) -> bool {
    let two_d = ds.grid.ndim() == 2;
    let traced = matches!(engine, EngineKind::Taylor | EngineKind::Recursive);
    (arch == Arch::PinnsFormer && two_d && traced)
        || (engine == EngineKind::Recursive && ds.problem == "chromatin")
}

#[test]
fn every_engine_trains_every_problem() {
    for ds in datasets() {
        let runs = EngineKind::ALL
            .into_iter()
            .flat_map(|e| Arch::ALL.map(|a| (e, a)))
            .filter(|&(e, a)| !too_costly_for_ci(&ds, e, a));
        for (engine, arch) in runs {
            let mut config = RunConfig::new()
                .with_engine(engine)
                .with_arch(arch)
                .with_steps(40)
                .with_width(32)
                .with_depth(3);
            if ds.problem == "ode" {
                // The only datum is u(0), inside the Valid margin: pad instead.
                config.mollifier.boundary = Some(mollify_core::Boundary::Extrapolate);
            }
            let mut trainer = Trainer::new(&ds, config, &Device::flex()).unwrap();
            let first = block_on(trainer.step()).unwrap();
            let mut last = first;
            for _ in 1..40 {
                last = block_on(trainer.step()).unwrap();
            }
            let name = format!("{} {} {}", ds.problem, arch.name(), engine.name());
            println!(
                "{name}: loss {:.3e} → {:.3e} in 40 steps ({:.1} ms/step)",
                first.loss,
                last.loss,
                1e3 * last.seconds
            );
            assert!(
                last.loss < 0.75 * first.loss,
                "{name}: {} → {}",
                first.loss,
                last.loss
            );
        }
    }
}

/// The two autodiff engines compute the same derivatives by different means (forward jets,
/// nested reverse passes), so from the same seed they take the same steps.
#[test]
fn taylor_and_recursive_engines_take_the_same_steps() {
    for ds in &datasets()[..2] {
        let losses = |engine| {
            let config = RunConfig::new()
                .with_engine(engine)
                .with_width(16)
                .with_depth(2)
                .with_seed(4);
            let mut t = Trainer::new(ds, config, &Device::flex()).unwrap();
            (0..5)
                .map(|_| block_on(t.step()).unwrap().loss)
                .collect::<Vec<f64>>()
        };
        let (taylor, recursive) = (losses(EngineKind::Taylor), losses(EngineKind::Recursive));
        println!(
            "{}: Taylor {taylor:?}\n   recursive {recursive:?}",
            ds.problem
        );
        for (a, b) in taylor.iter().zip(&recursive) {
            assert!(
                (a - b).abs() <= 1e-4 * a.abs(),
                "{}: {a} vs {b}",
                ds.problem
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let ds = &datasets()[1];
    let run = || {
        let mut t = Trainer::new(
            ds,
            RunConfig::new()
                .with_steps(5)
                .with_width(16)
                .with_depth(2)
                .with_seed(9),
            &Device::flex(),
        )
        .unwrap();
        (0..5)
            .map(|_| block_on(t.step()).unwrap().loss)
            .collect::<Vec<f64>>()
    };
    assert_eq!(run(), run());
}

/// The bar: quick heat at 5 % observation noise, 500 steps, the mollifier PINN with
/// heat's own Fourier bandwidth (features to 3, which the trainer resolves and saves): k,
/// ∇²T and the separable k̂ all correlate ≥ 0.95 with the truth (data seed 0, network seeds
/// 0–3 by the CLI: k 0.962–0.975, ∇²T 0.968–0.976, k̂ 0.961–0.972; with features to 6, the
/// old default, k 0.93 on five seeds). CPU training is chaotic in the summation order, which
/// the test harness's concurrency changes: the claim is on the median of three seeds.
#[test]
fn mollifier_pinn_recovers_conductivity_and_laplacian_from_noisy_samples() {
    let ds = heat::simulate(
        heat::Case::Smooth,
        heat::Form::NonDivergence,
        Size::Quick,
        &Observation {
            noise: 0.05,
            ..Observation::default()
        },
    )
    .unwrap();
    let steps = 500;
    let train = |seed: u64| {
        let mut config = RunConfig::new().with_steps(steps);
        config.model.seed = seed;
        let mut trainer = Trainer::new(&ds, config, &Device::flex()).unwrap();
        assert_eq!(trainer.config().model.fourier_max, Some(3.0));
        for _ in 0..steps {
            block_on(trainer.step()).unwrap();
        }
        let m = block_on(trainer.metrics()).unwrap().unwrap();
        let c = [
            m.correlation().unwrap(),
            m.intermediate_correlation().unwrap(),
            m.separable_correlation().unwrap(),
        ];
        println!(
            "heat 64², 5 % noise, mollifier PINN, seed {seed}: k, ∇²T, k̂ correlations {c:.3?}"
        );
        c
    };
    let runs: Vec<[f64; 3]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|seed| s.spawn(move || train(seed))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, what) in ["k", "∇²T", "separable k̂"].iter().enumerate() {
        let mut c: Vec<f64> = runs.iter().map(|r| r[i]).collect();
        c.sort_by(f64::total_cmp);
        assert!(c[1] >= 0.95, "{what}: median of {c:?}");
    }
}

/// Raw coordinates when the Fourier bandwidth is 0; a problem that names no bandwidth (the
/// toy ODE) runs with the default 6, and a bandwidth the run names is kept.
#[test]
fn fourier_bandwidth_zero_feeds_the_raw_coordinates() {
    let device = Device::flex();
    let net = PinnConfig::new(2).with_fourier_max(0.0).init(&device);
    let x = Tensor::<2>::zeros([3, 1], &device);
    assert_eq!(net.encode(&[x.clone(), x]).dims(), [3, 2]);
    let ds = ode::simulate(Size::Quick, &ode::Params::default()).unwrap();
    let fourier = |config: RunConfig| {
        let trainer = Trainer::new(&ds, config, &device).unwrap();
        trainer.config().model.fourier_max
    };
    assert_eq!(fourier(RunConfig::new()), Some(FOURIER_MAX));
    let mut config = RunConfig::new();
    config.model.fourier_max = Some(1.5);
    assert_eq!(fourier(config), Some(1.5));
}

/// Paper B.5: the mollifier layer also solves forward problems. u′ + u = sin 2t on [0, 5] from
/// the residual and the initial value alone.
#[test]
fn mollifier_solves_the_forward_toy_ode() {
    let ds = ode::simulate(Size::Quick, &ode::Params::default()).unwrap();
    let mut config = RunConfig::new().with_steps(3000).with_pde_weight(1.0);
    config.mollifier.boundary = Some(mollify_core::Boundary::Extrapolate);
    let mut trainer = Trainer::new(&ds, config, &Device::flex()).unwrap();
    for _ in 0..3000 {
        block_on(trainer.step()).unwrap();
    }
    let u = block_on(trainer.solution()).unwrap();
    let exact = ds.field("u_exact").unwrap();
    let err = (u
        .iter()
        .zip(exact)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / exact.iter().map(|b| b * b).sum::<f64>())
    .sqrt();
    println!("forward ODE, mollifier (extrapolate), 3000 steps: relative L2 error {err:.3e}");
    assert!(err < 5e-3, "{err}");
}

fn trainer_error(ds: &Dataset) -> String {
    Trainer::new(
        ds,
        RunConfig::new().with_width(8).with_depth(2),
        &Device::flex(),
    )
    .unwrap_err()
    .to_string()
}

/// Chromatin's spectral path assumes an n × n periodic square; any other grid is refused with
/// the reason, never an index panic, for every engine.
#[test]
fn chromatin_off_its_periodic_square_is_refused_with_the_reason() {
    let ds = &datasets()[2];
    let n = ds.grid.x().n;
    // Non-square: drop the last row of every field.
    let mut wide = ds.clone();
    wide.grid.axes[0].n = n - 1;
    for f in wide.fields.values_mut() {
        f.values.truncate((n - 1) * n);
    }
    for engine in [
        EngineKind::Mollifier,
        EngineKind::Taylor,
        EngineKind::FiniteDifference,
    ] {
        let msg = Trainer::new(
            &wide,
            RunConfig::new()
                .with_engine(engine)
                .with_width(8)
                .with_depth(2),
            &Device::flex(),
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("n × n") && msg.contains("63 × 64"), "{msg}");
    }
    // Square, but the manifest's domain disagrees with n × step.
    let mut off = ds.clone();
    off.set_meta("domain", 12.0);
    let msg = trainer_error(&off);
    assert!(
        msg.contains("periodic domain is 12") && msg.contains("64 points × step 0.15625"),
        "{msg}"
    );
    // Not periodic (a microscopy crop): the mollifier trains; an autodiff engine, which would
    // need φ_w's spectral derivatives, says what to use instead.
    let mut crop = wide.clone();
    crop.set_meta("periodic", false);
    let config = RunConfig::new().with_width(8).with_depth(2);
    assert!(Trainer::new(&crop, config.clone(), &Device::flex()).is_ok());
    let msg = Trainer::new(
        &crop,
        config.with_engine(EngineKind::Taylor),
        &Device::flex(),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("use the mollifier or fd engine"), "{msg}");
}

/// Heat's residual form comes from the manifest: absent → the stated default, said in the
/// trainer's notes; misspelt or not a name → refused.
#[test]
fn heat_form_is_read_strictly_and_its_default_is_said() {
    let ds = &datasets()[1];
    let div = Trainer::new(
        ds,
        RunConfig::new().with_width(8).with_depth(2),
        &Device::flex(),
    )
    .unwrap();
    assert!(div.notes().is_empty(), "{:?}", div.notes());
    let mut absent = ds.clone();
    absent.meta.remove("form");
    let t = Trainer::new(
        &absent,
        RunConfig::new().with_width(8).with_depth(2),
        &Device::flex(),
    )
    .unwrap();
    assert_eq!(
        t.notes(),
        ["meta 'form' is absent: the non-divergence form k∇²T + f = 0 applies"]
    );
    let mut typo = ds.clone();
    typo.set_meta("form", "divergense");
    let msg = trainer_error(&typo);
    assert!(
        msg.contains("meta 'form'") && msg.contains("divergense") && msg.contains("non-divergence"),
        "{msg}"
    );
    let mut number = ds.clone();
    number.set_meta("form", 2.0);
    assert!(trainer_error(&number).contains("expected the name of a heat form"));
}
