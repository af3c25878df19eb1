//! The worker's state machine, kept free of worker plumbing so the browser tests drive it
//! directly: it turns [`Input`]s into [`Output`]s and advances the panels a time slice at a
//! time. Panels get equal wall time, not equal steps, so the faster engine visibly gets further.

use std::time::Duration;

use mollify_core::Dataset;
use mollify_core::backend::{self, BackendChoice, Selected};
use mollify_core::engine::EngineKind;
use mollify_core::train::config::MollifierSettings;
use mollify_core::train::driver::{self, StepBudget};
use mollify_core::train::{KernelSize, Trainer, auto_kernel_builtin};

use crate::protocol::{Input, Output, Ready, Snapshot};
use crate::settings::Settings;

struct Panel {
    engine: EngineKind,
    trainer: Trainer,
    done: bool,
    failed: bool,
    /// Snapshots sent; the intermediate derivative's correlation costs a forward pass, so it
    /// is refreshed every [`INTERMEDIATE_EVERY`] snapshots (and at the end), not every one.
    snapshots: usize,
    intermediate_correlation: Option<f64>,
    intermediate: Option<Vec<f32>>,
}

/// How often a panel's snapshot re-evaluates the intermediate derivative's correlation.
const INTERMEDIATE_EVERY: usize = 8;

struct Run {
    settings: Settings,
    ds: Dataset,
    panels: Vec<Panel>,
}

/// Training state of one page.
pub struct Session {
    /// Where `Auto` runs: given (tests), or chosen on first need, so a page that trains on
    /// the CPU never opens a WebGPU device (two in one tab fail; see `app`).
    auto: Option<Selected>,
    /// The device of the current run.
    backend: Selected,
    run: Option<Run>,
    running: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("backend", &self.backend.name)
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session whose `auto` backend is `auto`; `None`: `backend::select(Auto)` when a run
    /// first asks for it.
    pub fn new(auto: Option<Selected>) -> Self {
        Self {
            backend: cpu(None),
            auto,
            run: None,
            running: false,
        }
    }

    /// Whether [`Session::advance`] has work to do.
    pub fn running(&self) -> bool {
        self.running
    }

    /// Applies one message.
    pub async fn handle(&mut self, input: Input) -> Vec<Output> {
        match input {
            Input::Start { settings, dataset } => {
                self.running = false;
                self.run = None;
                match self.prepare(settings, dataset).await {
                    Ok(ready) => {
                        self.running = true;
                        vec![Output::Ready(ready), Output::Running(true)]
                    }
                    Err(message) => vec![
                        Output::Error {
                            panel: None,
                            message,
                        },
                        Output::Running(false),
                    ],
                }
            }
            Input::Pause => {
                self.running = false;
                vec![Output::Running(false)]
            }
            Input::Resume => {
                self.running = self
                    .run
                    .as_ref()
                    .is_some_and(|r| r.panels.iter().any(|p| !p.done && !p.failed));
                vec![Output::Running(self.running)]
            }
            Input::Reset => {
                self.running = false;
                let Some(run) = self.run.take() else {
                    return vec![Output::Running(false)];
                };
                match self.build(run.settings, run.ds) {
                    Ok(ready) => vec![Output::Ready(ready), Output::Running(false)],
                    Err(message) => vec![Output::Error {
                        panel: None,
                        message,
                    }],
                }
            }
        }
    }

    async fn prepare(
        &mut self,
        settings: Settings,
        dataset: Option<Vec<(String, Vec<u8>)>>,
    ) -> Result<Ready, String> {
        if settings.backend == BackendChoice::Cpu {
            self.backend = cpu(Some("chosen in the settings".into()));
        } else {
            if self.auto.is_none() {
                let selected = backend::select(BackendChoice::Auto)
                    .await
                    .map_err(|e| e.to_string())?;
                self.auto = Some(selected);
            }
            let auto = self.auto.clone().expect("chosen above");
            if settings.backend == BackendChoice::Wgpu && auto.name != "wgpu" {
                return Err(format!(
                    "WebGPU is not available here: {}",
                    auto.fallback_reason.as_deref().unwrap_or("no adapter")
                ));
            }
            self.backend = auto;
        }
        let ds = match dataset {
            Some(files) => crate::files::dataset_from_files(&files)?,
            None => settings
                .run_config(EngineKind::Mollifier)
                .data
                .simulate()
                .map_err(|e| e.to_string())?,
        };
        self.build(settings, ds)
    }

