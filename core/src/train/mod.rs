//! Training: a dataset and a problem's residual, a network, a derivative engine, Adam with
//! cosine learning-rate decay. [`Trainer::step`] is the unit; [`driver`] runs steps with hooks
//! for every front end (the CLI's loop, the browser's time slices, the examples). Readbacks
//! are async because WebGPU cannot block; native callers wrap them in a `block_on`.
//!
//! The trainer knows no problem: it asks the [`Problem`] for its fields, its derivative request
//! and its residual, and the [`engine`](crate::engine) for the derivatives.

mod checkpoint;
pub mod config;
pub mod driver;
pub mod metrics;

use std::collections::BTreeMap;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use web_time::Instant;

pub use config::{KernelSize, RunConfig};
pub use driver::{Control, Hooks, Outcome, StepBudget, Stopped};

use crate::data::dataset::Dataset;
use crate::engine::{self, Engine, Fields, Net, Points, Setup, tensor1};
use crate::error::{Error, Result};
use crate::model::{Arch, Network};
use crate::numerics::autosize;
use crate::numerics::mollifier::{Boundary, Deriv2, MollifierConfig};
use crate::problems::{self, Inputs, Problem};
use metrics::{Estimates, Metrics, Truths, crop_values, embed};

/// Fraction of each 2D axis left out of the metrics at either end (see [`Trainer::metric_region`]).
pub const METRIC_INSET: f64 = 0.2;

/// Per-step report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Steps taken so far.
    pub step: usize,
    /// Total loss.
    pub loss: f64,
    /// Data loss (normalised mean squared misfit on observed points).
    pub data_loss: f64,
    /// PDE loss (normalised mean squared residual).
    pub pde_loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Wall time of the step in seconds (forward, backward, update and the loss readback).
    pub seconds: f64,
}

/// Fixed tensors on an engine's evaluation points.
#[derive(Debug, Clone)]
struct Targets {
    obs: Tensor<1>,
    mask: Tensor<1>,
    mask_count: f64,
    /// Known fields' derivatives the residual uses, by field name.
    known: BTreeMap<&'static str, Fields>,
}

/// A training run in progress.
pub struct Trainer {
    config: RunConfig,
    problem: Box<dyn Problem>,
    engine: Box<dyn Engine>,
    model: Network,
    optim: ModuleOptimizer,
    device: Device,
    /// Largest device memory reserved after any step, where the backend reports it.
    peak_device_bytes: Option<u64>,
    /// [ny, nx] (1D: [1, n]).
    shape: [usize; 2],
    /// All grid points (x, then y in 2D).
    points: Points,
    /// Affine maps physical → [−1, 1] per coordinate: (scale, offset).
    normalise: Vec<(f64, f64)>,
    targets: Targets,
    obs_mean: f64,
    obs_std: f64,
    residual_scale: f64,
    truth: Option<Vec<f64>>,
    /// The intermediate derivative of the clean solution, where the dataset has that.
    intermediate_truth: Option<Vec<f64>>,
    notes: Vec<String>,
    step: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("problem", &self.problem)
            .field("shape", &self.shape)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// Mean and spread of the observed values: the solution head's output scale (1 when the data
/// cannot tell, e.g. a forward problem observed at one point).
fn observed_scale(observed: &[f64]) -> (f64, f64) {
    let (mean, spread) = (metrics::mean(observed), metrics::std(observed));
    let std = if observed.len() >= 2 && spread > 1e-9 * mean.abs().max(1.0) {
        spread
    } else {
        1.0
    };
    (mean, std)
}

/// `--kernel-size auto`: the kernel chosen from the dataset's observed points for the
/// highest-order derivative of u that `problem`'s residual needs.
pub fn auto_kernel(
    settings: &config::MollifierSettings,
    ds: &Dataset,
    problem: &dyn Problem,
) -> Result<autosize::AutoSize> {
    let dims = ds.grid.ndim();
    let target = autosize::Target::highest(problem.request().u, dims).unwrap_or(if dims == 1 {
        autosize::Target::Order(0)
    } else {
        autosize::Target::Deriv(Deriv2::U)
    });
    autosize::for_dataset(
        &settings.with_size(MollifierConfig::default().size),
        ds,
        target,
    )
}

/// [`auto_kernel`] for the built-in problem the dataset names.
pub fn auto_kernel_builtin(
    settings: &config::MollifierSettings,
    ds: &Dataset,
) -> Result<autosize::AutoSize> {
    let problem = problems::for_dataset(ds, &mut Vec::new())?;
    auto_kernel(settings, ds, problem.as_ref())
}

impl Trainer {
    /// Prepares a run of the built-in problem the dataset names on `device` (autodiff is
    /// enabled on it here).
    pub fn new(ds: &Dataset, config: RunConfig, device: &Device) -> Result<Self> {
        ds.validate()?;
        let mut notes = Vec::new();
        let problem = problems::for_dataset(ds, &mut notes)?;
        Self::build(ds, problem, config, device, notes)
    }

