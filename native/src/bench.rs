//! `mollify bench`: the paper's evaluation. A Table 2 block (problems × architectures ×
//! engines at one noise level), noise sweeps (observation noise; the Langevin forcing noise σ),
//! N seeds per cell varying the network's and the data's seed, and the cost sweeps (per-step
//! time and peak memory vs depth, grid and derivative order). Every cell is a `mollify train`
//! child process, so each peak memory and each crash is its own; a cell's row goes to
//! results.csv as soon as it finishes, a failed or over-budget cell is a row with its status,
//! and the bench goes on. [`report`] turns the rows into results.md.

mod plan;
mod report;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use mollify_core::data::dataset::Dataset;
use mollify_core::engine::EngineKind;
use mollify_core::train::config::DataConfig;
use serde::{Deserialize, Serialize};

use plan::{Job, Plan, Preset, preset, size_name};

use crate::cli::BenchArgs;
use crate::error::CliError;
use crate::run::{self, Summary};

/// Which part of the bench a cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Part {
    /// The Table 2 block.
    Table,
    /// Observation-noise sweep.
    Noise,
    /// Langevin forcing-noise (σ) sweep.
    Sigma,
    /// Mollifier kernel-size sweep at the table's noise (the paper's support ablation, B.1.3),
    /// and the paper's boundary policy against the default.
    Kernel,
    /// The PINN's Fourier bandwidth at the table's noise, every noise-swept engine.
    Fourier,
    /// Cost vs depth.
    Depth,
    /// Cost vs grid.
    Grid,
}

/// One row of results.csv: a cell's settings, its status and everything it measured (the
/// correlations on the interior region, the whole domain's beside them).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cell {
    part: Part,
    problem: String,
    case: String,
    arch: String,
    engine: String,
    seed: u64,
    noise: f64,
    sigma: Option<f64>,
    kernel_size: Option<usize>,
    #[serde(default)]
    boundary: Option<String>,
    #[serde(default)]
    fourier_max: Option<f64>,
    order: usize,
    depth: usize,
    grid: String,
    steps_target: usize,
    steps: usize,
    status: String,
    device: String,
    memory_counter: String,
    ms_per_step: Option<f64>,
    seconds: Option<f64>,
    peak_memory_mib: Option<f64>,
    correlation: Option<f64>,
    separable_correlation: Option<f64>,
    intermediate: Option<String>,
    intermediate_correlation: Option<f64>,
    relative_l2: Option<f64>,
    mean_error: Option<f64>,
    mean: Option<f64>,
    truth_mean: Option<f64>,
    std: Option<f64>,
    truth_std: Option<f64>,
    whole_correlation: Option<f64>,
    whole_intermediate_correlation: Option<f64>,
}

impl Cell {
    fn new(job: &Job, ds: &Dataset, order: usize, s: &Summary) -> Self {
        let m = s.metrics.as_ref();
        let p = m.map(|m| m.interior.parameter);
        Self {
            part: job.part,
            problem: ds.problem.clone(),
            case: ds.case.clone(),
            arch: job.arch.name().into(),
            engine: job.engine.name().into(),
            seed: job.seed,
            noise: job.data.noise,
            sigma: job.sigma,
            kernel_size: s.kernel_size,
            boundary: s.boundary.clone(),
            fourier_max: s.fourier_max,
            order,
            depth: job.depth,
            grid: ds
                .grid
                .shape()
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("×"),
            steps_target: job.steps,
            steps: s.steps,
            status: s.status.clone(),
            device: s.device.clone(),
            memory_counter: s.memory_counter.clone(),
            ms_per_step: Some(s.ms_per_step).filter(|v| v.is_finite()),
            seconds: Some(s.ms_per_step * s.steps as f64 / 1e3).filter(|v| v.is_finite()),
            peak_memory_mib: s.peak_memory_mib,
            correlation: m.and_then(|m| m.correlation()),
            separable_correlation: m.and_then(|m| m.separable_correlation()),
            intermediate: m.and_then(|m| m.intermediate.clone()),
            intermediate_correlation: m.and_then(|m| m.intermediate_correlation()),
            relative_l2: p.map(|p| p.relative_l2),
            mean_error: p.map(|p| p.mean_error),
            mean: p.map(|p| p.mean),
            truth_mean: p.map(|p| p.truth_mean),
            std: p.map(|p| p.std),
            truth_std: p.map(|p| p.truth_std),
            whole_correlation: m.and_then(|m| m.whole.parameter.correlation),
            whole_intermediate_correlation: m
                .and_then(|m| m.whole.intermediate.and_then(|s| s.correlation)),
        }
    }
}

/// results.csv, appended to as cells finish, and the rows so far.
struct Sink {
    csv: csv::Writer<std::fs::File>,
    cells: Vec<Cell>,
    total: usize,
}

impl Sink {
    fn push(&mut self, cell: Cell) -> Result<(), CliError> {
        let e = |e: &dyn std::fmt::Display| CliError::Other(format!("results.csv: {e}"));
        self.csv.serialize(&cell).map_err(|x| e(&x))?;
        self.csv.flush().map_err(|x| e(&x))?;
        eprintln!(
            "[{}/{}] {} {} {} {} noise {} seed {}: {} (corr {}, {} steps, {:.0} s)",
            self.cells.len() + 1,
            self.total,
            format!("{:?}", cell.part).to_lowercase(),
            cell.problem,
            cell.arch,
            cell.engine,
            cell.noise,
            cell.seed,
            cell.status,
            cell.correlation.map_or("–".into(), |c| format!("{c:.3}")),
            cell.steps,
            cell.seconds.unwrap_or(f64::NAN)
        );
        self.cells.push(cell);
        Ok(())
    }
}

