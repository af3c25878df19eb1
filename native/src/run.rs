//! One training run with everything a researcher keeps from it: the resolved configuration,
//! the dataset it saw, per-step metrics, a checkpoint, a summary, the recovered field and plots.
//! A non-finite loss stops the run at the last good checkpoint; Ctrl-C saves one; `--resume`
//! continues either.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use futures_lite::future::block_on;
use indicatif::{ProgressBar, ProgressStyle};
use mollify_core::autosize;
use mollify_core::engine::EngineKind;
use mollify_core::io::{self, Array, Precision};
use mollify_core::metrics::Metrics;
use mollify_core::train::{TrainConfig, Trainer};
use mollify_core::{Dataset, Error as CoreError};
use serde::{Deserialize, Serialize};

use crate::cli::{BackendArg, RunArgs};
use crate::error::CliError;
use crate::plot;

/// Set by the Ctrl-C handler; the loop checkpoints and stops at the next step.
pub(crate) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The settings a run was made with, saved as `config.toml` beside its results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Resolved {
    /// Where the data came from (a folder or a built-in problem description).
    pub(crate) data: String,
    /// Device asked for.
    pub(crate) backend: BackendArg,
    /// Kernel size was chosen from the data.
    pub(crate) kernel_size_auto: bool,
    /// The training configuration.
    pub(crate) train: TrainConfig,
}

/// Settings a `--config` TOML file may hold; unknown keys are refused. Also what `compare` and
/// `bench` hand their child runs, so one struct defines the file format both ways.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    engine: Option<String>,
    arch: Option<String>,
    kernel: Option<String>,
    kernel_size: Option<toml::Value>,
    boundary: Option<String>,
    steps: Option<usize>,
    depth: Option<usize>,
    width: Option<usize>,
    lr: Option<f64>,
    pde_weight: Option<f64>,
    seed: Option<u64>,
    backend: Option<BackendArg>,
}

/// Merges defaults, the config file and the flags (in rising priority) into a run's settings.
pub(crate) fn resolve(
    args: &RunArgs,
    engine: Option<&str>,
    ds: &Dataset,
    data: &str,
) -> Result<Resolved, CliError> {
    let file: FileConfig = match &args.config {
        None => FileConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
            toml::from_str(&text)
                .map_err(|e| CliError::Input(format!("{}: {}", path.display(), e.message())))?
        }
    };
    let pick = |flag: Option<String>, file: Option<String>| flag.or(file);
    let mut train = TrainConfig::new();
    if let Some(e) = engine.map(str::to_string).or(file.engine) {
        train.engine = e.parse()?;
    }
    if let Some(a) = pick(args.arch.clone(), file.arch) {
        train.arch = a.parse()?;
    }
    if let Some(k) = pick(args.kernel.clone(), file.kernel) {
        train.mollifier.family = k.parse()?;
    }
    if let Some(b) = pick(args.boundary.clone(), file.boundary) {
        train.mollifier.boundary = b.parse()?;
    }
    train.steps = args.steps.or(file.steps).unwrap_or(train.steps);
    train.depth = args.depth.or(file.depth).unwrap_or(train.depth);
    train.width = args.width.or(file.width).unwrap_or(train.width);
    train.lr = args.lr.or(file.lr).unwrap_or(train.lr);
    train.pde_weight = args
        .pde_weight
        .or(file.pde_weight)
        .unwrap_or(train.pde_weight);
    train.seed = args.seed.or(file.seed).unwrap_or(train.seed);
    if train.steps == 0 || train.width == 0 || train.depth == 0 {
        return Err(CliError::Input(
            "steps, width and depth must be at least 1".into(),
        ));
    }
    if !(train.lr.is_finite() && train.lr > 0.0) {
        return Err(CliError::Input(format!(
            "learning rate must be > 0 (got {})",
            train.lr
        )));
    }
    let size = args
        .kernel_size
        .clone()
        .or(file.kernel_size.map(|v| match v {
            toml::Value::String(s) => s,
            other => other.to_string(),
        }));
    let kernel_size_auto = size.as_deref() == Some("auto");
    match size.as_deref() {
        None => {}
        Some("auto") => {
            let auto = autosize::for_dataset(train.mollifier.family, ds)?;
            tracing::info!(
                "kernel size auto: {} points (noise σ ≈ {:.3e}, smoothing residual {:.3e})",
                auto.size,
                auto.sigma,
                auto.residual
            );
            train.mollifier.size = auto.size;
        }
        Some(s) => {
            train.mollifier.size = s.parse().map_err(|_| {
                CliError::Input(format!(
                    "kernel size must be an odd number of points or 'auto' (got '{s}')"
                ))
            })?;
            mollify_core::stencil::check_size(train.mollifier.size)?;
        }
    }
    Ok(Resolved {
        data: data.to_string(),
        backend: args.backend.or(file.backend).unwrap_or(BackendArg::Cpu),
        kernel_size_auto,
        train,
    })
}

