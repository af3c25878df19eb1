//! What a bench preset runs: its sizes, budgets and sweeps, and the jobs (one training run
//! each) of every part.

use std::path::{Path, PathBuf};

use mollify_core::Boundary;
use mollify_core::engine::EngineKind;
use mollify_core::model::Arch;
use mollify_core::problems::Size;
use mollify_core::train::RunConfig;
use mollify_core::train::config::DataConfig;

use super::Part;
use crate::error::CliError;

/// Sizes, budgets and sweeps of a preset.
#[derive(Debug, Clone)]
pub(super) struct Preset {
    pub(super) size: Size,
    pub(super) steps: usize,
    pub(super) width: usize,
    pub(super) depth: usize,
    pub(super) seeds: u64,
    /// Architectures of the Table 2 block.
    pub(super) archs: &'static [Arch],
    /// Observation noise of the Table 2 block.
    pub(super) table_noise: f64,
    /// Observation noise levels of the noise sweep.
    pub(super) noise: Vec<f64>,
    /// Problems swept over noise (Langevin over its forcing noise σ); the rest are in the
    /// table only.
    pub(super) noise_problems: &'static [&'static str],
    /// Engines of the noise sweeps: the recursive engine computes the autodiff engine's
    /// derivatives (tested to agree), so it adds cost, not information, there.
    pub(super) noise_engines: &'static [EngineKind],
    /// Langevin forcing noise levels σ.
    pub(super) sigma: &'static [f64],
    /// Kernel sizes of the mollifier's kernel-size sweep (on the noise-swept 2D problems).
    pub(super) kernel_sizes: &'static [usize],
    /// Boundary policies run beside the default at the default kernel size (same problems).
    pub(super) boundaries: &'static [Boundary],
    /// The PINN's Fourier bandwidths run beside the problem's own, every noise-swept engine
    /// at the table's noise (the same problems).
    pub(super) fourier: &'static [f64],
    /// Wall-clock budget per cell: a cell that would take longer stops there and says so.
    pub(super) budget: f64,
    /// Steps of each cost-sweep point (enough for a steady per-step time).
    pub(super) sweep_steps: usize,
    pub(super) sweep_depths: [usize; 3],
}

const SWEEP_ENGINES: [EngineKind; 3] = [
    EngineKind::Mollifier,
    EngineKind::Taylor,
    EngineKind::FiniteDifference,
];

pub(super) fn preset(name: &str) -> Result<Preset, CliError> {
    // Sized for about an hour on 2 cores: 500 steps (the engines' correlations at 500 and
    // 1000 steps differ by < 0.01 on heat at 5 % noise), one architecture.
    let quick = Preset {
        size: Size::Quick,
        steps: 500,
        width: 64,
        depth: 4,
        seeds: 5,
        archs: &[Arch::Pinn],
        table_noise: 0.05,
        noise: vec![0.0, 0.05, 0.2],
        noise_problems: &["heat", "langevin"],
        noise_engines: &SWEEP_ENGINES,
        sigma: &[0.1, 0.25, 0.5, 1.0],
        kernel_sizes: &[5, 7, 17],
        // The paper's: what the default `network` halo is measured against.
        boundaries: &[Boundary::Valid],
        // Raw coordinates and the earlier default, against heat's and Langevin's 3.
        fourier: &[0.0, 6.0],
        budget: 200.0,
        sweep_steps: 6,
        sweep_depths: [7, 11, 15],
    };
    match name {
        "quick" => Ok(quick),
        // The paper's sizes, architectures and epochs; every sweep on every problem.
        "paper" => Ok(Preset {
            size: Size::Paper,
            steps: 1000,
            width: 250,
            depth: 10,
            archs: &Arch::ALL,
            noise: vec![0.0, 0.01, 0.05, 0.1, 0.2],
            noise_problems: &["heat", "chromatin", "langevin"],
            budget: 3600.0,
            sweep_steps: 10,
            ..quick
        }),
        other => Err(CliError::Input(format!(
            "unknown preset '{other}' (expected quick or paper)"
        ))),
    }
}