pub(crate) fn run(args: &BenchArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let mut preset = preset(&args.preset)?;
    if let Some(s) = args.steps {
        preset.steps = s.max(1);
        preset.sweep_steps = preset.sweep_steps.min(s.max(2));
    }
    if let Some(b) = args.budget {
        preset.budget = b;
    }
    if let Some(n) = args.table_noise {
        preset.table_noise = n;
    }
    if !args.noise.is_empty() {
        preset.noise = args.noise.clone();
    }
    let seeds = args.seeds.unwrap_or(preset.seeds);
    if seeds == 0 {
        return Err(CliError::Input("--seeds must be at least 1".into()));
    }
    for n in preset.noise.iter().chain([&preset.table_noise]) {
        if !(n.is_finite() && *n >= 0.0) {
            return Err(CliError::Input(format!(
                "noise levels must be finite and ≥ 0 (got {n})"
            )));
        }
    }
    let jobs_n = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // The paper's three inverse problems (the registry's problems with a parameter).
    let problems: Vec<String> = if args.problems.is_empty() {
        mollify_core::problems::builtins()
            .iter()
            .filter(|p| p.parameter().is_some())
            .map(|p| p.name().to_string())
            .collect()
    } else {
        args.problems.clone()
    };
    let engines = if args.engines.is_empty() {
        EngineKind::ALL.to_vec()
    } else {
        args.engines.clone()
    };
    let out = &args.out;
    mollify_core::data::io::create_dir_all(out)?;
    let plan = Plan {
        preset: &preset,
        seeds,
        engines: &engines,
        out,
        backend: args.backend,
    };
    let mut accuracy = Vec::new();
    let mut cost = Vec::new();
    for name in &problems {
        if !args.no_table {
            accuracy.extend(plan.table(name));
        }
        if !args.no_noise && preset.noise_problems.contains(&name.as_str()) {
            // The table's cells are the sweep's point at the table's noise.
            accuracy.extend(plan.noise(name, !args.no_table));
            if name != "langevin" {
                accuracy.extend(plan.kernel(name));
            }
            accuracy.extend(plan.fourier(name));
        }
        if !args.no_sweeps {
            cost.extend(plan.depth(name));
        }
    }
    if !args.no_sweeps && problems.iter().any(|p| p == "heat") {
        cost.extend(plan.grid());
    }
    let csv_path = out.join("results.csv");
    let csv = csv::Writer::from_path(&csv_path)
        .map_err(|e| CliError::Other(format!("{}: {e}", csv_path.display())))?;
    let sink = Mutex::new(Sink {
        csv,
        cells: Vec::new(),
        total: accuracy.len() + cost.len(),
    });
    execute(&plan, &accuracy, jobs_n, &sink)?;
    execute(&plan, &cost, 1, &sink)?;
    let cells = sink.into_inner().map_err(|_| poisoned())?.cells;
    let json = serde_json::to_string_pretty(&cells).map_err(|e| CliError::Other(e.to_string()))?;
    mollify_core::data::io::write_atomic(&out.join("results.json"), json.as_bytes())?;
    let context = report::Context {
        command: std::iter::once("mollify".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        seconds: started.elapsed().as_secs_f64(),
        jobs: jobs_n,
        seeds,
        preset: &preset,
    };
    report::write(out, args.report.as_deref(), &cells, &context)?;
    println!("results in {}", out.display());
    Ok(())
}

fn poisoned() -> CliError {
    CliError::Other("a bench worker panicked".into())
}

/// Simulates (once per data setting) and saves the datasets `jobs` train on.
fn datasets(plan: &Plan<'_>, jobs: &[Job]) -> Result<Vec<(PathBuf, Dataset)>, CliError> {
    let mut made: Vec<(DataConfig, PathBuf, Dataset)> = Vec::new();
    let mut out = Vec::new();
    for job in jobs {
        if let Some((_, dir, ds)) = made.iter().find(|(d, _, _)| *d == job.data) {
            out.push((dir.clone(), ds.clone()));
            continue;
        }
        let d = &job.data;
        let dir = plan.out.join("data").join(format!(
            "{}-{}-{}-n{}-s{}",
            d.source,
            d.case.as_deref().unwrap_or("default").replace(':', "-"),
            size_name(d.size),
            d.noise,
            d.seed
        ));
        let ds = d.simulate()?;
        ds.save(&dir)?;
        out.push((dir.clone(), ds.clone()));
        made.push((d.clone(), dir, ds));
    }
    Ok(out)
}

/// Runs `jobs`, `n` at a time, each row to the sink as it finishes.
fn execute(plan: &Plan<'_>, jobs: &[Job], n: usize, sink: &Mutex<Sink>) -> Result<(), CliError> {
    let data = datasets(plan, jobs)?;
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<CliError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..n.min(jobs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let (dir, ds) = &data[i];
                    let config = plan.config(job);
                    let extra: Vec<String> = job
                        .budget
                        .map(|b| vec!["--max-seconds".into(), b.to_string()])
                        .unwrap_or_default();
                    let order =
                        mollify_core::problems::builtin(&ds.problem).map_or(0, |p| p.order());
                    // A cell that cannot even start is a row with its reason.
                    let summary = run::spawn_train(dir, ds, &config, &job.dir, &extra, true)
                        .unwrap_or_else(|e| Summary::failed(ds, &config, &e.to_string()));
                    let pushed = sink
                        .lock()
                        .map_err(|_| poisoned())
                        .and_then(|mut s| s.push(Cell::new(job, ds, order, &summary)));
                    if let Err(e) = pushed {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        break;
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
