//! One training run with everything a researcher keeps from it: the resolved configuration,
//! the dataset it saw, per-step metrics, a checkpoint, a summary, the recovered field and plots.
//! The core's driver runs the steps; this module's hooks log, checkpoint and stop. A non-finite
//! loss stops the run at the last good checkpoint; Ctrl-C saves one; `--resume` continues
//! either.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use futures_lite::future::block_on;
use indicatif::{ProgressBar, ProgressStyle};
use mollify_core::backend::BackendChoice;
use mollify_core::data::io::{self, Array, Precision};
use mollify_core::engine::EngineKind;
use mollify_core::train::driver::{self, Control, Hooks, StepBudget, Stopped};
use mollify_core::train::metrics::Metrics;
use mollify_core::train::{KernelSize, RunConfig, StepReport, Trainer};
use mollify_core::{Dataset, Error as CoreError};
use serde::{Deserialize, Serialize};

use crate::cli::{DataArgs, RunArgs};
use crate::data;
use crate::error::CliError;
use crate::plot;

/// Set by the Ctrl-C handler; the loop checkpoints and stops at the next step.
pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Reads a `--config` file.
fn read_config(path: &Path) -> Result<RunConfig, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    RunConfig::from_toml(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Merges defaults, the config file and the flags (in rising priority) into a run's settings.
pub(crate) fn resolve(
    args: &RunArgs,
    data_args: Option<&DataArgs>,
    engine: Option<EngineKind>,
) -> Result<RunConfig, CliError> {
    let mut c = match &args.config {
        None => RunConfig::default(),
        Some(path) => read_config(path)?,
    };
    fn set<T: Clone>(slot: &mut T, flag: &Option<T>) {
        if let Some(v) = flag {
            *slot = v.clone();
        }
    }
    set(&mut c.engine, &engine);
    set(&mut c.backend, &args.backend);
    set(&mut c.model.arch, &args.arch);
    set(&mut c.model.activation, &args.activation);
    set(&mut c.model.depth, &args.depth);
    set(&mut c.model.width, &args.width);
    if args.fourier_max.is_some() {
        c.model.fourier_max = args.fourier_max;
    }
    set(&mut c.model.seed, &args.seed);
    set(&mut c.mollifier.family, &args.kernel);
    if args.kernel_size.is_some() {
        c.mollifier.size = args.kernel_size;
    }
    if args.boundary.is_some() {
        c.mollifier.boundary = args.boundary;
    }
    set(&mut c.mollifier.one_field, &args.one_field);
    set(&mut c.loss.pde_weight, &args.pde_weight);
    set(&mut c.optimizer.lr, &args.lr);
    set(&mut c.schedule.steps, &args.steps);
    set(&mut c.schedule.warmup, &args.warmup);
    if let Some(d) = data_args {
        set(&mut c.data.source, &d.data);
        data::apply(&d.setup, &mut c.data);
    }
    c.validate()?;
    Ok(c)
}

/// The device for a backend choice; `auto` logs why it fell back to the CPU.
pub(crate) fn device(
    choice: BackendChoice,
    engine: EngineKind,
) -> Result<(Device, &'static str), CliError> {
    if engine == EngineKind::Recursive && choice != BackendChoice::Cpu {
        tracing::info!("the recursive engine runs on the CPU backend (nested autodiff over flex)");
        return Ok((Device::flex(), "cpu"));
    }
    let selected = block_on(mollify_core::backend::select(choice))?;
    if let Some(reason) = &selected.fallback_reason {
        tracing::warn!("no GPU, running on the CPU: {reason}");
    }
    Ok((selected.device, selected.name))
}

/// What a finished (or stopped) run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) problem: String,
    pub(crate) case: String,
    pub(crate) engine: String,
    pub(crate) arch: String,
    pub(crate) kernel: String,
    /// Absent where `auto` was never resolved (a run that failed before it started).
    pub(crate) kernel_size: Option<usize>,
    /// The mollifier's boundary policy as resolved (absent before a run resolves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) boundary: Option<String>,
    /// The PINN's Fourier bandwidth as resolved (absent for the other architectures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fourier_max: Option<f64>,
    pub(crate) steps: usize,
    pub(crate) status: String,
    pub(crate) loss: f64,
    pub(crate) data_loss: f64,
    pub(crate) pde_loss: f64,
    pub(crate) ms_per_step: f64,
    pub(crate) peak_memory_mib: Option<f64>,
    /// The device that ran it ("cpu", "wgpu"); costs compare only on the same one.
    #[serde(default)]
    pub(crate) device: String,
    /// What `peak_memory_mib` counts (see `Trainer::memory_counter`).
    #[serde(default)]
    pub(crate) memory_counter: String,
    /// Absent without ground truth (real data): never a zero standing in for "unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) metrics: Option<Metrics>,
    /// Assumptions made where the dataset was silent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Row {
    step: usize,
    loss: f64,
    data_loss: f64,
    pde_loss: f64,
    lr: f64,
    seconds: f64,
    correlation: Option<f64>,
}

