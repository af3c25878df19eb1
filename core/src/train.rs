//! Training: a dataset and a problem's residual, a network, a derivative engine, Adam with
//! cosine learning-rate decay. [`Trainer::step`] is the unit both front ends drive: the CLI in
//! a loop, the browser a few steps per frame from a worker. Readbacks are async because WebGPU
//! cannot block; native callers wrap them in a `block_on`.

use burn::config::Config;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use web_time::Instant;

use crate::dataset::Dataset;
use crate::engine::{Derivs, EngineKind, FiniteDifferences, Needs, need};
use crate::error::{Error, Result};
use crate::jet::{Jet, JetLayout};
use crate::metrics::{Metrics, crop_values};
use crate::model::{Arch, Network};
use crate::mollifier::{Boundary, Deriv2, Mollifier, MollifierConfig};
use crate::problems::{self, chromatin, heat};
use crate::recursive;

/// Everything a training run is parameterised by.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Derivative engine.
    #[config(default = "EngineKind::Mollifier")]
    pub engine: EngineKind,
    /// Mollifier kernel (mollifier engine only).
    #[config(default = "MollifierConfig::default()")]
    pub mollifier: MollifierConfig,
    /// Network architecture.
    #[config(default = "Arch::Pinn")]
    pub arch: Arch,
    /// Network depth (hidden layers; PirateNet: one block per three layers).
    #[config(default = 4)]
    pub depth: usize,
    /// Network width.
    #[config(default = 64)]
    pub width: usize,
    /// Adam steps.
    #[config(default = 2000)]
    pub steps: usize,
    /// Peak learning rate.
    #[config(default = 3e-3)]
    pub lr: f64,
    /// Steps of constant warm-up before the cosine decay.
    #[config(default = 0)]
    pub warmup: usize,
    /// Weight of the PDE residual loss against the data loss (both normalised; 0.1 let the
    /// data fit lead on the quick heat problem, measured against 1.0 and 0.01).
    #[config(default = 0.1)]
    pub pde_weight: f64,
    /// Seed of the network initialisation.
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainConfig {
    /// Learning rate at `step`: constant during warm-up, then cosine decay to 1% of the peak.
    pub fn learning_rate(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr;
        }
        let span = self.steps.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        self.lr * (0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))
    }
}

/// Which residual a dataset asks for, with its constants.
#[derive(Debug, Clone, Copy)]
enum Physics {
    Langevin { gamma: f64 },
    Heat { form: heat::Form },
    Chromatin { params: chromatin::Params },
    Ode { a: f64 },
}

impl Physics {
    /// The residual a dataset asks for, its observed field, and the assumptions made where the
    /// manifest is silent (said in the run's summary).
    fn of(ds: &Dataset) -> Result<(Self, &'static str, Vec<String>)> {
        let mut notes = Vec::new();
        let meta = |k: &str| {
            ds.meta_f64(k).ok_or_else(|| {
                Error::data(
                    "dataset.json",
                    format!("meta '{k}' missing for problem '{}'", ds.problem),
                )
            })
        };
        let (physics, observed) = match ds.problem.as_str() {
            "langevin" => (
                Self::Langevin {
                    gamma: meta("gamma")?,
                },
                "v",
            ),
            "heat" => {
                let form = match ds.meta.get("form") {
                    None => {
                        notes.push(format!(
                            "meta 'form' is absent: the {} form k∇²T + f = 0 applies",
                            heat::Form::NonDivergence.name()
                        ));
                        heat::Form::NonDivergence
                    }
                    Some(serde_json::Value::String(name)) => name.parse().map_err(|e: Error| {
                        Error::data("dataset.json", format!("meta 'form': {e}"))
                    })?,
                    Some(other) => {
                        return Err(Error::data(
                            "dataset.json",
                            format!("meta 'form' is {other}, expected the name of a heat form"),
                        ));
                    }
                };
                (Self::Heat { form }, "T")
            }
            "chromatin" => {
                let params = chromatin::Params {
                    phi_max: meta("phi_max")?,
                    l: meta("l")?,
                    domain: meta("domain")?,
                    ..chromatin::Params::default()
                };
                check_periodic_square(ds, params.domain)?;
                (Self::Chromatin { params }, "phi_d")
            }
            "ode" => (Self::Ode { a: meta("a")? }, "u"),
            other => {
                return Err(Error::Invalid(format!(
                    "no residual is known for problem '{other}'"
                )));
            }
        };
        Ok((physics, observed, notes))
    }