    /// Prepares a run of any problem (one defined outside this crate, say) on `ds`.
    pub fn with_problem(
        ds: &Dataset,
        problem: Box<dyn Problem>,
        config: RunConfig,
        device: &Device,
    ) -> Result<Self> {
        ds.validate()?;
        Self::build(ds, problem, config, device, Vec::new())
    }

    fn build(
        ds: &Dataset,
        problem: Box<dyn Problem>,
        mut config: RunConfig,
        device: &Device,
        mut notes: Vec<String>,
    ) -> Result<Self> {
        config.validate()?;
        if config.mollifier.boundary.is_none() {
            config.mollifier.boundary = Some(if ds.is_periodic() {
                notes.push("boundary: periodic, the dataset's own (its grid is one period)".into());
                Boundary::Periodic
            } else {
                // The network is a function of the coordinates: its halo costs a wider forward
                // pass and removes the paper's edge loss (heat at 5 % noise, 5 seeds: k
                // correlation 0.931 against Valid's 0.840).
                Boundary::Network
            });
        }
        let size = match config.mollifier.size {
            Some(KernelSize::Points(n)) => n,
            Some(KernelSize::Auto) => {
                let auto = auto_kernel(&config.mollifier, ds, problem.as_ref())?;
                notes.push(auto.describe());
                auto.size
            }
            None => problem.kernel_size(),
        };
        config.mollifier.size = Some(KernelSize::Points(size));
        if config.model.arch == Arch::Pinn {
            config
                .model
                .fourier_max
                .get_or_insert_with(|| problem.fourier_max());
        }
        let device = device.clone().autodiff();
        let dims = ds.grid.ndim();
        let shape = ds.grid.shape_2d();
        let request = problem.request();
        let known_decl = problem.known();
        let known_keys = known_decl.iter().flat_map(|k| k.derivs.clone()).collect();
        let engine = engine::build(
            config.engine,
            &Setup {
                grid: &ds.grid,
                request: &request,
                known: &known_keys,
                mollifier: config.mollifier.with_size(size),
                device: &device,
            },
        )?;
        // Coordinates: x varies fastest (C order), normalised to [−1, 1] inside the network.
        let mut axes = vec![ds.grid.x().clone()];
        axes.extend(ds.grid.y().cloned());
        let points = engine::coordinates(&ds.grid, [0, 0], &device);
        let normalise = axes
            .iter()
            .map(|a| {
                let scale = 2.0 / (a.end() - a.start);
                (scale, -1.0 - a.start * scale)
            })
            .collect();
        let obs_all = ds.field(problem.observed())?;
        let all_observed;
        let mask_all = match ds.fields.get("mask") {
            Some(m) => m.values.as_slice(),
            None => {
                notes
                    .push("no 'mask' field: every grid point of the observed field is used".into());
                all_observed = vec![1.0; ds.grid.len()];
                &all_observed
            }
        };
        let observed_values: Vec<f64> = obs_all
            .iter()
            .zip(mask_all)
            .filter(|(_, m)| **m > 0.0)
            .map(|(v, _)| *v)
            .collect();
        let (obs_mean, obs_std) = observed_scale(&observed_values);
        let data_margin = engine.data_margin();
        let mask = crop_values(mask_all, shape, data_margin);
        let mask_count = mask.iter().sum::<f64>();
        if mask_count == 0.0 {
            return Err(Error::data(
                &ds.problem,
                "no observed point lies where the mollifier defines u: use a boundary policy that pads (reflect, extrapolate)",
            ));
        }
        let mut known = BTreeMap::new();
        for k in &known_decl {
            let values = ds.field(k.field)?;
            let exact = |d: Deriv2| problem.exact_known(k.field, values, &ds.grid, d);
            known.insert(k.field, engine.known(values, &k.derivs, &exact)?);
        }
        let residual_scale = problem.residual_scale(ds, &observed_values, obs_std)?;
        let targets = Targets {
            obs: tensor1(crop_values(obs_all, shape, data_margin), &device),
            mask: tensor1(mask, &device),
            mask_count,
            known,
        };
        let model = config.model.init(dims, &device);
        // Real data has no ground truth: training runs without it, and the metrics that
        // need it are absent.
        let truth = metrics::parameter_truth(problem.as_ref(), ds).map(<[f64]>::to_vec);
        let intermediate_truth = metrics::intermediate_truth(problem.as_ref(), ds);
        let o = &config.optimizer;
        let optim = AdamConfig::new()
            .with_beta_1(o.beta1 as f32)
            .with_beta_2(o.beta2 as f32)
            .with_epsilon(o.epsilon as f32)
            .init();
        Ok(Self {
            optim,
            config,
            problem,
            engine,
            model,
            peak_device_bytes: None,
            device: device.clone(),
            shape,
            points,
            normalise,
            targets,
            obs_mean,
            obs_std,
            residual_scale: residual_scale.max(1e-12),
            truth,
            intermediate_truth,
            notes,
            step: 0,
        })
    }

