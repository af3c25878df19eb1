//! Chromatin reaction–diffusion (fourth order; Kant et al., the authors' model): infer the
//! methylation rate Γ(x, y) from the steady heterochromatin–euchromatin difference φ_d.
//!
//! With nucleoplasm fraction φ_w and φ_d = φ_h − φ_e, φ_h + φ_e + φ_w = 1:
//! φ_h = ((1−φ_w)+φ_d)/2, φ_e = 1−φ_w−φ_h,
//! μ_d = −φ_e + φ_h(φ_max−φ_h)(φ_max−2φ_h) − l²∇²φ_d, and the steady state solves
//! ∇²μ_d + 2(Γφ_e − φ_h) = 0. The simulator evolves ∂φ_d/∂t = ∇²μ_d + 2(Γφ_e − φ_h) on the
//! periodic square [0, L)² with a semi-implicit Fourier scheme (l²∇⁴ and a stabilising S∇²
//! implicit, the rest explicit) until the steady residual falls below a tolerance.

use std::sync::Arc;

use rand_distr::{Distribution, Normal};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::{Arith, Observation, Size};
use crate::dataset::{Dataset, Role};
use crate::error::{Error, Result};
use crate::grid::{Axis, Grid};

/// Γ patterns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Case {
    /// Γ constant (the paper: 0.5, 1, 1.5).
    Constant(f64),
    /// Γ = 1 + ½·sin(2πx/L)·sin(2πy/L).
    Patterned,
    /// Γ = exp(0.3·z), z a smooth Gaussian random field of unit variance (correlation length L/12).
    LogNormal,
}

impl Case {
    /// The name used on the command line and in manifests ("constant-1.5", "patterned", "lognormal").
    pub fn name(self) -> String {
        match self {
            Self::Constant(g) => format!("constant-{g}"),
            Self::Patterned => "patterned".into(),
            Self::LogNormal => "lognormal".into(),
        }
    }
}

impl std::str::FromStr for Case {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "patterned" => Ok(Self::Patterned),
            "lognormal" => Ok(Self::LogNormal),
            _ => s
                .strip_prefix("constant-")
                .and_then(|g| g.parse::<f64>().ok())
                .filter(|g| g.is_finite() && *g > 0.0)
                .map(Self::Constant)
                .ok_or_else(|| {
                    Error::Invalid(format!("unknown chromatin case '{s}' (expected constant-<Γ>, e.g. constant-1.5, patterned or lognormal)"))
                }),
        }
    }
}

/// Model constants (defaults: the authors' code, domain [0, 10]²).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// φ_max in the chemical potential.
    pub phi_max: f64,
    /// Interface length l.
    pub l: f64,
    /// Side of the periodic square domain.
    pub domain: f64,
    /// Stop when max |∇²μ_d + 2(Γφ_e − φ_h)| falls below this.
    pub tolerance: f64,
    /// Give up after this many steps.
    pub max_steps: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            phi_max: 0.7,
            l: 0.03,
            domain: 10.0,
            tolerance: 1e-9,
            max_steps: 20_000,
        }
    }
}

/// Grid points per axis (periodic): quick 64, paper 200 (h = 0.05 as in the authors' data).
pub fn points(size: Size) -> usize {
    match size {
        Size::Quick => 64,
        Size::Paper => 200,
    }
}

/// The nucleoplasm fraction φ_w, a given smooth periodic field.
pub fn nucleoplasm(x: f64, y: f64, domain: f64) -> f64 {
    let w = std::f64::consts::TAU / domain;
    0.55 + 0.1 * (w * x).cos() * (w * y).cos()
}

/// f(p) = p(φ_max − p)(φ_max − 2p) and its first two derivatives.
fn chem(p: f64, a: f64) -> [f64; 3] {
    [
        p * (a - p) * (a - 2.0 * p),
        a * a - 6.0 * a * p + 6.0 * p * p,
        12.0 * p - 6.0 * a,
    ]
}

/// Derivative fields the steady residual needs (all on the same points).
#[derive(Debug, Clone)]
pub struct Fields<T> {
    /// φ_d
    pub phi_d: T,
    /// ∂ₓφ_d
    pub phi_d_x: T,
    /// ∂ᵧφ_d
    pub phi_d_y: T,
    /// ∇²φ_d
    pub lap_phi_d: T,
    /// ∇⁴φ_d
    pub bih_phi_d: T,
    /// φ_w
    pub phi_w: T,
    /// ∂ₓφ_w
    pub phi_w_x: T,
    /// ∂ᵧφ_w
    pub phi_w_y: T,
    /// ∇²φ_w
    pub lap_phi_w: T,
    /// Γ
    pub gamma: T,
}