    fn needs(&self) -> Needs {
        match self {
            Self::Langevin { .. } | Self::Ode { .. } => Needs {
                grad: true,
                ..Needs::default()
            },
            Self::Heat { form } => Needs {
                grad: *form == heat::Form::Divergence,
                lap: true,
                grad_p: *form == heat::Form::Divergence,
                ..Needs::default()
            },
            Self::Chromatin { .. } => Needs {
                grad: true,
                lap: true,
                bih: true,
                ..Needs::default()
            },
        }
    }

    /// Name of the ground-truth parameter field, if the problem is inverse.
    fn truth(&self) -> Option<&'static str> {
        match self {
            Self::Langevin { .. } => Some("F"),
            Self::Heat { .. } => Some("k"),
            Self::Chromatin { .. } => Some("gamma"),
            Self::Ode { .. } => None,
        }
    }
}

/// Chromatin lives on a periodic square [0, domain)² of n × n points with step domain / n:
/// its spectral derivatives (autodiff engines) and the simulator assume exactly that, so any
/// other grid is refused here instead of failing deep inside the spectral path.
fn check_periodic_square(ds: &Dataset, domain: f64) -> Result<()> {
    let bad = |m: String| Err(Error::data("dataset.json", m));
    let [y, x] = ds.grid.axes.as_slice() else {
        return bad(format!(
            "chromatin needs a 2D grid (got {} axes)",
            ds.grid.ndim()
        ));
    };
    if y.n != x.n {
        return bad(format!(
            "chromatin is solved on a periodic square: the grid is {} × {} points, it must be n × n",
            y.n, x.n
        ));
    }
    for a in [y, x] {
        let span = a.n as f64 * a.step;
        if !(domain.is_finite() && domain > 0.0) || (span - domain).abs() > 1e-6 * domain {
            return bad(format!(
                "chromatin's periodic domain is {domain}, but axis '{}' covers {} points × step {} = {span} \
                 (a periodic grid holds n points with step domain / n, the end point left out)",
                a.name, a.n, a.step
            ));
        }
    }
    Ok(())
}

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
    /// Known fields the residual uses, on the evaluation points.
    known: Vec<Tensor<1>>,
}

