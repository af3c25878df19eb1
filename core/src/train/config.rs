//! The one configuration of a run, nested by concern. It is what `--config` reads, what a run
//! saves as `config.toml` beside its results (so the saved file reproduces the run), what the
//! browser demo's settings convert to, and what [`super::Trainer`] takes. Every section has
//! defaults, so a file names only what it changes; unknown keys are refused.

use serde::{Deserialize, Serialize};

use crate::backend::BackendChoice;
use crate::data::dataset::Dataset;
use crate::engine::EngineKind;
use crate::error::{Error, Result};
use crate::model::Arch;
pub use crate::model::ModelConfig;
use crate::numerics::kernel::KernelFamily;
use crate::numerics::mollifier::{Accuracy, Boundary, Layout2d, MollifierConfig};
use crate::problems::{Observation, Size};

/// Steps of the quick demo that `mollify compare` runs without arguments and the browser page
/// opens with: one definition, so both show the same experiment.
pub const DEMO_STEPS: usize = 1000;
/// Observation noise of the quick demo (relative to the clean solution's RMS): the paper is
/// about noisy data, and at 0 the engines end level (docs/results.md).
pub const DEMO_NOISE: f64 = 0.05;

/// Everything a training run is parameterised by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Derivative engine.
    pub engine: EngineKind,
    /// Device.
    pub backend: BackendChoice,
    /// Where the data comes from.
    pub data: DataConfig,
    /// The network.
    pub model: ModelConfig,
    /// The kernel (mollifier engine).
    pub mollifier: MollifierSettings,
    /// The loss.
    pub loss: LossConfig,
    /// Adam.
    pub optimizer: OptimizerConfig,
    /// Steps and learning-rate schedule.
    pub schedule: ScheduleConfig,
}

/// The data: a dataset folder, or a built-in problem simulated with these settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// A dataset folder, or a built-in problem's name.
    pub source: String,
    /// The simulated parameter case (default: the problem's first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Observation noise relative to the RMS of the clean solution.
    pub noise: f64,
    /// Fraction of grid points observed.
    pub fraction: f64,
    /// Seed of the noise, the observed subset and random parameter fields.
    pub seed: u64,
    /// Grid size of the simulation.
    pub size: Size,
}

impl Default for DataConfig {
    fn default() -> Self {
        let obs = Observation::default();
        Self {
            source: "heat".into(),
            case: None,
            noise: obs.noise,
            fraction: obs.fraction,
            seed: obs.seed,
            size: Size::Quick,
        }
    }
}

impl DataConfig {
    /// How a simulation is observed.
    pub fn observation(&self) -> Observation {
        Observation {
            noise: self.noise,
            fraction: self.fraction,
            seed: self.seed,
        }
    }

    /// Simulates the built-in problem named by `source`.
    pub fn simulate(&self) -> Result<Dataset> {
        crate::problems::builtin(&self.source)?.simulate(
            self.case.as_deref(),
            self.size,
            &self.observation(),
        )
    }
}

/// Kernel size in grid points, or chosen from the data's noise. In TOML and JSON a number or
/// `"auto"`; in binary formats (the browser worker's messages) a plain tagged enum, since
/// those cannot read an untagged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSize {
    /// Chosen by [`crate::numerics::autosize`] from the data (a run saves the size it chose).
    Auto,
    /// This many points (odd, ≥ 3).
    Points(usize),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum SizeRepr {
    Points(usize),
    Word(String),
}

/// The binary form.
#[derive(Serialize, Deserialize)]
enum SizeTagged {
    Auto,
    Points(usize),
}

impl Serialize for KernelSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            SizeRepr::from(*self).serialize(s)
        } else {
            match *self {
                Self::Auto => SizeTagged::Auto,
                Self::Points(n) => SizeTagged::Points(n),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for KernelSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        if d.is_human_readable() {
            Self::try_from(SizeRepr::deserialize(d)?).map_err(serde::de::Error::custom)
        } else {
            Ok(match SizeTagged::deserialize(d)? {
                SizeTagged::Auto => Self::Auto,
                SizeTagged::Points(n) => Self::Points(n),
            })
        }
    }
}

impl TryFrom<SizeRepr> for KernelSize {
    type Error = String;
    fn try_from(r: SizeRepr) -> std::result::Result<Self, String> {
        match r {
            SizeRepr::Points(n) => Ok(Self::Points(n)),
            SizeRepr::Word(w) => w.parse().map_err(|e: Error| e.to_string()),
        }
    }
}

impl From<KernelSize> for SizeRepr {
    fn from(k: KernelSize) -> Self {
        match k {
            KernelSize::Auto => Self::Word("auto".into()),
            KernelSize::Points(n) => Self::Points(n),
        }
    }
}

impl std::fmt::Display for KernelSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Points(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for KernelSize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse().map(Self::Points).map_err(|_| {
            Error::Invalid(format!(
                "kernel size must be an odd number of points or 'auto' (got '{s}')"
            ))
        })
    }
}

