//! The simulator's numerics: 2D FFTs on the periodic grid, spectral derivatives, and the
//! semi-implicit Fourier scheme that evolves φ_d to its steady state.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::Params;
use crate::error::{Error, Result};

/// f(p) = p(φ_max − p)(φ_max − 2p) and its first two derivatives.
fn chem(p: f64, a: f64) -> [f64; 3] {
    [
        p * (a - p) * (a - 2.0 * p),
        a * a - 6.0 * a * p + 6.0 * p * p,
        12.0 * p - 6.0 * a,
    ]
}

/// 2D FFTs on the periodic n×n grid and the wavenumbers of each mode.
pub(super) struct Spectral {
    pub(super) n: usize,
    pub(super) forward: Arc<dyn Fft<f64>>,
    pub(super) inverse: Arc<dyn Fft<f64>>,
    pub(super) kx: Vec<f64>,
    pub(super) ky: Vec<f64>,
    pub(super) k2: Vec<f64>,
}

impl Spectral {
    pub(super) fn new(n: usize, domain: f64) -> Self {
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
    pub(super) fn filter(&self, real: &[f64], m: impl Fn(usize) -> Complex<f64>) -> Vec<f64> {
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