/// A training run in progress.
pub struct Trainer {
    config: TrainConfig,
    physics: Physics,
    model: Network,
    optim: ModuleOptimizer,
    device: Device,
    /// Largest device memory reserved after any step, where the backend reports it.
    peak_device_bytes: Option<u64>,
    /// [ny, nx] (1D: [1, n]).
    shape: [usize; 2],
    spacing: [f64; 2],
    /// Physical coordinates of all grid points, [N, 1] each (x, then y in 2D).
    coords: Vec<Tensor<2>>,
    /// Affine maps physical → [−1, 1] per coordinate: (scale, offset).
    normalise: Vec<(f64, f64)>,
    mollifier: Option<Mollifier>,
    /// Margin [y, x] of the evaluation points inside the grid.
    margin: [usize; 2],
    targets: Targets,
    obs_mean: f64,
    obs_std: f64,
    residual_scale: f64,
    truth: Option<Vec<f64>>,
    notes: Vec<String>,
    step: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("physics", &self.physics)
            .field("shape", &self.shape)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

fn tensor1(v: Vec<f64>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

fn crop(t: Tensor<2>, m: [usize; 2]) -> Tensor<2> {
    let [ny, nx] = t.dims();
    t.slice([m[0]..ny - m[0], m[1]..nx - m[1]])
}

fn flat(t: Tensor<2>) -> Tensor<1> {
    let n = t.dims().iter().product::<usize>();
    t.reshape([n])
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

impl Trainer {
    /// Prepares a run on `device` (autodiff is enabled on it here).
    pub fn new(ds: &Dataset, config: TrainConfig, device: &Device) -> Result<Self> {
        ds.validate()?;
        let (physics, observed, mut notes) = Physics::of(ds)?;
        let device = device.clone().autodiff();
        device.seed(config.seed);
        let dims = ds.grid.ndim();
        let shape = if dims == 1 {
            [1, ds.grid.x().n]
        } else {
            [ds.grid.axes[0].n, ds.grid.axes[1].n]
        };
        let spacing = [ds.grid.y().map_or(1.0, |a| a.step), ds.grid.x().step];
        let needs = physics.needs();
        // Coordinates: x varies fastest (C order), normalised to [−1, 1] inside the network.
        let mut axes = vec![ds.grid.x().clone()];
        axes.extend(ds.grid.y().cloned());
        let nx = ds.grid.x().n;
        let coords: Vec<Tensor<2>> = axes
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let v: Vec<f64> = (0..ds.grid.len())
                    .map(|p| a.coord(if k == 0 { p % nx } else { p / nx }))
                    .collect();
                Tensor::from_data(TensorData::new(v, [ds.grid.len(), 1]), &device)
            })
            .collect();
        let normalise = axes
            .iter()
            .map(|a| {
                let scale = 2.0 / (a.end() - a.start);
                (scale, -1.0 - a.start * scale)
            })
            .collect();
        let (mollifier, margin) = match config.engine {
            EngineKind::Mollifier => {
                let op = if dims == 1 {
                    Mollifier::new_1d(config.mollifier, spacing[1], &device)?
                } else {
                    Mollifier::new_2d(config.mollifier, spacing[1], spacing[0], &device)?
                };
                // Padded boundary policies return the whole grid; Valid drops the margin.
                let margin = if config.mollifier.boundary != Boundary::Valid {
                    [0, 0]
                } else if dims == 1 {
                    [0, op.margin_1d(&orders_1d(needs))?]
                } else {
                    op.margin_2d(&derivs_2d(needs))?
                };
                (Some(op), margin)
            }
            EngineKind::Taylor | EngineKind::Recursive => (None, [0, 0]),
            EngineKind::FiniteDifference => {
                let m = if needs.bih {
                    2
                } else {
                    usize::from(needs.order() > 0)
                };
                (None, if dims == 1 { [0, m] } else { [m, m] })
            }
        };
        if margin[0] * 2 >= shape[0].max(1) && dims == 2 || margin[1] * 2 >= shape[1] {
            return Err(Error::KernelTooWide {
                size: config.mollifier.size,
                support: 2 * margin[1] + 1,
                points: shape[1],
            });
        }
        let obs_all = ds.field(observed)?;
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
        let obs_mean = observed_values.iter().sum::<f64>() / observed_values.len().max(1) as f64;
        // Output scale of the solution head: the data's spread; 1 when the data cannot tell
        // (a forward problem observed at one point).
        let spread = (observed_values
            .iter()
            .map(|v| (v - obs_mean).powi(2))
            .sum::<f64>()
            / observed_values.len().max(1) as f64)
            .sqrt();
        let obs_std = if observed_values.len() >= 2 && spread > 1e-9 * obs_mean.abs().max(1.0) {
            spread
        } else {
            1.0
        };
        // The data loss uses every observed point where the engine defines u: the whole grid,
        // except the mollifier's Valid margin.
        let data_margin = if config.engine == EngineKind::Mollifier {
            margin
        } else {
            [0, 0]
        };
        let mask = crop_values(mask_all, shape, data_margin);
        let mask_count = mask.iter().sum::<f64>();
        if mask_count == 0.0 {
            return Err(Error::data(
                &ds.problem,
                "no observed point lies where the mollifier defines u: use a boundary policy that pads (reflect, extrapolate)",
            ));
        }
        let (known, residual_scale) = match physics {
            Physics::Heat { .. } => {
                let f = ds.field("f")?;
                (
                    vec![tensor1(crop_values(f, shape, margin), &device)],
                    rms(f),
                )
            }
            Physics::Langevin { gamma } => (vec![], gamma * rms(&observed_values)),
            Physics::Ode { .. } => {
                let s = ds.field("s")?;
                (
                    vec![tensor1(crop_values(s, shape, margin), &device)],
                    rms(s),
                )
            }
            Physics::Chromatin { params } => {
                let w = ds.field("phi_w")?;
                let known = known_derivatives(
                    w,
                    shape,
                    spacing,
                    margin,
                    config.engine,
                    mollifier.as_ref(),
                    params.domain,
                    &device,
                )?;
                (known, 2.0 * obs_std.max(rms(&observed_values)))
            }
        };
        let targets = Targets {
            obs: tensor1(crop_values(obs_all, shape, data_margin), &device),
            mask: tensor1(mask, &device),
            mask_count,
            known,
        };
        let model = Network::new(
            config.arch,
            dims,
            config.width,
            config.depth,
            config.seed,
            &device,
        );
        // Real data has no ground truth: training runs without it, and the metrics that
        // need it are absent.
        let truth = physics
            .truth()
            .and_then(|name| ds.fields.get(name))
            .map(|f| f.values.clone());
        Ok(Self {
            optim: AdamConfig::new().init(),
            config,
            physics,
            model,
            peak_device_bytes: None,
            device: device.clone(),
            shape,
            spacing,
            coords,
            normalise,
            mollifier,
            margin,
            targets,
            obs_mean,
            obs_std,
            residual_scale: residual_scale.max(1e-12),
            truth,
            notes,
            step: 0,
        })
    }

    /// Assumptions made where the dataset is silent, in words, for the run's log and summary.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The run's configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The ground truth of the parameter (C order on the grid), for inverse problems.
    pub fn truth(&self) -> Option<&[f64]> {
        self.truth.as_deref()
    }

    /// Steps taken.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    fn inputs_plain(&self) -> Vec<Tensor<2>> {
        self.coords
            .iter()
            .zip(&self.normalise)
            .map(|(c, (s, o))| c.clone() * *s + *o)
            .collect()
    }