/// How a run is driven.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Drive {
    pub(crate) quiet: bool,
    pub(crate) resume: bool,
    pub(crate) inject_nan_at: Option<usize>,
    pub(crate) max_seconds: Option<f64>,
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    io::write_atomic(path, bytes).map_err(CliError::from)
}

/// The CLI's hooks on the core's driver: a metrics row per step, a progress bar, periodic
/// checkpoints, Ctrl-C, and the testing aid that injects a non-finite loss.
struct Log<'a> {
    csv: csv::Writer<File>,
    csv_path: &'a Path,
    bar: ProgressBar,
    checkpoint: &'a Path,
    total: usize,
    every: usize,
    save_every: usize,
    inject_nan_at: Option<usize>,
    seconds: f64,
    timed: usize,
    last: Option<StepReport>,
    interrupted: bool,
}

impl Hooks for Log<'_> {
    fn before_step(&mut self, t: &Trainer) -> mollify_core::Result<Control> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            t.save_checkpoint(self.checkpoint)?;
            self.interrupted = true;
            return Ok(Control::Stop);
        }
        let next = t.steps_taken() + 1;
        if self.inject_nan_at == Some(next) {
            return Err(CoreError::Diverged {
                step: next,
                value: f64::NAN,
            });
        }
        Ok(Control::Continue)
    }

    fn after_step(&mut self, t: &Trainer, r: &StepReport) -> mollify_core::Result<Control> {
        self.seconds += r.seconds;
        self.timed += 1;
        self.last = Some(*r);
        // The parameter's correlation only: the other metrics cost a forward pass.
        let correlation = if r.step.is_multiple_of(self.every) || r.step == self.total {
            let parameter = block_on(t.parameter())?;
            t.parameter_score(&parameter).and_then(|s| s.correlation)
        } else {
            None
        };
        self.csv
            .serialize(Row {
                step: r.step,
                loss: r.loss,
                data_loss: r.data_loss,
                pde_loss: r.pde_loss,
                lr: r.lr,
                seconds: r.seconds,
                correlation,
            })
            .map_err(|e| CoreError::Write {
                path: self.csv_path.display().to_string(),
                source: std::io::Error::other(e),
            })?;
        if let Some(c) = correlation {
            self.bar
                .set_message(format!("loss {:.2e} corr {c:.3}", r.loss));
        }
        self.bar.inc(1);
        if r.step.is_multiple_of(self.save_every) || r.step == self.total {
            t.save_checkpoint(self.checkpoint)?;
        }
        Ok(Control::Continue)
    }
}