/// Steady residual ∇²μ_d + 2(Γφ_e − φ_h), with ∇²μ_d expanded by the chain rule so it needs
/// only derivatives of φ_d and φ_w (up to ∇⁴φ_d), never a derivative of a computed field:
/// ∇²μ_d = ½(∇²φ_w + ∇²φ_d) + f′(φ_h)∇²φ_h + f″(φ_h)|∇φ_h|² − l²∇⁴φ_d,
/// 2(Γφ_e − φ_h) = (Γ−1)(1−φ_w) − (Γ+1)φ_d.
pub fn residual<T: Arith>(p: &Params, v: Fields<T>) -> T {
    let a = p.phi_max;
    // φ_h = (1 − φ_w + φ_d)/2 and its derivatives.
    let ph = (v.phi_d.clone() - v.phi_w.clone() + 1.0) * 0.5;
    let phx = (v.phi_d_x - v.phi_w_x) * 0.5;
    let phy = (v.phi_d_y - v.phi_w_y) * 0.5;
    let lap_h = (v.lap_phi_d.clone() - v.lap_phi_w.clone()) * 0.5;
    let f1 = ph.clone() * ph.clone() * 6.0 - ph.clone() * (6.0 * a) + a * a;
    let f2 = ph * 12.0 + (-6.0 * a);
    let lap_mu = (v.lap_phi_w + v.lap_phi_d) * 0.5
        + f1 * lap_h
        + f2 * (phx.clone() * phx + phy.clone() * phy)
        - v.bih_phi_d * (p.l * p.l);
    let reaction = (v.gamma.clone() + (-1.0)) * (-v.phi_w + 1.0) - (v.gamma + 1.0) * v.phi_d;
    lap_mu + reaction
}

/// 2D FFTs on the periodic n×n grid and the wavenumbers of each mode.
struct Spectral {
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    kx: Vec<f64>,
    ky: Vec<f64>,
    k2: Vec<f64>,
}

impl Spectral {
    fn new(n: usize, domain: f64) -> Self {
        let mut planner = FftPlanner::new();
        let wave = |j: usize| {
            let j = if j <= n / 2 {
                j as f64
            } else {
                j as f64 - n as f64
            };
            std::f64::consts::TAU * j / domain
        };
        // First derivatives drop the unpaired Nyquist mode so real fields stay real.
        let odd = |j: usize| {
            if n.is_multiple_of(2) && j == n / 2 {
                0.0
            } else {
                wave(j)
            }
        };
        let kx: Vec<f64> = (0..n * n).map(|p| odd(p % n)).collect();
        let ky: Vec<f64> = (0..n * n).map(|p| odd(p / n)).collect();
        let k2 = (0..n * n)
            .map(|p| wave(p % n).powi(2) + wave(p / n).powi(2))
            .collect();
        Self {
            n,
            forward: planner.plan_fft_forward(n),
            inverse: planner.plan_fft_inverse(n),
            kx,
            ky,
            k2,
        }
    }

    fn transform(&self, data: &mut [Complex<f64>], fft: &Arc<dyn Fft<f64>>) {
        let n = self.n;
        fft.process(data);
        // Columns: transpose, transform rows, transpose back.
        let mut t = vec![Complex::default(); n * n];
        for j in 0..n {
            for i in 0..n {
                t[i * n + j] = data[j * n + i];
            }
        }
        fft.process(&mut t);
        for j in 0..n {
            for i in 0..n {
                data[j * n + i] = t[i * n + j];
            }
        }
    }

    fn fft(&self, real: &[f64]) -> Vec<Complex<f64>> {
        let mut c: Vec<Complex<f64>> = real.iter().map(|&v| Complex::new(v, 0.0)).collect();
        self.transform(&mut c, &self.forward);
        c
    }

    fn ifft(&self, mut c: Vec<Complex<f64>>) -> Vec<f64> {
        self.transform(&mut c, &self.inverse);
        let scale = 1.0 / (self.n * self.n) as f64;
        c.into_iter().map(|v| v.re * scale).collect()
    }

    /// Applies a spectral multiplier to a real field.
    fn filter(&self, real: &[f64], m: impl Fn(usize) -> Complex<f64>) -> Vec<f64> {
        let c = self
            .fft(real)
            .into_iter()
            .enumerate()
            .map(|(p, v)| v * m(p))
            .collect();
        self.ifft(c)
    }
}

/// Spectral derivatives of a periodic field: [∂ₓ, ∂ᵧ, ∇², ∇⁴].
pub fn spectral_derivatives(field: &[f64], n: usize, domain: f64) -> [Vec<f64>; 4] {
    let s = Spectral::new(n, domain);
    let i = Complex::new(0.0, 1.0);
    [
        s.filter(field, |p| i * s.kx[p]),
        s.filter(field, |p| i * s.ky[p]),
        s.filter(field, |p| Complex::from(-s.k2[p])),
        s.filter(field, |p| Complex::from(s.k2[p] * s.k2[p])),
    ]
}