    /// Network outputs on every grid point: (solution head scaled to data units, parameter).
    fn plain_fields(&self) -> (Tensor<2>, Tensor<2>) {
        let out = self.model.forward(&self.inputs_plain());
        let u = out.clone().narrow(1, 0, 1) * self.obs_std + self.obs_mean;
        let p = out.narrow(1, 1, 1) + 1.0;
        (u.reshape(self.shape), p.reshape(self.shape))
    }

    /// The engine's derivatives on its evaluation points.
    fn derivatives(&self) -> Result<Derivs> {
        let needs = self.physics.needs();
        match self.config.engine {
            EngineKind::Mollifier => {
                let op = self
                    .mollifier
                    .as_ref()
                    .expect("mollifier engine has an operator");
                let (g, p) = self.plain_fields();
                let mut d = Derivs::default();
                if self.shape[0] == 1 {
                    let n = self.shape[1];
                    let orders = orders_1d(needs);
                    let out = op.derivatives_1d(g.reshape([n]), &orders)?;
                    let m = self.margin[1];
                    d.u = Some(out[0].clone());
                    d.u_x = needs.grad.then(|| out[1].clone());
                    d.p = Some(p.reshape([n]).narrow(0, m, n - 2 * m));
                } else {
                    let wanted = derivs_2d(needs);
                    let mut out = op.derivatives_2d(g, &wanted)?.into_iter().map(flat);
                    d.u = out.next();
                    if needs.grad {
                        d.u_x = out.next();
                        d.u_y = out.next();
                    }
                    if needs.lap || needs.bih {
                        d.lap = out.next();
                    }
                    if needs.bih {
                        d.bih = out.next();
                    }
                    if needs.grad_p {
                        let mut pd = op.derivatives_2d(p.clone(), &wanted)?.into_iter().map(flat);
                        pd.next();
                        d.p_x = pd.next();
                        d.p_y = pd.next();
                    }
                    d.p = Some(flat(crop(p, self.margin)));
                }
                Ok(d)
            }
            EngineKind::Taylor => {
                let dims = self.coords.len();
                let layout = JetLayout::new(dims, needs.order())?;
                let inputs: Vec<Jet<2>> = self
                    .coords
                    .iter()
                    .zip(&self.normalise)
                    .enumerate()
                    .map(|(k, (c, (s, o)))| {
                        Ok(Jet::coordinate(&layout, c.clone(), k)?
                            .map_linear(|c| c * *s, |c| c + *o))
                    })
                    .collect::<Result<_>>()?;
                let out = self.model.forward(&inputs);
                let (std, mean) = (self.obs_std, self.obs_mean);
                let u = out.map_linear(|c| c.narrow(1, 0, 1) * std, |c| c + mean);
                let p = out.map_linear(|c| c.narrow(1, 1, 1), |c| c + 1.0);
                let f = |t: Tensor<2>| flat(t);
                let d2 = |a, b| u.derivative(a, b).map(f);
                let mut d = Derivs {
                    u: Some(f(u.value())),
                    p: Some(f(p.value())),
                    ..Derivs::default()
                };
                if needs.grad {
                    d.u_x = Some(d2(1, 0)?);
                    if dims == 2 {
                        d.u_y = Some(d2(0, 1)?);
                    }
                }
                if needs.lap || needs.bih {
                    d.lap = Some(d2(2, 0)? + d2(0, 2)?);
                }
                if needs.bih {
                    d.bih = Some(d2(4, 0)? + d2(2, 2)? * 2.0 + d2(0, 4)?);
                }
                if needs.grad_p {
                    d.p_x = Some(f(p.derivative(1, 0)?));
                    d.p_y = Some(f(p.derivative(0, 1)?));
                }
                Ok(d)
            }
            EngineKind::Recursive => {
                let raw =
                    recursive::derivatives(&self.model, &self.coords, &self.normalise, needs)?;
                let (std, mean) = (self.obs_std, self.obs_mean);
                let scaled = |t: Option<Tensor<1>>| t.map(|t| t * std);
                Ok(Derivs {
                    u: raw.u.map(|u| u * std + mean),
                    u_x: scaled(raw.u_x),
                    u_y: scaled(raw.u_y),
                    lap: scaled(raw.lap),
                    bih: scaled(raw.bih),
                    p: raw.p.map(|p| p + 1.0),
                    ..raw
                })
            }
            EngineKind::FiniteDifference => {
                let (u, p) = self.plain_fields();
                let fd = FiniteDifferences {
                    spacing: self.spacing,
                    two_d: self.shape[0] > 1,
                };
                let m = self.margin;
                // Difference quotients are one point short of the grid on each differenced side.
                let inner = [
                    m[0].saturating_sub(usize::from(fd.two_d)),
                    m[1].saturating_sub(1),
                ];
                let mut d = Derivs {
                    u_data: Some(flat(u.clone())),
                    u: Some(flat(crop(u.clone(), m))),
                    p: Some(flat(crop(p.clone(), m))),
                    ..Derivs::default()
                };
                if needs.grad {
                    let [dx, dy] = fd.gradient(u.clone());
                    d.u_x = dx.map(|t| flat(crop(t, inner)));
                    d.u_y = dy.map(|t| flat(crop(t, inner)));
                }
                if needs.lap || needs.bih {
                    let lap = fd.laplacian(u);
                    if needs.bih {
                        d.bih = Some(flat(fd.laplacian(lap.clone())));
                    }
                    d.lap = Some(flat(crop(lap, inner)));
                }
                if needs.grad_p {
                    let [px, py] = fd.gradient(p);
                    d.p_x = px.map(|t| flat(crop(t, inner)));
                    d.p_y = py.map(|t| flat(crop(t, inner)));
                }
                Ok(d)
            }
        }
    }

