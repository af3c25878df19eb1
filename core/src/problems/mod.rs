//! The paper's PDE problems. Each module gives a forward simulator (synthetic observations with a
//! known ground-truth parameter), the residual the derivative engines minimise, and default
//! sizes. Residuals are written once over [`Arith`], so the same code evaluates on `f64` values
//! (simulator checks) and on burn tensors of derivative fields (training).

use std::ops::{Add, Mul, Neg, Sub};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Role};
use crate::error::{Error, Result};

pub mod chromatin;
pub mod heat;
pub mod langevin;
pub mod ode;

/// Pointwise arithmetic the residuals need: implemented by `f64` and by `burn` tensors.
pub trait Arith:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Mul<f64, Output = Self>
    + Add<f64, Output = Self>
    + Neg<Output = Self>
{
}

impl<T> Arith for T where
    T: Clone
        + Add<Output = T>
        + Sub<Output = T>
        + Mul<Output = T>
        + Mul<f64, Output = T>
        + Add<f64, Output = T>
        + Neg<Output = T>
{
}

/// Problem sizes: `Quick` for tests, demos and CI; `Paper` for the paper's resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Small grids that simulate in well under a second.
    #[default]
    Quick,
    /// The resolutions of the paper's experiments.
    Paper,
}

impl std::str::FromStr for Size {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "quick" => Ok(Self::Quick),
            "paper" => Ok(Self::Paper),
            _ => Err(Error::Invalid(format!(
                "unknown size '{s}' (expected quick or paper)"
            ))),
        }
    }
}

/// How the synthetic solution is observed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Gaussian noise with standard deviation `noise × RMS(clean field)`.
    pub noise: f64,
    /// Fraction of grid points observed, chosen uniformly at random (the paper: 10%).
    pub fraction: f64,
    /// Seed of the noise, the observed subset and any random parameter field.
    pub seed: u64,
}

impl Default for Observation {
    fn default() -> Self {
        Self {
            noise: 0.0,
            fraction: 0.1,
            seed: 0,
        }
    }
}

impl Observation {
    fn validate(&self) -> Result<()> {
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(Error::Invalid(format!(
                "noise must be a finite level ≥ 0 (got {})",
                self.noise
            )));
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(Error::Invalid(format!(
                "observed fraction must be in (0, 1] (got {})",
                self.fraction
            )));
        }
        Ok(())
    }

    /// Adds the noisy observation of `clean` as field `name` and its mask as `mask`, and
    /// records the observation settings in the metadata.
    pub fn apply(&self, ds: &mut Dataset, name: &str, clean: &[f64]) -> Result<()> {
        self.validate()?;
        // Separate streams so the mask does not change with the noise level.
        let mut noise_rng = rng(self.seed, "noise");
        let mut mask_rng = rng(self.seed, "mask");
        let rms = (clean.iter().map(|v| v * v).sum::<f64>() / clean.len() as f64).sqrt();
        let sigma = self.noise * rms;
        let noisy: Vec<f64> = if sigma > 0.0 {
            let normal = Normal::new(0.0, sigma).map_err(|e| Error::Invalid(e.to_string()))?;
            clean
                .iter()
                .map(|v| v + normal.sample(&mut noise_rng))
                .collect()
        } else {
            clean.to_vec()
        };
        let n = clean.len();
        let k = ((self.fraction * n as f64).round() as usize).clamp(1, n);
        let mut mask = vec![0.0; n];
        for i in rand::seq::index::sample(&mut mask_rng, n, k) {
            mask[i] = 1.0;
        }
        ds.insert(name, Role::Observed, noisy);
        ds.insert("mask", Role::Mask, mask);
        ds.set_meta("noise", self.noise);
        ds.set_meta("noise_sigma", sigma);
        ds.set_meta("observed_fraction", k as f64 / n as f64);
        ds.set_meta("seed", self.seed);
        Ok(())
    }
}

/// A random stream for `seed` and a named purpose: independent streams per purpose keep, e.g.,
/// the observed subset fixed while the noise level changes.
pub(crate) fn rng(seed: u64, stream: &str) -> StdRng {
    // FNV-1a of the stream name.
    let tag = stream.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    StdRng::seed_from_u64(seed ^ tag)
}

/// Pearson correlation of two equally long samples (0 when either is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// The built-in problems by name: one place that maps a front end's choice (a CLI argument, a
/// URL parameter) to a simulator with the paper's constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    /// First-order Langevin equation: infer the forcing F(t).
    Langevin,
    /// Steady 2D heat equation: infer the conductivity k(x, y).
    Heat,
    /// Fourth-order chromatin reaction–diffusion: infer the reaction rate Γ(x, y).
    Chromatin,
    /// Forward toy ODE (no parameter to infer).
    Ode,
}

impl Builtin {
    /// Every built-in problem.
    pub const ALL: [Self; 4] = [Self::Langevin, Self::Heat, Self::Chromatin, Self::Ode];

    /// The name used on the command line, in URLs and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Langevin => "langevin",
            Self::Heat => "heat",
            Self::Chromatin => "chromatin",
            Self::Ode => "ode",
        }
    }

    /// Highest derivative order its residual needs (what a kernel family must supply).
    pub fn order(self) -> usize {
        match self {
            Self::Langevin | Self::Ode => 1,
            Self::Heat => 2,
            Self::Chromatin => 4,
        }
    }

    /// Its parameter cases, the default first (chromatin also takes `constant-<Γ>`).
    pub fn cases(self) -> &'static [&'static str] {
        match self {
            Self::Langevin => &["varying", "constant", "noisy", "varying-noisy"],
            Self::Heat => &["smooth", "constant", "sharp"],
            Self::Chromatin => &["patterned", "constant-1", "lognormal"],
            Self::Ode => &[],
        }
    }

    /// Simulates the problem (`case` `None`: the default case) with the default constants.
    pub fn simulate(self, case: Option<&str>, size: Size, obs: &Observation) -> Result<Dataset> {
        let case = case.or(self.cases().first().copied());
        match (self, case) {
            (Self::Langevin, Some(c)) => {
                langevin::simulate(c.parse()?, size, &langevin::Params::default(), obs)
            }
            (Self::Heat, Some(c)) => {
                heat::simulate(c.parse()?, heat::Form::NonDivergence, size, obs)
            }
            (Self::Chromatin, Some(c)) => {
                chromatin::simulate(c.parse()?, size, &chromatin::Params::default(), obs)
            }
            (Self::Ode, None) => ode::simulate(size, &ode::Params::default()),
            (Self::Ode, Some(_)) => Err(Error::Invalid("the toy ODE has no cases".into())),
            (_, None) => unreachable!("every inverse problem has a default case"),
        }
    }
}

impl std::str::FromStr for Builtin {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        crate::error::parse_named(s, &Self::ALL, Self::name, "problem")
    }
}