/// The device for a backend choice; `auto` logs why it fell back to the CPU.
pub(crate) fn device(choice: BackendArg, engine: EngineKind) -> Result<Device, CliError> {
    use mollify_core::backend::{self, BackendChoice};
    if engine == EngineKind::Recursive && choice != BackendArg::Cpu {
        tracing::info!("the recursive engine runs on the CPU backend (nested autodiff over flex)");
        return Ok(Device::flex());
    }
    let wanted = match choice {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Vulkan | BackendArg::Wgpu => BackendChoice::Wgpu,
        BackendArg::Cpu => BackendChoice::Cpu,
        BackendArg::Cuda => {
            return Err(CliError::Input(
                "this binary has no CUDA backend (it was built without the CUDA toolkit); use --backend wgpu or vulkan for the GPU".into(),
            ));
        }
    };
    let selected = block_on(backend::select(wanted))?;
    if let Some(reason) = &selected.fallback_reason {
        tracing::warn!("no GPU, running on the CPU: {reason}");
    }
    Ok(selected.device)
}

/// What a finished (or stopped) run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) problem: String,
    pub(crate) case: String,
    pub(crate) engine: String,
    pub(crate) arch: String,
    pub(crate) kernel: String,
    pub(crate) kernel_size: usize,
    pub(crate) steps: usize,
    pub(crate) status: String,
    pub(crate) loss: f64,
    pub(crate) data_loss: f64,
    pub(crate) pde_loss: f64,
    pub(crate) ms_per_step: f64,
    pub(crate) peak_memory_mib: Option<f64>,
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