    /// Residual on the evaluation points.
    fn residual(&self, d: &Derivs) -> Tensor<1> {
        let k = &self.targets.known;
        let p = need(&d.p, "p");
        match self.physics {
            Physics::Langevin { gamma } => {
                problems::langevin::residual(need(&d.u, "u"), need(&d.u_x, "u_t"), p, gamma)
            }
            Physics::Ode { a } => {
                problems::ode::residual(need(&d.u, "u"), need(&d.u_x, "u_t"), k[0].clone(), a)
            }
            Physics::Heat { form } => {
                let grad = match form {
                    heat::Form::Divergence => {
                        need(&d.p_x, "p_x") * need(&d.u_x, "u_x")
                            + need(&d.p_y, "p_y") * need(&d.u_y, "u_y")
                    }
                    heat::Form::NonDivergence => p.zeros_like(),
                };
                heat::residual(form, p, need(&d.lap, "lap"), grad, k[0].clone())
            }
            Physics::Chromatin { params } => chromatin::residual(
                &params,
                chromatin::Fields {
                    phi_d: need(&d.u, "u"),
                    phi_d_x: need(&d.u_x, "u_x"),
                    phi_d_y: need(&d.u_y, "u_y"),
                    lap_phi_d: need(&d.lap, "lap"),
                    bih_phi_d: need(&d.bih, "bih"),
                    phi_w: k[0].clone(),
                    phi_w_x: k[1].clone(),
                    phi_w_y: k[2].clone(),
                    lap_phi_w: k[3].clone(),
                    gamma: p,
                },
            ),
        }
    }