/// Trains `ds` with `config` into `out`. Returns the summary, or the reason the run stopped
/// (after its checkpoint and summary were written).
pub(crate) fn train(
    ds: &Dataset,
    config: &RunConfig,
    out: &Path,
    drive: Drive,
) -> Result<Summary, CliError> {
    // Everything that can refuse the input comes before the first write: bad input leaves
    // no half-made run folder behind.
    let (device, device_name) = device(config.backend, config.engine)?;
    let mut trainer = Trainer::new(ds, config.clone(), &device)?;
    for note in trainer.notes() {
        tracing::warn!("{note}");
    }
    // What ran, an `auto` kernel size replaced by the size chosen: `--config` reproduces it.
    let config = trainer.config().clone();
    io::create_dir_all(out)?;
    if !drive.resume {
        write_file(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
        ds.save(&out.join("data"))?;
    }
    let checkpoint = out.join("checkpoint");
    if drive.resume {
        trainer.load_checkpoint(&checkpoint)?;
        tracing::info!("resumed at step {}", trainer.steps_taken());
        truncate_metrics(&out.join("metrics.csv"), trainer.steps_taken())?;
    }
    let metrics_path = out.join("metrics.csv");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(|e| CliError::Other(format!("{}: {e}", metrics_path.display())))?;
    let fresh = file.metadata().map(|m| m.len() == 0).unwrap_or(true);
    let total = config.schedule.steps;
    let bar = if drive.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>18} {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.set_prefix(format!(
        "{} {}",
        config.engine.name(),
        config.model.arch.name()
    ));
    bar.set_position(trainer.steps_taken() as u64);
    let mut log = Log {
        csv: csv::WriterBuilder::new()
            .has_headers(fresh)
            .from_writer(file),
        csv_path: &metrics_path,
        bar,
        checkpoint: &checkpoint,
        total,
        every: (total / 20).max(1),
        save_every: (total / 10).max(25),
        inject_nan_at: drive.inject_nan_at,
        seconds: 0.0,
        timed: 0,
        last: None,
        interrupted: false,
    };
    // One step at least: a cell over its budget still reports a measured step, and whether
    // the budget ran out before the first step (a microsecond budget, a busy machine) must not
    // depend on scheduling — it made the bench's over-budget row flaky.
    let budget = StepBudget {
        seconds: drive.max_seconds,
        min_steps: 1,
    };
    let (stop, budget_hit) = match block_on(driver::run(&mut trainer, budget, &mut log)) {
        Ok(o) if o.stopped == Stopped::Budget => {
            trainer.save_checkpoint(&checkpoint)?;
            (None, true)
        }
        Ok(_) if log.interrupted => (Some(CliError::Interrupted(trainer.steps_taken())), false),
        Ok(_) => (None, false),
        Err(CoreError::Diverged { step, value }) => (
            Some(CliError::Stopped(format!(
                "loss became {value} at step {step}; the last good checkpoint (step {}) is in {} — continue with --resume {}",
                last_checkpoint_step(&checkpoint),
                checkpoint.display(),
                out.display()
            ))),
            false,
        ),
        Err(e) => return Err(e.into()),
    };
    log.csv
        .flush()
        .map_err(|e| CliError::Other(e.to_string()))?;
    log.bar.finish_and_clear();

    // One evaluation of the engine: the summary's metrics and the saved estimates.
    let estimates = block_on(trainer.estimates())?;
    let metrics = trainer.metrics_of(&estimates);
    let status = match &stop {
        None if budget_hit => format!(
            "time budget reached after {} of {} steps",
            trainer.steps_taken(),
            total
        ),
        None => "finished".to_string(),
        Some(e) => e.to_string(),
    };
    let last = log.last;
    let summary = Summary {
        steps: trainer.steps_taken(),
        loss: last.map_or(f64::NAN, |r| r.loss),
        data_loss: last.map_or(f64::NAN, |r| r.data_loss),
        pde_loss: last.map_or(f64::NAN, |r| r.pde_loss),
        ms_per_step: 1e3 * log.seconds / log.timed.max(1) as f64,
        peak_memory_mib: trainer.peak_memory_bytes().map(|b| b as f64 / 1048576.0),
        device: device_name.into(),
        memory_counter: trainer.memory_counter().into(),
        metrics,
        notes: trainer.notes().to_vec(),
        ..Summary::settings(ds, &config, status)
    };
    write_file(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::Other(e.to_string()))?
            .as_bytes(),
    )?;
    let save = |name: &str, values: &[f64]| -> Result<(), CliError> {
        let array = Array::new(ds.grid.shape(), values.to_vec())?;
        write_file(&out.join(name), &io::encode(&array, name, Precision::F64)?)
    };
    save("parameter.npy", &estimates.parameter)?;
    save("solution.npy", &estimates.solution)?;
    if let Some(s) = &estimates.separable {
        save("separable.npy", s)?;
    }
    if let Some(i) = &estimates.intermediate {
        save("intermediate.npy", i)?;
    }
    plot::run_plots(
        &ds.grid.shape(),
        &estimates,
        trainer.truth(),
        trainer
            .problem()
            .intermediate()
            .map(|i| (i.symbol, trainer.intermediate_truth())),
        &metrics_path,
        out,
    )?;
    match stop {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// Drops the rows after `step` (steps taken after the checkpoint, which the resumed run
/// takes again), so metrics.csv reads as one run.
fn truncate_metrics(path: &Path, step: usize) -> Result<(), CliError> {
    let bad = |e: &dyn std::fmt::Display| CliError::Other(format!("{}: {e}", path.display()));
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return Ok(());
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(reader.headers().map_err(|e| bad(&e))?)
        .map_err(|e| bad(&e))?;
    for row in reader.records() {
        let row = row.map_err(|e| bad(&e))?;
        if row
            .get(0)
            .and_then(|s| s.parse::<usize>().ok())
            .is_some_and(|s| s <= step)
        {
            w.write_record(&row).map_err(|e| bad(&e))?;
        }
    }
    write_file(path, &w.into_inner().map_err(|e| bad(&e))?)
}

fn last_checkpoint_step(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("state.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["step"].as_u64())
        .map_or("none yet".into(), |s| s.to_string())
}

/// Loads a stopped run's folder for `--resume`: its dataset and configuration.
pub(crate) fn load_for_resume(dir: &Path) -> Result<(Dataset, RunConfig, PathBuf), CliError> {
    let path = dir.join("config.toml");
    if !path.exists() {
        return Err(CliError::Input(format!(
            "{}: no config.toml (is this a run folder?)",
            dir.display()
        )));
    }
    let config = read_config(&path)?;
    if !dir.join("checkpoint").join("state.json").exists() {
        return Err(CliError::Input(format!(
            "{}: no checkpoint to resume from",
            dir.display()
        )));
    }
    let ds = Dataset::load(&dir.join("data"))?;
    Ok((ds, config, dir.to_path_buf()))
}

/// The configuration a spawned run reads: beside its folder, the folder's whole name and
/// `.toml` (`Path::with_extension` would cut "heat-n0.05-s0" at its dot, and cells of one noise
/// level then shared one file: two starting together ran one's settings twice).
fn request_file(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".toml");
    PathBuf::from(name)
}

/// Runs `mollify train` on a saved dataset in a child process (its own peak memory, and a
/// crash or divergence that stays its own), then reads its summary.
pub(crate) fn spawn_train(
    data: &Path,
    ds: &Dataset,
    config: &RunConfig,
    out: &Path,
    extra: &[String],
    quiet: bool,
) -> Result<Summary, CliError> {
    io::create_dir_all(out)?;
    let file = request_file(out);
    write_file(&file, config.to_toml()?.as_bytes())?;
    let exe = std::env::current_exe().map_err(|e| CliError::Other(e.to_string()))?;
    let mut cmd = std::process::Command::new(exe);
    if quiet {
        cmd.arg("-q");
    }
    cmd.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(&file)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(std::process::Stdio::null());
    // A summary left by an earlier run into the same folder must never pass for this one's.
    let summary = out.join("summary.json");
    match std::fs::remove_file(&summary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(CliError::Other(format!(
                "{}: could not remove: {e}",
                summary.display()
            )));
        }
        _ => {}
    }
    let status = cmd
        .status()
        .map_err(|e| CliError::Other(format!("could not start a training process: {e}")))?;
    let written = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|text| serde_json::from_str::<Summary>(&text).ok());
    match written {
        // Finished, or stopped with its own summary (non-finite loss, time budget).
        Some(s) => {
            if !status.success() {
                tracing::warn!("{}: {status}: {}", out.display(), s.status);
            }
            Ok(s)
        }
        // Died without a summary: a row of its settings and no results.
        None => {
            tracing::warn!("{}: training process failed ({status})", out.display());
            Ok(Summary::settings(
                ds,
                config,
                format!("{FAILED} ({status})"),
            ))
        }
    }
}