/// The Γ field of a case on the n×n periodic grid.
pub fn gamma_field(case: Case, grid: &Grid, domain: f64, seed: u64) -> Result<Vec<f64>> {
    let w = std::f64::consts::TAU / domain;
    Ok(match case {
        Case::Constant(g) => vec![g; grid.len()],
        Case::Patterned => grid.sample(|x, y| 1.0 + 0.5 * (w * x).sin() * (w * y).sin()),
        Case::LogNormal => {
            let n = grid.x().n;
            let mut rng = super::rng(seed, "chromatin gamma");
            let normal = Normal::new(0.0, 1.0).map_err(|e| Error::Invalid(e.to_string()))?;
            let white: Vec<f64> = (0..n * n).map(|_| normal.sample(&mut rng)).collect();
            let s = Spectral::new(n, domain);
            let ell = domain / 12.0;
            let z = s.filter(&white, |p| {
                Complex::from((-0.5 * s.k2[p] * ell * ell).exp())
            });
            let mean = z.iter().sum::<f64>() / z.len() as f64;
            let sd = (z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64).sqrt();
            z.into_iter()
                .map(|v| (0.3 * (v - mean) / sd).exp())
                .collect()
        }
    })
}

/// Result of a steady-state solve.
#[derive(Debug, Clone)]
pub struct Steady {
    /// φ_d at steady state.
    pub phi_d: Vec<f64>,
    /// Time steps taken.
    pub steps: usize,
    /// Final max |steady residual|.
    pub residual: f64,
}

/// Evolves φ_d from the pointwise equilibrium to the steady state for given Γ and φ_w.
pub fn steady_state(gamma: &[f64], phi_w: &[f64], n: usize, p: &Params) -> Result<Steady> {
    if gamma.len() != n * n || phi_w.len() != n * n {
        return Err(Error::Invalid(format!(
            "Γ and φ_w need n² = {} values",
            n * n
        )));
    }
    if let Some(g) = gamma.iter().find(|g| !(g.is_finite() && **g >= 0.0)) {
        return Err(Error::Invalid(format!(
            "Γ must be finite and ≥ 0 (found {g})"
        )));
    }
    let s = Spectral::new(n, p.domain);
    let gmax = gamma.iter().cloned().fold(0.0, f64::max);
    // Explicit reaction is stable for dt·(Γ+1) < 2; half that keeps the low modes monotone.
    let dt = (1.0 / (gmax + 1.0)).min(0.5);
    let stab = 1.0; // ≥ max ∂c/∂φ_d ≈ 0.75 makes the explicit chemical term stable
    let l2 = p.l * p.l;
    let source: Vec<f64> = gamma
        .iter()
        .zip(phi_w)
        .map(|(g, w)| (g - 1.0) * (1.0 - w))
        .collect();
    let mut phi: Vec<f64> = gamma
        .iter()
        .zip(phi_w)
        .map(|(g, w)| (g - 1.0) * (1.0 - w) / (g + 1.0))
        .collect();
    let mut residual = f64::INFINITY;
    for step in 0..=p.max_steps {
        let c: Vec<f64> = phi
            .iter()
            .zip(phi_w)
            .map(|(d, w)| {
                let (ph, pe) = ((1.0 - w + d) / 2.0, (1.0 - w - d) / 2.0);
                -pe + chem(ph, p.phi_max)[0]
            })
            .collect();
        let r: Vec<f64> = phi
            .iter()
            .zip(gamma)
            .zip(&source)
            .map(|((d, g), s0)| s0 - (g + 1.0) * d)
            .collect();
        let (c_hat, r_hat, phi_hat) = (s.fft(&c), s.fft(&r), s.fft(&phi));
        let res_hat: Vec<Complex<f64>> = (0..n * n)
            .map(|q| -(c_hat[q] + phi_hat[q] * (l2 * s.k2[q])) * s.k2[q] + r_hat[q])
            .collect();
        residual = s.ifft(res_hat).iter().fold(0.0, |m, v| m.max(v.abs()));
        if residual < p.tolerance {
            return Ok(Steady {
                phi_d: phi,
                steps: step,
                residual,
            });
        }
        if !residual.is_finite() {
            return Err(Error::Invalid(format!(
                "chromatin simulation diverged at step {step}"
            )));
        }
        let next: Vec<Complex<f64>> = (0..n * n)
            .map(|q| {
                let k2 = s.k2[q];
                (phi_hat[q] + (-c_hat[q] * k2 + phi_hat[q] * (stab * k2) + r_hat[q]) * dt)
                    / (1.0 + dt * stab * k2 + dt * l2 * k2 * k2)
            })
            .collect();
        phi = s.ifft(next);
    }
    Err(Error::Invalid(format!(
        "chromatin simulation did not reach the steady tolerance {:e} in {} steps (residual {residual:e})",
        p.tolerance, p.max_steps
    )))
}

