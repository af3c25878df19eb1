//! Validation suite of `--kernel-size auto` (a benchmark, not a test): signals of different
//! smoothness with analytic derivatives, relative noise 0.1 %, 1 %, 10 %, orders 1–4 in 1D and
//! ∇², ∇⁴, ∂ₓᵧ in 2D. For each case: the error of the derivative with the automatically chosen
//! kernel, and with the best kernel found by sweeping sizes (and both accuracies) against the
//! truth (the oracle). Errors are RMS over the interior (10 % of each 1D end, 16 % of each 2D
//! edge left out, so every candidate is scored on the same points), relative to the truth's RMS.
//!
//! `cargo run -p mollify-core --example autosize_suite -- DIR` writes `DIR/mollify.csv` and each
//! case's noisy samples and true derivative as NPY for `scripts/savgol.py` (Savitzky–Golay
//! references); `bash scripts/autosize-suite.sh` runs both and writes `docs/autosize.md`.
//! For investigating a case: `SUITE_ONLY=c044,c046` runs only those, `SUITE_DEBUG=1` prints
//! the justification of every choice more than 1.3× the oracle's error. `SUITE_SEED=N` adds N
//! to every case's noise seed: another draw of the same cases, to tell a rule's weakness from
//! one unlucky draw.

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::Path;