    /// Assumptions made where the dataset is silent, and choices made from the data (the
    /// kernel size under `auto`), in words, for the run's log and summary.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The run's configuration, resolved (an `auto` kernel size replaced by the size chosen).
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The problem being solved, with the dataset's constants.
    pub fn problem(&self) -> &dyn Problem {
        self.problem.as_ref()
    }

    /// The ground truth of the parameter (C order on the grid), where the dataset has it.
    pub fn truth(&self) -> Option<&[f64]> {
        self.truth.as_deref()
    }

    /// The intermediate derivative of the clean solution (C order, NaN on the edge), where the
    /// dataset has the clean solution.
    pub fn intermediate_truth(&self) -> Option<&[f64]> {
        self.intermediate_truth.as_deref()
    }

    /// Steps taken.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    fn net(&self) -> Net<'_> {
        Net {
            model: &self.model,
            points: &self.points,
            normalise: &self.normalise,
            shape: self.shape,
            scale: (self.obs_std, self.obs_mean),
        }
    }

    /// One Adam step; returns the losses before the update and the step's wall time.
    pub async fn step(&mut self) -> Result<StepReport> {
        let start = Instant::now();
        let d = self.engine.derivatives(&self.net())?;
        let misfit = (d.data()? - self.targets.obs.clone()) / self.obs_std;
        let data =
            (misfit.clone() * misfit * self.targets.mask.clone()).sum() / self.targets.mask_count;
        let inputs = Inputs {
            u: &d.u,
            p: &d.p,
            known: &self.targets.known,
        };
        let r = self.problem.residual(&inputs)? / self.residual_scale;
        let pde = (r.clone() * r).mean();
        let loss = data.clone() + pde.clone() * self.config.loss.pde_weight;
        let lr = self.config.learning_rate(self.step);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        let v = read_f64(Tensor::cat(vec![loss, data, pde], 0)).await?;
        self.step += 1;
        if let Some(usage) = self.device.memory_pool_usage() {
            self.peak_device_bytes = Some(
                self.peak_device_bytes
                    .unwrap_or(0)
                    .max(usage.bytes_reserved),
            );
        }
        let report = StepReport {
            step: self.step,
            loss: v[0],
            data_loss: v[1],
            pde_loss: v[2],
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        if !report.loss.is_finite() {
            return Err(Error::Diverged {
                step: self.step,
                value: report.loss,
            });
        }
        Ok(report)
    }

    /// The solution u on the data region (the whole grid, less the mollifier's Valid margin),
    /// C order: for forward problems, the answer.
    pub async fn solution(&self) -> Result<Vec<f64>> {
        read_f64(self.engine.derivatives(&self.net())?.data()?).await
    }

    /// The recovered parameter on every grid point (C order).
    pub async fn parameter(&self) -> Result<Vec<f64>> {
        read_f64(self.net().fields().1).await
    }

    /// Every estimate of the run on the whole grid: the fitted solution, the parameter head,
    /// the separable estimate and the intermediate derivative of u (NaN where the engine defines none).
    pub async fn estimates(&self) -> Result<Estimates> {
        let d = self.engine.derivatives(&self.net())?;
        let (shape, m) = (self.shape, self.engine.margin());
        let intermediate = match self.problem.intermediate() {
            Some(i) => Some(embed(&read_f64(d.u.get(i.key)?).await?, shape, m)),
            None => None,
        };
        let inputs = Inputs {
            u: &d.u,
            p: &d.p,
            known: &self.targets.known,
        };
        let separable = match problems::separable_estimate(self.problem.as_ref(), &inputs)? {
            Some(s) => Some(embed(&read_f64(s).await?, shape, m)),
            None => None,
        };
        let solution = embed(
            &read_f64(d.data()?).await?,
            shape,
            self.engine.data_margin(),
        );
        Ok(Estimates {
            solution,
            parameter: self.parameter().await?,
            separable,
            intermediate,
        })
    }

    /// Metrics of the estimates against the truth on [`Trainer::metric_regions`]; `None` for
    /// forward problems and data without ground truth.
    pub async fn metrics(&self) -> Result<Option<Metrics>> {
        if self.truth.is_none() {
            return Ok(None);
        }
        Ok(self.metrics_of(&self.estimates().await?))
    }

    /// [`Trainer::metrics`] of estimates already read (a caller that also writes them out
    /// evaluates the engine once).
    pub fn metrics_of(&self, estimates: &Estimates) -> Option<Metrics> {
        let truths = Truths {
            parameter: self.truth.as_deref()?,
            intermediate: self.intermediate_truth.as_deref(),
        };
        Some(Metrics::new(
            estimates,
            &truths,
            self.problem.intermediate().map(|i| i.symbol),
            self.shape,
            self.metric_regions(),
        ))
    }

    /// The parameter values `parameter` (C order, e.g. from [`Trainer::parameter`]) scored
    /// against the truth on the interior: the cheap part of [`Trainer::metrics`], which also
    /// evaluates the engine's derivatives (a forward pass) for the other estimates.
    pub fn parameter_score(&self, parameter: &[f64]) -> Option<metrics::Score> {
        let region = self.metric_region();
        self.truth.as_ref().map(|t| {
            metrics::Score::new(
                &crop_values(parameter, self.shape, region),
                &crop_values(t, self.shape, region),
            )
        })
    }

    /// Peak memory so far: the device allocator's largest reservation after a step (GPU
    /// backends), else the process's peak resident set (native CPU), else `None` (browser CPU).
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        self.peak_device_bytes.or_else(checkpoint::process_peak_rss)
    }