    fn build(&mut self, settings: Settings, ds: Dataset) -> Result<Ready, String> {
        // `auto` resolved once for all panels (each trainer would otherwise choose again).
        let (kernel_size, estimated_noise) = match settings.kernel_size {
            KernelSize::Points(n) => (n, None),
            KernelSize::Auto => {
                let kernel = MollifierSettings {
                    family: settings.kernel,
                    ..MollifierSettings::default()
                };
                let auto = auto_kernel_builtin(&kernel, &ds).map_err(|e| e.to_string())?;
                (auto.size, Some(auto.sigma))
            }
        };
        let shape = ds.grid.shape_2d();
        let mut engines = vec![EngineKind::Taylor, EngineKind::Mollifier];
        if settings.fd {
            engines.push(EngineKind::FiniteDifference);
        }
        let mut panels = Vec::new();
        for engine in engines {
            let mut config = settings.run_config(engine);
            config.mollifier.size = Some(KernelSize::Points(kernel_size));
            let trainer = Trainer::new(&ds, config, &self.backend.device)
                .map_err(|e| format!("{}: {e}", engine.name()))?;
            panels.push(Panel {
                engine,
                trainer,
                done: false,
                failed: false,
                snapshots: 0,
                intermediate_correlation: None,
                intermediate: None,
            });
        }
        let first = &panels[0].trainer;
        let ready = Ready {
            backend: self.backend.name.into(),
            fallback_reason: self.backend.fallback_reason.clone(),
            problem: ds.problem.clone(),
            case: ds.case.clone(),
            shape,
            metric_region: first.metric_region(),
            truth: first.truth().map(to_f32),
            intermediate: first.problem().intermediate().map(|i| i.symbol.into()),
            intermediate_truth: first.intermediate_truth().map(to_f32),
            kernel_size,
            estimated_noise,
            panels: panels.iter().map(|p| p.engine.name().into()).collect(),
            steps: settings.steps,
        };
        self.run = Some(Run {
            settings,
            ds,
            panels,
        });
        Ok(ready)
    }

    /// Steps every unfinished panel for about `slice` of wall time each (at least one step),
    /// then reports one snapshot per panel.
    pub async fn advance(&mut self, slice: Duration) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(run) = self.run.as_mut().filter(|_| self.running) else {
            return out;
        };
        let steps = run.settings.steps;
        for (index, panel) in run.panels.iter_mut().enumerate() {
            if panel.done || panel.failed {
                continue;
            }
            let budget = StepBudget {
                seconds: Some(slice.as_secs_f64()),
                min_steps: 1,
            };
            let (taken, seconds, last) =
                match driver::run(&mut panel.trainer, budget, &mut ()).await {
                    Ok(o) => (o.taken, o.seconds, o.last),
                    Err(e) => {
                        panel.failed = true;
                        out.push(Output::Error {
                            panel: Some(index),
                            message: format!("{}: {e}", panel.engine.name()),
                        });
                        continue;
                    }
                };
            panel.done = panel.trainer.steps_taken() >= steps;
            let Some(report) = last else { continue };
            match snapshot(panel, index, report, 1e3 * seconds / taken as f64).await {
                Ok(s) => out.push(Output::Snapshot(s)),
                Err(e) => out.push(Output::Error {
                    panel: Some(index),
                    message: e.to_string(),
                }),
            }
        }
        if run.panels.iter().all(|p| p.done || p.failed) {
            self.running = false;
            out.push(Output::Running(false));
        }
        out
    }
}

async fn snapshot(
    panel: &mut Panel,
    index: usize,
    report: mollify_core::train::StepReport,
    ms_per_step: f64,
) -> mollify_core::Result<Snapshot> {
    let parameter = panel.trainer.parameter().await?;
    let score = panel.trainer.parameter_score(&parameter);
    if panel.done || panel.snapshots.is_multiple_of(INTERMEDIATE_EVERY) {
        let estimates = panel.trainer.estimates().await?;
        panel.intermediate_correlation = panel
            .trainer
            .metrics_of(&estimates)
            .and_then(|m| m.intermediate_correlation());
        panel.intermediate = estimates.intermediate.as_deref().map(to_f32);
    }
    panel.snapshots += 1;
    Ok(Snapshot {
        panel: index,
        step: report.step,
        data_loss: report.data_loss,
        pde_loss: report.pde_loss,
        ms_per_step,
        correlation: score.and_then(|s| s.correlation),
        laplacian_correlation: panel.intermediate_correlation,
        relative_l2: score.map(|s| s.relative_l2),
        parameter: to_f32(&parameter),
        intermediate: panel.intermediate.clone(),
        memory_bytes: panel.trainer.peak_memory_bytes(),
        done: panel.done,
    })
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn cpu(fallback_reason: Option<String>) -> Selected {
    Selected {
        device: burn::tensor::Device::flex(),
        name: "cpu",
        fallback_reason,
    }
}