use mollify_core::data::io::{self, Array, Precision};
use mollify_core::numerics::autosize::{self, Samples, Target};
use mollify_core::numerics::mollifier::{taps_1d, taps_2d};
use mollify_core::{Accuracy, Deriv2, MollifierConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// A 1D signal: its derivatives of order 0..=4 at x.
type Signal = Box<dyn Fn(&[f64], usize) -> Vec<f64>>;

const N1: usize = 1000;
const EDGE1: usize = 100;
const N2: usize = 256;
const EDGE2: usize = 41;
const NOISES: [f64; 3] = [0.001, 0.01, 0.1];

fn sine(f: f64) -> Signal {
    Box::new(move |x, k| {
        let w = 2.0 * PI * f;
        x.iter()
            .map(|x| w.powi(k as i32) * (w * x + k as f64 * PI / 2.0).sin())
            .collect()
    })
}

/// Probabilists' Hermite polynomial Heₙ(z).
fn hermite(n: usize, z: f64) -> f64 {
    let (mut a, mut b) = (1.0, z);
    if n == 0 {
        return a;
    }
    for m in 1..n {
        (a, b) = (b, z * b - m as f64 * a);
    }
    b
}

fn gauss(c: f64, s: f64) -> Signal {
    Box::new(move |x, k| {
        x.iter()
            .map(|x| {
                let z = (x - c) / s;
                (-1.0 / s).powi(k as i32) * hermite(k, z) * (-z * z / 2.0).exp()
            })
            .collect()
    })
}

fn logistic(c: f64, s: f64) -> Signal {
    Box::new(move |x, k| {
        x.iter()
            .map(|x| {
                let p = 1.0 / (1.0 + (-(x - c) / s).exp());
                // dᵏp/dxᵏ as a polynomial in p: d/dx P(p) = P′(p)·p(1 − p)/s.
                let mut poly = vec![0.0, 1.0];
                for _ in 0..k {
                    let d: Vec<f64> = (1..poly.len()).map(|i| i as f64 * poly[i]).collect();
                    let mut next = vec![0.0; d.len() + 2];
                    for (i, c) in d.iter().enumerate() {
                        next[i + 1] += c / s;
                        next[i + 2] -= c / s;
                    }
                    poly = next;
                }
                poly.iter().rev().fold(0.0, |acc, c| acc * p + c)
            })
            .collect()
    })
}

/// A triangle wave of frequency f smoothed by a Gaussian of width s (Fourier series).
fn triangle(f: f64, s: f64) -> Signal {
    Box::new(move |x, k| {
        x.iter()
            .map(|x| {
                (1..400)
                    .step_by(2)
                    .map(|n| {
                        let n = n as f64;
                        let w = n * 2.0 * PI * f;
                        let sign = if (n as usize / 2).is_multiple_of(2) {
                            1.0
                        } else {
                            -1.0
                        };
                        let a = 8.0 / (PI * PI) * sign / (n * n) * (-(w * s).powi(2) / 2.0).exp();
                        a * w.powi(k as i32) * (w * x + k as f64 * PI / 2.0).sin()
                    })
                    .sum()
            })
            .collect()
    })
}

/// x(t) of the Lorenz system on t = 8·x, derivatives by its Taylor recursion.
fn lorenz() -> Signal {
    let (sigma, rho, beta) = (10.0, 28.0, 8.0 / 3.0);
    let f = |s: [f64; 3]| {
        [
            sigma * (s[1] - s[0]),
            s[0] * (rho - s[2]) - s[1],
            s[0] * s[1] - beta * s[2],
        ]
    };
    let add =
        |a: [f64; 3], b: [f64; 3], h: f64| [a[0] + h * b[0], a[1] + h * b[1], a[2] + h * b[2]];
    let duration = 8.0;
    let dt = duration / (N1 - 1) as f64 / 20.0;
    let mut s = [1.0, 1.0, 20.0];
    let rk4 = |s: &mut [f64; 3]| {
        let k1 = f(*s);
        let k2 = f(add(*s, k1, dt / 2.0));
        let k3 = f(add(*s, k2, dt / 2.0));
        let k4 = f(add(*s, k3, dt));
        for i in 0..3 {
            s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
    };
    for _ in 0..2000 {
        rk4(&mut s);
    }
    let mut derivs = vec![vec![0.0; N1]; 5];
    for i in 0..N1 {
        let (mut x, mut y, mut z) = (vec![s[0]], vec![s[1]], vec![s[2]]);
        for m in 0..4 {
            let xz: f64 = (0..=m).map(|i| x[i] * z[m - i]).sum();
            let xy: f64 = (0..=m).map(|i| x[i] * y[m - i]).sum();
            let n = (m + 1) as f64;
            x.push(sigma * (y[m] - x[m]) / n);
            y.push((rho * x[m] - xz - y[m]) / n);
            z.push((xy - beta * z[m]) / n);
        }
        let mut fact = 1.0;
        for (k, d) in derivs.iter_mut().enumerate() {
            if k > 0 {
                fact *= k as f64;
            }
            d[i] = fact * x[k] * duration.powi(k as i32);
        }
        for _ in 0..20 {
            rk4(&mut s);
        }
    }
    Box::new(move |_, k| derivs[k].clone())
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
}

fn noisy(clean: &[f64], level: f64, seed: u64) -> Vec<f64> {
    let scale = level * rms(clean);
    let offset: u64 = std::env::var("SUITE_SEED").map_or(0, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("SUITE_SEED must be a whole number, got '{v}'"))
    });
    let mut rng = StdRng::seed_from_u64(seed + offset);
    clean
        .iter()
        .map(|c| {
            c + scale * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng)
        })
        .collect::<Vec<f64>>()
}

/// Crops a [ny, nx] field to the interior `edge` points inside each (differenced) edge.
fn interior(v: &[f64], [ny, nx]: [usize; 2], edge: [usize; 2]) -> Vec<f64> {
    let [ey, ex] = edge;
    (ey..ny - ey)
        .flat_map(|r| (ex..nx - ex).map(move |c| (r, c)))
        .map(|(r, c)| v[r * nx + c])
        .collect()
}

struct Case {
    name: String,
    dims: usize,
    target: Target,
    noise: f64,
    samples: Vec<f64>,
    truth: Vec<f64>,
    shape: [usize; 2],
    spacing: [f64; 2],
    edge: [usize; 2],
}

