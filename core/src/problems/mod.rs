//! Problems: what a dataset observes, knows and hides, and the residual that ties them. A
//! problem is one file implementing [`Problem`]: its fields and their roles, the derivatives
//! its residual needs (by name), the residual itself, its parameter's meaning, and optionally a
//! simulator with known ground truth. [`builtins`] lists the paper's; front ends list problems
//! from it. Residuals are written once over [`Arith`], so the same code evaluates on `f64`
//! values (simulator checks) and on burn tensors of derivative fields (training).

use std::ops::{Add, Mul, Neg, Sub};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use std::collections::{BTreeMap, BTreeSet};

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::data::dataset::{Dataset, Role};
use crate::data::grid::Grid;
use crate::engine::{Fields, Request};
use crate::error::{Error, Result};
use crate::numerics::mollifier::{Deriv2, MollifierConfig};

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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// The inferred parameter of an inverse problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter {
    /// Name of its ground-truth field, where a dataset has one (simulations do, real data not).
    pub truth: &'static str,
    /// What it means physically, for reports ("conductivity k(x, y)").
    pub meaning: &'static str,
}

/// A known (given, not inferred) field the residual uses, and which of its derivatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Field name in the dataset.
    pub field: &'static str,
    /// Derivatives of it the residual needs (`Deriv2::U`: its values).
    pub derivs: BTreeSet<Deriv2>,
}

/// The solution derivative a residual hinges on, where noise amplification shows first (the
/// paper's "essential intermediate": ∇²T for heat); scored against the clean solution's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intermediate {
    /// Its key (one of the problem's requested derivatives of u).
    pub key: Deriv2,
    /// How reports write it ("∇²T").
    pub symbol: &'static str,
    /// The clean solution's field in simulated datasets.
    pub clean: &'static str,
}

/// What a residual is evaluated on: the engine's derivatives of u and p, and the known fields'
/// derivatives, all on the same evaluation points.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The solution and its requested derivatives.
    pub u: &'a Fields,
    /// The parameter and its requested derivatives.
    pub p: &'a Fields,
    /// Known fields by name.
    pub known: &'a BTreeMap<&'static str, Fields>,
}

impl Inputs<'_> {
    /// Derivative `d` of the known field `name`.
    pub fn known(&self, name: &str, d: Deriv2) -> Result<Tensor<1>> {
        self.known
            .get(name)
            .ok_or_else(|| Error::Invalid(format!("known field '{name}' was not declared")))?
            .get(d)
    }
}