/// One training run to do.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) part: Part,
    pub(super) data: DataConfig,
    pub(super) sigma: Option<f64>,
    /// The mollifier's kernel size, where not the default.
    pub(super) kernel_size: Option<usize>,
    /// The mollifier's boundary policy, where not the data's default.
    pub(super) boundary: Option<Boundary>,
    /// The PINN's Fourier bandwidth, where not the problem's.
    pub(super) fourier_max: Option<f64>,
    pub(super) arch: Arch,
    pub(super) engine: EngineKind,
    pub(super) seed: u64,
    pub(super) depth: usize,
    pub(super) steps: usize,
    pub(super) budget: Option<f64>,
    pub(super) dir: PathBuf,
}

/// What every job is built from.
pub(super) struct Plan<'a> {
    pub(super) preset: &'a Preset,
    pub(super) seeds: u64,
    pub(super) engines: &'a [EngineKind],
    pub(super) out: &'a Path,
    pub(super) backend: mollify_core::backend::BackendChoice,
}

impl Plan<'_> {
    fn data(&self, problem: &str, case: Option<String>, noise: f64, seed: u64) -> DataConfig {
        DataConfig {
            source: problem.into(),
            case,
            noise,
            seed,
            size: self.preset.size,
            ..DataConfig::default()
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn job(
        &self,
        part: Part,
        data: DataConfig,
        sigma: Option<f64>,
        arch: Arch,
        engine: EngineKind,
        seed: u64,
        depth: usize,
        steps: usize,
    ) -> Job {
        let dir = self
            .out
            .join(format!("{part:?}").to_lowercase())
            .join(format!(
                "{}-{}-n{}-{}-{}-d{depth}-s{seed}",
                data.source,
                data.case.as_deref().unwrap_or("default").replace(':', "-"),
                data.noise,
                arch.name(),
                engine.name(),
            ));
        let budget = matches!(
            part,
            Part::Table | Part::Noise | Part::Sigma | Part::Kernel | Part::Fourier
        )
        .then_some(self.preset.budget)
        .filter(|b| *b > 0.0);
        Job {
            part,
            data,
            sigma,
            kernel_size: None,
            boundary: None,
            fourier_max: None,
            arch,
            engine,
            seed,
            depth,
            steps,
            budget,
            dir,
        }
    }

    pub(super) fn table(&self, problem: &str) -> Vec<Job> {
        let mut jobs = Vec::new();
        for seed in 0..self.seeds {
            for &arch in self.preset.archs {
                for &engine in self.engines {
                    let data = self.data(problem, None, self.preset.table_noise, seed);
                    jobs.push(self.job(
                        Part::Table,
                        data,
                        None,
                        arch,
                        engine,
                        seed,
                        self.preset.depth,
                        self.preset.steps,
                    ));
                }
            }
        }
        jobs
    }

    /// The observation-noise sweep on 2D problems, and the forcing-noise sweep on Langevin
    /// (observation noise fixed at the table's level), PINN only.
    pub(super) fn noise(&self, problem: &str, table_ran: bool) -> Vec<Job> {
        let mut jobs = Vec::new();
        let langevin = problem == "langevin";
        let levels: Vec<(f64, Option<f64>)> = if langevin {
            self.preset
                .sigma
                .iter()
                .map(|s| (self.preset.table_noise, Some(*s)))
                .collect()
        } else {
            self.preset
                .noise
                .iter()
                .filter(|n| !(table_ran && **n == self.preset.table_noise))
                .map(|n| (*n, None))
                .collect()
        };
        let engines = self.noise_engines();
        for seed in 0..self.seeds {
            for &(noise, sigma) in &levels {
                for &engine in &engines {
                    let case = sigma.map(|s| format!("noisy:{s}"));
                    let data = self.data(problem, case, noise, seed);
                    let part = if langevin { Part::Sigma } else { Part::Noise };
                    jobs.push(self.job(
                        part,
                        data,
                        sigma,
                        Arch::Pinn,
                        engine,
                        seed,
                        self.preset.depth,
                        self.preset.steps,
                    ));
                }
            }
        }
        jobs
    }

    /// The mollifier at other kernel sizes than the default, and with other boundary policies
    /// at the default size, at the table's noise.
    pub(super) fn kernel(&self, problem: &str) -> Vec<Job> {
        let mut jobs = Vec::new();
        if !self.engines.contains(&EngineKind::Mollifier) {
            return jobs;
        }
        let variants = (self.preset.kernel_sizes.iter())
            .map(|&k| (Some(k), None, format!("k{k}")))
            .chain((self.preset.boundaries.iter()).map(|&b| (None, Some(b), b.to_string())));
        for seed in 0..self.seeds {
            for (size, boundary, name) in variants.clone() {
                let data = self.data(problem, None, self.preset.table_noise, seed);
                let mut job = self.job(
                    Part::Kernel,
                    data,
                    None,
                    Arch::Pinn,
                    EngineKind::Mollifier,
                    seed,
                    self.preset.depth,
                    self.preset.steps,
                );
                job.kernel_size = size;
                job.boundary = boundary;
                job.dir.set_file_name(format!("{problem}-{name}-s{seed}"));
                jobs.push(job);
            }
        }
        jobs
    }

    /// The engines of the noise sweeps that this bench runs.
    fn noise_engines(&self) -> Vec<EngineKind> {
        self.engines
            .iter()
            .copied()
            .filter(|e| self.preset.noise_engines.contains(e))
            .collect()
    }

    /// Every noise-swept engine with other Fourier bandwidths than the problem's, at the
    /// table's noise (the problem's own is the table's: never run twice).
    pub(super) fn fourier(&self, problem: &str) -> Vec<Job> {
        let own = mollify_core::problems::builtin(problem).map(|p| p.fourier_max());
        let widths: Vec<f64> = (self.preset.fourier.iter().copied())
            .filter(|w| own.as_ref().ok() != Some(w))
            .collect();
        let engines = self.noise_engines();
        let mut jobs = Vec::new();
        for seed in 0..self.seeds {
            for &width in &widths {
                for &engine in &engines {
                    let data = self.data(problem, None, self.preset.table_noise, seed);
                    let mut job = self.job(
                        Part::Fourier,
                        data,
                        None,
                        Arch::Pinn,
                        engine,
                        seed,
                        self.preset.depth,
                        self.preset.steps,
                    );
                    job.fourier_max = Some(width);
                    job.dir
                        .set_file_name(format!("{problem}-{}-f{width}-s{seed}", engine.name()));
                    jobs.push(job);
                }
            }
        }
        jobs
    }

    /// Depth sweep (the paper's Fig. 1a: 7 → 15 layers); the problems are the order sweep.
    pub(super) fn depth(&self, problem: &str) -> Vec<Job> {
        let mut jobs = Vec::new();
        for &engine in self.engines {
            for depth in self.preset.sweep_depths {
                let data = self.data(problem, None, self.preset.table_noise, 0);
                jobs.push(self.job(
                    Part::Depth,
                    data,
                    None,
                    Arch::Pinn,
                    engine,
                    0,
                    depth,
                    self.preset.sweep_steps,
                ));
            }
        }
        jobs
    }

    /// Grid sweep on heat: quick (64²) and paper (101²).
    pub(super) fn grid(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        for &engine in self.engines {
            for size in [Size::Quick, Size::Paper] {
                let data = DataConfig {
                    size,
                    ..self.data("heat", None, self.preset.table_noise, 0)
                };
                let mut job = self.job(
                    Part::Grid,
                    data,
                    None,
                    Arch::Pinn,
                    engine,
                    0,
                    self.preset.depth,
                    self.preset.sweep_steps,
                );
                job.dir
                    .set_file_name(format!("heat-{}-{}", size_name(size), engine.name()));
                jobs.push(job);
            }
        }
        jobs
    }

    pub(super) fn config(&self, job: &Job) -> RunConfig {
        let mut config = RunConfig::new()
            .with_engine(job.engine)
            .with_arch(job.arch)
            .with_steps(job.steps)
            .with_depth(job.depth)
            .with_width(if job.arch == Arch::PinnsFormer {
                32
            } else {
                self.preset.width
            })
            .with_seed(job.seed);
        config.backend = self.backend;
        config.data = job.data.clone();
        if let Some(k) = job.kernel_size {
            config.mollifier.size = Some(mollify_core::train::KernelSize::Points(k));
        }
        if job.boundary.is_some() {
            config.mollifier.boundary = job.boundary;
        }
        if job.fourier_max.is_some() {
            config.model.fourier_max = job.fourier_max;
        }
        config
    }
}

pub(super) fn size_name(size: Size) -> &'static str {
    match size {
        Size::Quick => "quick",
        Size::Paper => "paper",
    }
}