/// Relative interior error of the operator of `cfg` on the case.
fn error(case: &Case, cfg: &MollifierConfig) -> Option<f64> {
    let [hy, hx] = case.spacing;
    let taps = match case.target {
        Target::Order(k) => taps_1d(cfg, hx, k),
        Target::Deriv(d) => taps_2d(cfg, hx, hy, d),
    }
    .ok()?;
    let [ry, rx] = taps.reach();
    let [ey, ex] = case.edge;
    if ry > ey || rx > ex {
        return None;
    }
    let (out, [oy, ox]) = taps.apply(&case.samples, case.shape).ok()?;
    let est = interior(&out, [oy, ox], [ey - ry, ex - rx]);
    let truth = interior(&case.truth, case.shape, case.edge);
    let diff: Vec<f64> = est.iter().zip(&truth).map(|(a, b)| a - b).collect();
    Some(rms(&diff) / rms(&truth))
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let x1: Vec<f64> = (0..N1).map(|i| i as f64 / (N1 - 1) as f64).collect();
    let signals: Vec<(&str, Signal)> = vec![
        ("sine f=1", sine(1.0)),
        ("sine f=4", sine(4.0)),
        ("sine f=16", sine(16.0)),
        ("gaussian bump", gauss(0.5, 0.08)),
        ("logistic", logistic(0.5, 0.04)),
        ("triangle (smoothed)", triangle(3.0, 0.01)),
        ("Lorenz x(t)", lorenz()),
    ];
    for (seed, (name, u)) in signals.iter().enumerate() {
        let clean = u(&x1, 0);
        for (j, &noise) in NOISES.iter().enumerate() {
            let samples = noisy(&clean, noise, (seed * 10 + j) as u64);
            for k in 1..=4 {
                out.push(Case {
                    name: name.to_string(),
                    dims: 1,
                    target: Target::Order(k),
                    noise,
                    samples: samples.clone(),
                    truth: u(&x1, k),
                    shape: [1, N1],
                    spacing: [1.0, 1.0 / (N1 - 1) as f64],
                    edge: [0, EDGE1],
                });
            }
        }
    }
    // 2D: products f(x)·g(y), derivatives from the factors'.
    let x2: Vec<f64> = (0..N2).map(|i| i as f64 / (N2 - 1) as f64).collect();
    let fields: Vec<(&str, Signal, Signal)> = vec![
        ("sin 2πx·sin 3πy", sine(1.0), sine(1.5)),
        ("sin 8πx·sin 8πy", sine(4.0), sine(4.0)),
        ("gaussian bump", gauss(0.5, 0.12), gauss(0.45, 0.1)),
        ("logistic(x)·sin 2πy", logistic(0.5, 0.06), sine(1.0)),
    ];
    for (seed, (name, f, g)) in fields.iter().enumerate() {
        let fx: Vec<Vec<f64>> = (0..=4).map(|k| f(&x2, k)).collect();
        let gy: Vec<Vec<f64>> = (0..=4).map(|k| g(&x2, k)).collect();
        let product = |terms: &[(f64, usize, usize)]| -> Vec<f64> {
            (0..N2 * N2)
                .map(|i| {
                    let (r, c) = (i / N2, i % N2);
                    terms
                        .iter()
                        .map(|&(coef, a, b)| coef * fx[a][c] * gy[b][r])
                        .sum()
                })
                .collect()
        };
        let clean = product(&[(1.0, 0, 0)]);
        for (j, &noise) in NOISES.iter().enumerate() {
            let samples = noisy(&clean, noise, (100 + seed * 10 + j) as u64);
            for d in [Deriv2::Laplacian, Deriv2::Biharmonic, Deriv2::Xy] {
                let terms: Vec<(f64, usize, usize)> =
                    d.terms().iter().map(|&(c, [a, b])| (c, a, b)).collect();
                out.push(Case {
                    name: name.to_string(),
                    dims: 2,
                    target: Target::Deriv(d),
                    noise,
                    samples: samples.clone(),
                    truth: product(&terms),
                    shape: [N2, N2],
                    spacing: [1.0 / (N2 - 1) as f64; 2],
                    edge: [EDGE2, EDGE2],
                });
            }
        }
    }
    out
}