/// Simulates a case; the dataset holds `phi_d` (observed), `mask`, `phi_d_clean` and `gamma`
/// (truth), and `phi_w` (known).
pub fn simulate(case: Case, size: Size, p: &Params, obs: &Observation) -> Result<Dataset> {
    let n = points(size);
    let h = p.domain / n as f64;
    // Periodic: the point at x = L is the point at x = 0, so the grid stops one step short.
    let grid = Grid::d2(
        Axis {
            name: "y".into(),
            n,
            start: 0.0,
            step: h,
        },
        Axis {
            name: "x".into(),
            n,
            start: 0.0,
            step: h,
        },
    );
    let gamma = gamma_field(case, &grid, p.domain, obs.seed)?;
    let phi_w = grid.sample(|x, y| nucleoplasm(x, y, p.domain));
    let steady = steady_state(&gamma, &phi_w, n, p)?;
    let mut ds = Dataset::new("chromatin", &case.name(), grid);
    obs.apply(&mut ds, "phi_d", &steady.phi_d)?;
    ds.insert("phi_d_clean", Role::Truth, steady.phi_d);
    ds.insert("gamma", Role::Truth, gamma);
    ds.insert("phi_w", Role::Known, phi_w);
    ds.set_meta("phi_max", p.phi_max);
    ds.set_meta("l", p.l);
    ds.set_meta("domain", p.domain);
    ds.set_meta("periodic", true);
    ds.set_meta("steps", steady.steps);
    ds.set_meta("steady_residual", steady.residual);
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic_residual(ds: &Dataset, p: &Params) -> (f64, f64) {
        let n = ds.grid.x().n;
        let (d, w, g) = (
            ds.field("phi_d_clean").unwrap(),
            ds.field("phi_w").unwrap(),
            ds.field("gamma").unwrap(),
        );
        let [dx, dy, dl, db] = spectral_derivatives(d, n, p.domain);
        let [wx, wy, wl, _] = spectral_derivatives(w, n, p.domain);
        let mut worst: f64 = 0.0;
        let mut scale: f64 = 0.0;
        for q in 0..n * n {
            let fields = Fields {
                phi_d: d[q],
                phi_d_x: dx[q],
                phi_d_y: dy[q],
                lap_phi_d: dl[q],
                bih_phi_d: db[q],
                phi_w: w[q],
                phi_w_x: wx[q],
                phi_w_y: wy[q],
                lap_phi_w: wl[q],
                gamma: g[q],
            };
            worst = worst.max(residual(p, fields).abs());
            scale = scale
                .max(((g[q] + 1.0) * d[q]).abs())
                .max(((g[q] - 1.0) * (1.0 - w[q])).abs());
        }
        (worst, scale)
    }

    #[test]
    fn simulations_reach_the_steady_tolerance_and_satisfy_the_generic_residual() {
        let p = Params::default();
        for case in [
            Case::Constant(0.5),
            Case::Constant(1.0),
            Case::Constant(1.5),
            Case::Patterned,
            Case::LogNormal,
        ] {
            let ds = simulate(case, Size::Quick, &p, &Observation::default()).unwrap();
            let steps = ds.meta_f64("steps").unwrap();
            let res = ds.meta_f64("steady_residual").unwrap();
            let (generic, scale) = generic_residual(&ds, &p);
            println!(
                "chromatin {}: {steps} steps, spectral steady residual {res:.1e}, chain-rule residual {generic:.1e} (reaction scale {scale:.2})",
                case.name()
            );
            assert!(res < p.tolerance);
            // The chain-rule form differs from the spectral one only by aliasing of products.
            assert!(generic < 1e-4 * scale.max(1e-3), "{generic:e}");
            let d = ds.field("phi_d_clean").unwrap();
            let spread = d.iter().cloned().fold(f64::MIN, f64::max)
                - d.iter().cloned().fold(f64::MAX, f64::min);
            assert!(
                spread > 1e-3,
                "φ_d should vary in space with φ_w: spread {spread}"
            );
        }
    }

    #[test]
    fn cases_parse() {
        assert_eq!("constant-1.5".parse::<Case>().unwrap(), Case::Constant(1.5));
        assert_eq!("lognormal".parse::<Case>().unwrap(), Case::LogNormal);
        assert!(
            "constant-x"
                .parse::<Case>()
                .unwrap_err()
                .to_string()
                .contains("constant-<Γ>")
        );
        assert!("constant--1".parse::<Case>().is_err());
    }
}