    /// One Adam step; returns the losses before the update and the step's wall time.
    pub async fn step(&mut self) -> Result<StepReport> {
        let start = Instant::now();
        let d = self.derivatives()?;
        let u = d.u_data.clone().unwrap_or_else(|| need(&d.u, "u"));
        let misfit = (u - self.targets.obs.clone()) / self.obs_std;
        let data =
            (misfit.clone() * misfit * self.targets.mask.clone()).sum() / self.targets.mask_count;
        let r = self.residual(&d) / self.residual_scale;
        let pde = (r.clone() * r).mean();
        let loss = data.clone() + pde.clone() * self.config.pde_weight;
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
        let d = self.derivatives()?;
        read_f64(d.u_data.unwrap_or_else(|| need(&d.u, "u"))).await
    }

    /// The recovered parameter on every grid point (C order).
    pub async fn parameter(&self) -> Result<Vec<f64>> {
        read_f64(self.plain_fields().1).await
    }

    /// Metrics of the recovered parameter against the truth (None for forward problems and
    /// data without ground truth), on
    /// [`Trainer::metric_region`].
    pub async fn metrics(&self) -> Result<Option<Metrics>> {
        let Some(truth) = &self.truth else {
            return Ok(None);
        };
        let p = self.parameter().await?;
        Ok(Some(Metrics::compare(
            &p,
            truth,
            self.shape,
            self.metric_region(),
        )))
    }

    /// Saves the weights, the optimiser's state and the step count to `dir`, atomically: the
    /// new checkpoint is written beside it and swapped in, so a crash leaves the last one whole.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_checkpoint(&self, dir: &std::path::Path) -> Result<()> {
        use burn::module::Module;
        let partial = dir.with_extension("partial");
        let io = |p: &std::path::Path| {
            let path = p.display().to_string();
            move |source| Error::Write { path, source }
        };
        let record = |e: burn::store::RecordError| Error::Backend(format!("checkpoint: {e}"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
        std::fs::create_dir_all(&partial).map_err(io(&partial))?;
        self.model
            .clone()
            .save_file(partial.join("model.bpk"))
            .map_err(record)?;
        self.optim
            .save(partial.join("optimizer.bpk"))
            .map_err(record)?;
        let state = serde_json::json!({ "step": self.step });
        crate::io::write_atomic(&partial.join("state.json"), state.to_string().as_bytes())?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::rename(&partial, dir).map_err(io(dir))
    }

    /// Restores a checkpoint written by [`Trainer::save_checkpoint`] for the same configuration.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_checkpoint(&mut self, dir: &std::path::Path) -> Result<()> {
        use burn::module::Module;
        let bad = |what: String| Error::data(&dir.display().to_string(), what);
        let state =
            std::fs::read_to_string(dir.join("state.json")).map_err(|source| Error::Io {
                path: dir.join("state.json").display().to_string(),
                source,
            })?;
        let state: serde_json::Value =
            serde_json::from_str(&state).map_err(|e| bad(format!("state.json: {e}")))?;
        let step = state["step"]
            .as_u64()
            .ok_or_else(|| bad("state.json has no step".into()))?;
        self.model = self
            .model
            .clone()
            .try_load_file(dir.join("model.bpk"))
            .map_err(|e| bad(format!("model.bpk does not fit this configuration: {e}")))?;
        let optim = std::mem::replace(&mut self.optim, AdamConfig::new().init());
        self.optim = optim
            .load(dir.join("optimizer.bpk"))
            .map_err(|e| bad(format!("optimizer.bpk: {e}")))?;
        self.step = step as usize;
        Ok(())
    }