/// How the status of a run that produced no results begins.
const FAILED: &str = "failed";

impl Summary {
    /// A run's settings with `status` and no results yet (no steps, non-finite losses).
    fn settings(ds: &Dataset, c: &RunConfig, status: String) -> Self {
        Self {
            problem: ds.problem.clone(),
            case: ds.case.clone(),
            engine: c.engine.name().into(),
            arch: c.model.arch.name().into(),
            kernel: c.mollifier.family.to_string(),
            kernel_size: match c.mollifier.size {
                Some(KernelSize::Points(n)) => Some(n),
                _ => None,
            },
            boundary: c.mollifier.boundary.map(|b| b.to_string()),
            fourier_max: c.model.fourier_max,
            steps: 0,
            status,
            loss: f64::NAN,
            data_loss: f64::NAN,
            pde_loss: f64::NAN,
            ms_per_step: f64::NAN,
            peak_memory_mib: None,
            device: String::new(),
            memory_counter: String::new(),
            metrics: None,
            notes: Vec::new(),
        }
    }

    /// A run that could not start, with the reason.
    pub(crate) fn failed(ds: &Dataset, c: &RunConfig, reason: &str) -> Self {
        Self::settings(ds, c, format!("{FAILED}: {reason}"))
    }

    /// Whether the run produced results (finished or stopped with a summary of its own).
    pub(crate) fn has_results(&self) -> bool {
        !self.status.starts_with(FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_folder_has_its_own_request_file() {
        let a = request_file(Path::new(
            "out/table/heat-default-n0.05-pinn-mollifier-d4-s0",
        ));
        let b = request_file(Path::new("out/table/heat-default-n0.05-pinn-fd-d4-s0"));
        assert_eq!(
            a,
            Path::new("out/table/heat-default-n0.05-pinn-mollifier-d4-s0.toml")
        );
        assert_ne!(a, b);
    }
}