/// Trains `ds` with `resolved` into `out`. Returns the summary, or the reason the run stopped
/// (after its checkpoint and summary were written).
pub(crate) fn train(
    ds: &Dataset,
    resolved: &Resolved,
    out: &Path,
    drive: Drive,
) -> Result<Summary, CliError> {
    let config = &resolved.train;
    // Everything that can refuse the input comes before the first write: bad input leaves
    // no half-made run folder behind.
    let device = device(resolved.backend, config.engine)?;
    let mut trainer = Trainer::new(ds, config.clone(), &device)?;
    for note in trainer.notes() {
        tracing::warn!("{note}");
    }
    io::create_dir_all(out)?;
    if !drive.resume {
        write_file(
            &out.join("config.toml"),
            toml::to_string_pretty(resolved)
                .map_err(|e| CliError::Other(e.to_string()))?
                .as_bytes(),
        )?;
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
    let mut csv = csv::WriterBuilder::new()
        .has_headers(fresh)
        .from_writer(file);
    let label = format!("{} {}", config.engine.name(), config.arch.name());
    let bar = if drive.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(config.steps as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>18} {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    bar.set_prefix(label.clone());
    bar.set_position(trainer.steps_taken() as u64);
    let every = (config.steps / 20).max(1);
    let save_every = (config.steps / 10).max(25);
    let mut last = None;
    let mut seconds = 0.0;
    let mut timed = 0usize;
    let mut stop: Option<CliError> = None;
    let started = std::time::Instant::now();
    let mut budget_hit = false;
    while trainer.steps_taken() < config.steps {
        if drive
            .max_seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() > s)
        {
            trainer.save_checkpoint(&checkpoint)?;
            budget_hit = true;
            break;
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            trainer.save_checkpoint(&checkpoint)?;
            stop = Some(CliError::Interrupted(trainer.steps_taken()));
            break;
        }
        let next = trainer.steps_taken() + 1;
        let result = match drive.inject_nan_at {
            Some(at) if at == next => Err(CoreError::Diverged {
                step: next,
                value: f64::NAN,
            }),
            _ => block_on(trainer.step()),
        };
        let report = match result {
            Ok(r) => r,
            Err(CoreError::Diverged { step, value }) => {
                stop = Some(CliError::Stopped(format!(
                    "loss became {value} at step {step}; the last good checkpoint (step {}) is in {} — continue with --resume {}",
                    last_checkpoint_step(&checkpoint),
                    checkpoint.display(),
                    out.display()
                )));
                break;
            }
            Err(e) => return Err(e.into()),
        };
        seconds += report.seconds;
        timed += 1;
        let correlation = if report.step % every == 0 || report.step == config.steps {
            block_on(trainer.metrics())?.map(|m| m.correlation)
        } else {
            None
        };
        csv.serialize(Row {
            step: report.step,
            loss: report.loss,
            data_loss: report.data_loss,
            pde_loss: report.pde_loss,
            lr: report.lr,
            seconds: report.seconds,
            correlation,
        })
        .map_err(|e| CliError::Other(e.to_string()))?;
        if let Some(c) = correlation {
            bar.set_message(format!("loss {:.2e} corr {c:.3}", report.loss));
        }
        bar.inc(1);
        if report.step % save_every == 0 || report.step == config.steps {
            trainer.save_checkpoint(&checkpoint)?;
        }
        last = Some(report);
    }
    csv.flush().map_err(|e| CliError::Other(e.to_string()))?;
    bar.finish_and_clear();

    let metrics = block_on(trainer.metrics())?;
    let status = match &stop {
        None if budget_hit => format!(
            "time budget reached after {} of {} steps",
            trainer.steps_taken(),
            config.steps
        ),
        None => "finished".to_string(),
        Some(e) => e.to_string(),
    };
    let summary = Summary {
        steps: trainer.steps_taken(),
        loss: last.map_or(f64::NAN, |r| r.loss),
        data_loss: last.map_or(f64::NAN, |r| r.data_loss),
        pde_loss: last.map_or(f64::NAN, |r| r.pde_loss),
        ms_per_step: 1e3 * seconds / timed.max(1) as f64,
        peak_memory_mib: trainer.peak_memory_bytes().map(|b| b as f64 / 1048576.0),
        metrics,
        notes: trainer.notes().to_vec(),
        ..Summary::settings(ds, config, status)
    };
    write_file(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::Other(e.to_string()))?
            .as_bytes(),
    )?;
    let parameter = block_on(trainer.parameter())?;
    let array = Array::new(ds.grid.shape(), parameter.clone())?;
    write_file(
        &out.join("parameter.npy"),
        &io::encode(&array, "parameter.npy", Precision::F64)?,
    )?;
    plot::run_plots(
        &ds.grid.shape(),
        &parameter,
        trainer.truth(),
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

/// Loads a stopped run's folder for `--resume`: its dataset and resolved settings.
pub(crate) fn load_for_resume(dir: &Path) -> Result<(Dataset, Resolved, PathBuf), CliError> {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::Input(format!("{}: {e} (is this a run folder?)", path.display())))?;
    let resolved: Resolved = toml::from_str(&text)
        .map_err(|e| CliError::Input(format!("{}: {}", path.display(), e.message())))?;
    if !dir.join("checkpoint").join("state.json").exists() {
        return Err(CliError::Input(format!(
            "{}: no checkpoint to resume from",
            dir.display()
        )));
    }
    let ds = Dataset::load(&dir.join("data"))?;
    Ok((ds, resolved, dir.to_path_buf()))
}

/// The settings of `resolved` as a `--config` file (the kernel size fixed as chosen).
fn config_file(resolved: &Resolved) -> Result<String, CliError> {
    let t = &resolved.train;
    let file = FileConfig {
        engine: Some(t.engine.name().into()),
        arch: Some(t.arch.name().into()),
        kernel: Some(t.mollifier.family.to_string()),
        kernel_size: Some(toml::Value::String(t.mollifier.size.to_string())),
        boundary: Some(t.mollifier.boundary.to_string()),
        steps: Some(t.steps),
        depth: Some(t.depth),
        width: Some(t.width),
        lr: Some(t.lr),
        pde_weight: Some(t.pde_weight),
        seed: Some(t.seed),
        backend: Some(resolved.backend),
    };
    toml::to_string(&file).map_err(|e| CliError::Other(e.to_string()))
}

/// Runs `mollify train` on a saved dataset in a child process (its own peak memory, and a
/// crash or divergence that stays its own), then reads its summary.
pub(crate) fn spawn_train(
    data: &Path,
    ds: &Dataset,
    resolved: &Resolved,
    out: &Path,
    extra: &[String],
    quiet: bool,
) -> Result<Summary, CliError> {
    io::create_dir_all(out)?;
    let config = out.with_extension("toml");
    write_file(&config, config_file(resolved)?.as_bytes())?;
    let exe = std::env::current_exe().map_err(|e| CliError::Other(e.to_string()))?;
    let mut cmd = std::process::Command::new(exe);
    if quiet {
        cmd.arg("-q");
    }
    cmd.arg("train")
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(&config)
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
                &resolved.train,
                format!("{FAILED} ({status})"),
            ))
        }
    }
}

/// How the status of a run that produced no results begins.
const FAILED: &str = "failed";

impl Summary {
    /// A run's settings with `status` and no results yet (no steps, non-finite losses).
    fn settings(ds: &Dataset, t: &TrainConfig, status: String) -> Self {
        Self {
            problem: ds.problem.clone(),
            case: ds.case.clone(),
            engine: t.engine.name().into(),
            arch: t.arch.name().into(),
            kernel: t.mollifier.family.to_string(),
            kernel_size: t.mollifier.size,
            steps: 0,
            status,
            loss: f64::NAN,
            data_loss: f64::NAN,
            pde_loss: f64::NAN,
            ms_per_step: f64::NAN,
            peak_memory_mib: None,
            metrics: None,
            notes: Vec::new(),
        }
    }

    /// Whether the run produced results (finished or stopped with a summary of its own).
    pub(crate) fn has_results(&self) -> bool {
        !self.status.starts_with(FAILED)
    }
}