    /// Peak memory so far: the device allocator's largest reservation after a step (GPU
    /// backends), else the process's peak resident set (native CPU), else `None` (browser CPU).
    pub fn peak_memory_bytes(&self) -> Option<u64> {
        self.peak_device_bytes.or_else(process_peak_rss)
    }

    /// Margin [y, x] excluded from the metrics: the same for every engine, so their numbers
    /// compare. In 2D a band of [`METRIC_INSET`] of each axis: next to a Dirichlet boundary the
    /// data and the residual barely constrain the parameter, for every engine alike (measured
    /// on heat: correlation 0.39 within 5 points of the edge, 0.98 from 12 points in).
    pub fn metric_region(&self) -> [usize; 2] {
        if self.shape[0] == 1 {
            return self.margin;
        }
        let inset = |n: usize| (METRIC_INSET * n as f64).round() as usize;
        [
            self.margin[0].max(inset(self.shape[0])),
            self.margin[1].max(inset(self.shape[1])),
        ]
    }
}

/// The process's peak resident set size (Linux `VmHWM`), where the platform reports it.
#[cfg(not(target_arch = "wasm32"))]
fn process_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(target_arch = "wasm32")]
fn process_peak_rss() -> Option<u64> {
    None
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

/// Orders of the 1D mollifier request: u, then u_t if needed.
fn orders_1d(needs: Needs) -> Vec<usize> {
    if needs.grad { vec![0, 1] } else { vec![0] }
}

/// The 2D mollifier request, in the order [`Trainer::derivatives`] unpacks it.
fn derivs_2d(needs: Needs) -> Vec<Deriv2> {
    let mut v = vec![Deriv2::U];
    if needs.grad || needs.grad_p {
        v.extend([Deriv2::X, Deriv2::Y]);
    }
    if needs.lap || needs.bih {
        v.push(Deriv2::Laplacian);
    }
    if needs.bih {
        v.push(Deriv2::Biharmonic);
    }
    v
}

/// Derivatives of a known field (φ_w) on the evaluation points, by each engine's own means:
/// mollified for the mollifier engine, spectral (exact for the periodic field) for autodiff,
/// central differences for the finite-difference engine. Order: φ, ∂ₓ, ∂ᵧ, ∇².
#[allow(clippy::too_many_arguments)]
fn known_derivatives(
    w: &[f64],
    shape: [usize; 2],
    spacing: [f64; 2],
    margin: [usize; 2],
    engine: EngineKind,
    mollifier: Option<&Mollifier>,
    domain: f64,
    device: &Device,
) -> Result<Vec<Tensor<1>>> {
    let field = Tensor::<2>::from_data(TensorData::new(w.to_vec(), shape), device);
    Ok(match engine {
        EngineKind::Mollifier => {
            let op = mollifier.expect("mollifier engine has an operator");
            let wanted = [
                Deriv2::U,
                Deriv2::X,
                Deriv2::Y,
                Deriv2::Laplacian,
                Deriv2::Biharmonic,
            ];
            let out = op.derivatives_2d(field, &wanted)?;
            out.into_iter().take(4).map(flat).collect()
        }
        EngineKind::Taylor | EngineKind::Recursive => {
            let [dx, dy, lap, _] = chromatin::spectral_derivatives(w, shape[1], domain);
            [w.to_vec(), dx, dy, lap]
                .into_iter()
                .map(|v| tensor1(v, device))
                .collect()
        }
        EngineKind::FiniteDifference => {
            let fd = FiniteDifferences {
                spacing,
                two_d: true,
            };
            let [dx, dy] = fd.gradient(field.clone());
            let inner = [margin[0] - 1, margin[1] - 1];
            vec![
                flat(crop(field.clone(), margin)),
                flat(crop(dx.expect("x derivative"), inner)),
                flat(crop(dy.expect("2D"), inner)),
                flat(crop(fd.laplacian(field), inner)),
            ]
        }
    })
}