fn target_name(t: Target) -> String {
    match t {
        Target::Order(k) => format!("d{k}"),
        Target::Deriv(Deriv2::Laplacian) => "laplacian".into(),
        Target::Deriv(Deriv2::Biharmonic) => "biharmonic".into(),
        Target::Deriv(Deriv2::Xy) => "xy".into(),
        Target::Deriv(d) => format!("{d:?}"),
    }
}

fn main() -> mollify_core::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/autosize-suite".into());
    let dir = Path::new(&dir);
    let cases_dir = dir.join("cases");
    std::fs::create_dir_all(&cases_dir).map_err(|source| mollify_core::Error::Io {
        path: cases_dir.display().to_string(),
        source,
    })?;
    let mut csv = String::from(
        "case,signal,dims,target,noise,h,edge,auto_size,auto_accuracy,auto_error,oracle_size,oracle_accuracy,oracle_error\n",
    );
    let base = MollifierConfig::default();
    let accuracies = [Accuracy::Second, Accuracy::Fourth];
    let only: Option<Vec<String>> = std::env::var("SUITE_ONLY")
        .ok()
        .map(|v| v.split(',').map(String::from).collect());
    for (i, case) in cases().iter().enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !o.contains(&format!("c{i:03}")))
        {
            continue;
        }
        let id = format!("c{i:03}");
        let edge = case.edge[1];
        let samples = Samples {
            values: &case.samples,
            mask: None,
            shape: case.shape,
            spacing: case.spacing,
        };
        let auto = autosize::choose(&base, &samples, case.target, &accuracies, Some(edge))?;
        let cfg = |size, accuracy| MollifierConfig {
            size,
            accuracy,
            ..base
        };
        let auto_error = error(case, &cfg(auto.size, auto.accuracy)).unwrap_or(f64::NAN);
        let mut oracle = (f64::INFINITY, 0, Accuracy::Second);
        for accuracy in accuracies {
            for size in (5..=2 * edge + 1).step_by(2) {
                if let Some(e) = error(case, &cfg(size, accuracy))
                    && e < oracle.0
                {
                    oracle = (e, size, accuracy);
                }
            }
        }
        writeln!(
            csv,
            "{id},{},{},{},{},{},{edge},{},{},{:.6e},{},{},{:.6e}",
            case.name,
            case.dims,
            target_name(case.target),
            case.noise,
            case.spacing[1],
            auto.size,
            auto.accuracy.order(),
            auto_error,
            oracle.1,
            oracle.2.order(),
            oracle.0,
        )
        .expect("writing to a String");
        let dims: Vec<usize> = if case.dims == 1 {
            vec![case.shape[1]]
        } else {
            case.shape.to_vec()
        };
        for (what, v) in [("noisy", &case.samples), ("truth", &case.truth)] {
            let name = format!("{id}_{what}.npy");
            let array = Array::new(dims.clone(), v.clone())?;
            io::write_atomic(
                &dir.join("cases").join(&name),
                &io::encode(&array, &name, Precision::F64)?,
            )?;
        }
        eprintln!(
            "{id} {:22} {:>4.1} % {:10} auto {:3} ({}) {:.3e}   oracle {:3} ({}) {:.3e}   ratio {:.2}",
            case.name,
            case.noise * 100.0,
            target_name(case.target),
            auto.size,
            auto.accuracy.order(),
            auto_error,
            oracle.1,
            oracle.2.order(),
            oracle.0,
            auto_error / oracle.0
        );
        if std::env::var("SUITE_DEBUG").is_ok() && auto_error / oracle.0 > 1.3 {
            eprintln!("    {}", auto.describe());
        }
    }
    io::write_atomic(&dir.join("mollify.csv"), csv.as_bytes())?;
    Ok(())
}