    /// What [`Trainer::peak_memory_bytes`] counts: a ratio of two runs' memory means something
    /// only when both count the same.
    pub fn memory_counter(&self) -> &'static str {
        if self.peak_device_bytes.is_some() {
            "device pool reserved"
        } else if checkpoint::process_peak_rss().is_some() {
            "process peak RSS"
        } else {
            "none"
        }
    }

    /// Margins [y, x] of the two metric regions, the same for every engine of a configuration
    /// so their numbers compare. *Whole*: the grid less the kernel's half-width (where the
    /// mollifier's Valid boundary defines no u, and the paper drops its residual), at least one
    /// point (the reference derivative is central differences) and at least the engine's own
    /// margin. *Interior*: in 2D also a band of [`METRIC_INSET`] of each axis: next to a
    /// Dirichlet boundary the data and the residual barely constrain the parameter, for every
    /// engine alike (measured on heat: correlation 0.39 within 5 points of the edge, 0.98 from
    /// 12 points in).
    ///
    /// Periodic data (the boundary policy `periodic`) have no edge: both regions are the grid
    /// less the one point the central-difference reference needs.
    pub fn metric_regions(&self) -> [[usize; 2]; 2] {
        let periodic = self.config.mollifier.boundary == Some(Boundary::Periodic);
        let half = match self.config.mollifier.size {
            Some(KernelSize::Points(n)) if !periodic => n / 2,
            _ => 0,
        };
        let m = self.engine.margin();
        let is_2d = self.shape[0] > 1;
        let whole = [
            if is_2d { m[0].max(half).max(1) } else { 0 },
            m[1].max(half).max(1),
        ];
        let inset = |n: usize| (METRIC_INSET * n as f64).round() as usize;
        let interior = if is_2d && !periodic {
            [
                whole[0].max(inset(self.shape[0])),
                whole[1].max(inset(self.shape[1])),
            ]
        } else {
            whole
        };
        [whole, interior]
    }

    /// The interior metric region (what a plot outlines).
    pub fn metric_region(&self) -> [usize; 2] {
        self.metric_regions()[1]
    }
}

/// Reads a tensor back as f64 values, asynchronously (WebGPU cannot block on a readback).
async fn read_f64<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| Error::Backend(format!("{e:?}")))?;
    data.convert::<f64>()
        .try_to_vec::<f64>()
        .map_err(|e| Error::Backend(format!("{e:?}")))
}