/// A PDE problem: everything the trainer needs to know about it, in one place.
pub trait Problem: std::fmt::Debug + Send + Sync {
    /// Name on the command line, in URLs and in dataset manifests.
    fn name(&self) -> &'static str;
    /// One line for listings and the demo.
    fn description(&self) -> &'static str;
    /// The observed field (fitted by the data loss where the mask is set).
    fn observed(&self) -> &'static str;
    /// The inferred parameter (`None`: a forward problem).
    fn parameter(&self) -> Option<Parameter>;
    /// Derivatives of u and p the residual needs.
    fn request(&self) -> Request;
    /// Known fields the residual uses.
    fn known(&self) -> Vec<Known> {
        Vec::new()
    }
    /// The residual on the evaluation points (zero where the physics holds).
    fn residual(&self, f: &Inputs<'_>) -> Result<Tensor<1>>;
    /// The derivative of u the residual hinges on (`None`: none singled out).
    fn intermediate(&self) -> Option<Intermediate> {
        None
    }
    /// Whether the residual is affine in the parameter's value and uses none of its
    /// derivatives: then r(p̂) = 0 solves pointwise, p̂ = −r(0)/(r(1) − r(0)), from the engine's
    /// derivatives of u alone (the paper's separable estimate, Sec. 3.3: F̂ = v̂′ + γv̂).
    fn separable(&self) -> bool {
        false
    }
    /// A typical size of the residual's terms, so the PDE loss is normalised like the data's.
    /// `observed` holds the observed values, `spread` their standard deviation.
    fn residual_scale(&self, ds: &Dataset, observed: &[f64], spread: f64) -> Result<f64>;
    /// This problem with the constants of `ds` (its manifest's metadata); assumptions made
    /// where the manifest is silent go to `notes`.
    fn bind(&self, ds: &Dataset, notes: &mut Vec<String>) -> Result<Box<dyn Problem>>;
    /// Simulated parameter cases, the default first.
    fn cases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Synthetic data with known ground truth (`case` `None`: the default case).
    fn simulate(&self, case: Option<&str>, size: Size, obs: &Observation) -> Result<Dataset> {
        let _ = (case, size, obs);
        Err(Error::Invalid(format!(
            "problem '{}' has no simulator",
            self.name()
        )))
    }
    /// Exact derivative `d` of the known field `field` (C order on `grid`): what the autodiff
    /// engines differentiate known fields by, and the mollifier too where it exists (its own
    /// smoothing of a sharp known field would bias the residual against u's derivatives, which
    /// are those of a field fitted to the data). `None`: not available.
    fn exact_known(&self, field: &str, values: &[f64], grid: &Grid, d: Deriv2) -> Option<Vec<f64>> {
        let _ = (field, values, grid, d);
        None
    }
    /// The mollifier's kernel size, in points, when a run names none.
    fn kernel_size(&self) -> usize {
        MollifierConfig::default().size
    }
    /// Highest frequency of the PINN's Fourier features when a run names none (see
    /// [`crate::model::ModelConfig::fourier_max`]): how fast the problem's fields vary.
    fn fourier_max(&self) -> f64 {
        crate::model::FOURIER_MAX
    }
    /// Highest derivative order of the residual (what a kernel family must supply).
    fn order(&self) -> usize {
        self.request().order()
    }
}

/// The separable estimate of the parameter on the evaluation points of `inputs` (the paper's
/// Sec. 3.3): the residual is affine in the parameter's value, so p̂ = −r(0)/(r(1) − r(0)) solves
/// r(p̂) = 0 pointwise from the derivatives of u alone. `None` where the problem is not separable.
pub fn separable_estimate(problem: &dyn Problem, inputs: &Inputs<'_>) -> Result<Option<Tensor<1>>> {
    if !problem.separable() {
        return Ok(None);
    }
    let at = |value: f64| -> Result<Tensor<1>> {
        let mut p = inputs.p.clone();
        p.insert(Deriv2::U, inputs.p.get(Deriv2::U)?.zeros_like() + value);
        problem.residual(&Inputs { p: &p, ..*inputs })
    };
    let (r0, r1) = (at(0.0)?, at(1.0)?);
    Ok(Some(-r0.clone() / (r1 - r0)))
}

/// The built-in problems, the paper's: one line each.
pub fn builtins() -> Vec<Box<dyn Problem>> {
    vec![
        Box::new(langevin::Langevin::default()),
        Box::new(heat::Heat::default()),
        Box::new(chromatin::Chromatin::default()),
        Box::new(ode::Ode::default()),
    ]
}

/// The built-in problem called `name`.
pub fn builtin(name: &str) -> Result<Box<dyn Problem>> {
    let all = builtins();
    let names: Vec<&str> = all.iter().map(|p| p.name()).collect();
    let names = names.join(", ");
    all.into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "unknown problem '{name}' (expected one of: {names})"
            ))
        })
}

/// The built-in problem a dataset's manifest names, with the dataset's constants.
pub fn for_dataset(ds: &Dataset, notes: &mut Vec<String>) -> Result<Box<dyn Problem>> {
    builtin(&ds.problem)
        .map_err(|_| Error::Invalid(format!("no residual is known for problem '{}'", ds.problem)))?
        .bind(ds, notes)
}

/// Root mean square (1 for an empty sample).
pub(crate) fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// A metadata constant a problem cannot do without.
pub(crate) fn meta(ds: &Dataset, key: &str) -> Result<f64> {
    ds.meta_f64(key).ok_or_else(|| {
        Error::data(
            "dataset.json",
            format!("meta '{key}' missing for problem '{}'", ds.problem),
        )
    })
}