/// The mollifier's kernel as a run asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MollifierSettings {
    /// Kernel family.
    pub family: KernelFamily,
    /// Kernel size; unset, the problem's own ([`crate::problems::Problem::kernel_size`]). A
    /// run's saved config holds the size it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<KernelSize>,
    /// Policy at the edge of the grid; unset, the data's own: `periodic` for a periodic
    /// dataset (chromatin's square), else `network` (the network's own halo). A run's saved
    /// config holds the policy it used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
    /// Kernel construction in 2D.
    pub layout: Layout2d,
    /// The stencils' order of accuracy.
    pub accuracy: Accuracy,
    /// All derivatives of a fourth-order residual from the one field g∗φ∗φ.
    pub one_field: bool,
}

impl Default for MollifierSettings {
    /// The problem's kernel size and one mollified field for every order (chromatin, the one
    /// fourth-order problem, at 5 % noise and 5 seeds: Γ correlation 0.843 against 0.562 with
    /// orders ≤ 2 from g∗φ).
    fn default() -> Self {
        Self {
            size: None,
            one_field: true,
            ..MollifierConfig::default().into()
        }
    }
}

impl From<MollifierConfig> for MollifierSettings {
    fn from(m: MollifierConfig) -> Self {
        Self {
            family: m.family,
            size: Some(KernelSize::Points(m.size)),
            boundary: None,
            layout: m.layout,
            accuracy: m.accuracy,
            one_field: m.one_field,
        }
    }
}

impl MollifierSettings {
    /// The operator's configuration with the size `size` (resolved from `auto` if need be) and
    /// the boundary policy (`valid` where none was resolved).
    pub fn with_size(&self, size: usize) -> MollifierConfig {
        MollifierConfig {
            family: self.family,
            size,
            boundary: self.boundary.unwrap_or(Boundary::Valid),
            layout: self.layout,
            accuracy: self.accuracy,
            one_field: self.one_field,
        }
    }
}

/// The loss: data misfit plus a weighted PDE residual, both normalised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// Weight of the PDE residual loss against the data loss (0.1 let the data fit lead on
    /// the quick heat problem, measured against 1.0 and 0.01).
    pub pde_weight: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self { pde_weight: 0.1 }
    }
}

/// Adam.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub epsilon: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-5,
        }
    }
}

/// Steps and the learning-rate schedule: constant warm-up, then cosine decay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Adam steps.
    pub steps: usize,
    /// Steps of constant warm-up before the cosine decay.
    pub warmup: usize,
    /// Final learning rate as a fraction of the peak.
    pub final_fraction: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            steps: 2000,
            warmup: 0,
            final_fraction: 0.01,
        }
    }
}

impl RunConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learning rate at `step`: constant during warm-up, then cosine decay to
    /// `final_fraction` of the peak.
    pub fn learning_rate(&self, step: usize) -> f64 {
        let (s, lr) = (&self.schedule, self.optimizer.lr);
        if step < s.warmup {
            return lr;
        }
        let span = s.steps.saturating_sub(s.warmup).max(1) as f64;
        let progress = ((step - s.warmup) as f64 / span).min(1.0);
        let f = s.final_fraction;
        lr * (f + (1.0 - f) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
    }

    /// Refuses settings no run can use, with the reason.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.schedule.steps == 0 || self.model.width == 0 || self.model.depth == 0 {
            return bad("steps, width and depth must be at least 1".into());
        }
        if !(self.optimizer.lr.is_finite() && self.optimizer.lr > 0.0) {
            return bad(format!(
                "learning rate must be > 0 (got {})",
                self.optimizer.lr
            ));
        }
        if !(self.loss.pde_weight.is_finite() && self.loss.pde_weight >= 0.0) {
            return bad(format!(
                "pde_weight must be ≥ 0 (got {})",
                self.loss.pde_weight
            ));
        }
        if !(0.0..=1.0).contains(&self.schedule.final_fraction) {
            return bad(format!(
                "schedule.final_fraction must be in [0, 1] (got {})",
                self.schedule.final_fraction
            ));
        }
        if let Some(w) = self
            .model
            .fourier_max
            .filter(|w| !(w.is_finite() && *w >= 0.0))
        {
            return bad(format!("model.fourier_max must be ≥ 0 (got {w})"));
        }
        if let Some(KernelSize::Points(n)) = self.mollifier.size {
            crate::numerics::stencil::check_size(n)?;
        }
        Ok(())
    }

    /// Reads a TOML configuration (any subset of the sections).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Invalid(e.message().to_string()))
    }

    /// The configuration as TOML, every setting written out.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Sets the engine.
    pub fn with_engine(mut self, engine: EngineKind) -> Self {
        self.engine = engine;
        self
    }

    /// Sets the architecture.
    pub fn with_arch(mut self, arch: Arch) -> Self {
        self.model.arch = arch;
        self
    }

    /// Sets the number of steps.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.schedule.steps = steps;
        self
    }

    /// Sets the network width.
    pub fn with_width(mut self, width: usize) -> Self {
        self.model.width = width;
        self
    }

    /// Sets the network depth.
    pub fn with_depth(mut self, depth: usize) -> Self {
        self.model.depth = depth;
        self
    }

    /// Sets the initialisation seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.model.seed = seed;
        self
    }

    /// Sets the peak learning rate.
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.optimizer.lr = lr;
        self
    }

    /// Sets the PDE loss weight.
    pub fn with_pde_weight(mut self, w: f64) -> Self {
        self.loss.pde_weight = w;
        self
    }

    /// Sets the kernel.
    pub fn with_mollifier(mut self, m: impl Into<MollifierSettings>) -> Self {
        self.mollifier = m.into();
        self
    }
}
