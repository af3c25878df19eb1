//! Command-line surface (clap derive). Parsing only: every command's work is in its module.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Mollifier layers: stable high-order derivatives for inverse PDE learning.
#[derive(Debug, Parser)]
#[command(
    name = "mollify",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 success; 1 an output could not be written or an internal failure; \
2 bad input (arguments, files, data: one line on stderr, nothing written); 3 a run stopped on a \
non-finite loss (its last good checkpoint kept); 130 interrupted by Ctrl-C (checkpoint saved)."
)]
pub(crate) struct Cli {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors; no progress bars.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Simulate a problem with known ground truth and write a dataset folder.
    Simulate(SimulateArgs),
    /// Train one run (one engine, one architecture) on a dataset or a built-in problem.
    Train(TrainArgs),
    /// Train the same data with several engines side by side; with no arguments, the quick
    /// heat demo.
    Compare(CompareArgs),
    /// The paper's Table 2 grid and the cost sweeps (time and memory vs depth, order, grid).
    Bench(BenchArgs),
    /// Stable derivatives of noisy sampled data (NPY/CSV), no training involved.
    Derive(DeriveArgs),
}

/// The built-in problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Problem {
    /// First-order Langevin equation: infer the forcing F(t).
    Langevin,
    /// Steady 2D heat equation: infer the conductivity k(x, y).
    Heat,
    /// Fourth-order chromatin reaction–diffusion: infer the reaction rate Γ(x, y).
    #[value(alias = "reaction-diffusion")]
    Chromatin,
    /// Forward toy ODE u′ + u = sin 2t (no parameter to infer).
    Ode,
}

impl Problem {
    /// The core's simulator for this choice.
    pub(crate) fn builtin(self) -> mollify_core::problems::Builtin {
        use mollify_core::problems::Builtin;
        match self {
            Self::Langevin => Builtin::Langevin,
            Self::Heat => Builtin::Heat,
            Self::Chromatin => Builtin::Chromatin,
            Self::Ode => Builtin::Ode,
        }
    }
}

/// How a built-in problem is simulated and observed.
#[derive(Debug, Clone, Args, serde::Serialize, serde::Deserialize)]
pub(crate) struct ProblemArgs {
    /// Parameter case: langevin constant|noisy|varying, heat constant|smooth|sharp, chromatin
    /// constant|patterned|lognormal (default: the problem's varying case).
    #[arg(long)]
    pub(crate) case: Option<String>,
    /// Observation noise, relative to the RMS of the clean solution.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) noise: f64,
    /// Fraction of grid points observed.
    #[arg(long, default_value_t = 0.1)]
    pub(crate) fraction: f64,
    /// Seed of the noise, the observed subset and random parameter fields.
    #[arg(long = "data-seed", default_value_t = 0)]
    pub(crate) data_seed: u64,
    /// Grid size: quick (seconds) or paper (the paper's resolutions).
    #[arg(long, default_value = "quick")]
    pub(crate) size: String,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Which problem.
    pub(crate) problem: Problem,
    #[command(flatten)]
    pub(crate) setup: ProblemArgs,
    /// Output dataset folder (manifest + NPY fields).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Which device runs the tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BackendArg {
    /// The GPU through wgpu if it initialises, else the CPU (one log line says why).
    Auto,
    /// wgpu on Vulkan.
    Vulkan,
    /// wgpu on the platform's default API.
    Wgpu,
    /// CUDA (not built into this binary: see the README).
    Cuda,
    /// burn's CPU backend (flex): the fastest choice on machines without a GPU.
    Cpu,
}

/// Settings of one training run; every flag overrides the `--config` file.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct RunArgs {
    /// TOML file with any of the settings below (flags override it).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Architecture: pinn, piratenet or pinnsformer.
    #[arg(long)]
    pub(crate) arch: Option<String>,
    /// Kernel family of the mollifier: bump, poly2, poly4, sine.
    #[arg(long)]
    pub(crate) kernel: Option<String>,
    /// Kernel size in grid points (odd), or `auto` (chosen from the data's noise).
    #[arg(long = "kernel-size")]
    pub(crate) kernel_size: Option<String>,
    /// Mollifier boundary policy: valid, reflect or extrapolate.
    #[arg(long)]
    pub(crate) boundary: Option<String>,
    /// Adam steps.
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Network depth (PINN: hidden layers).
    #[arg(long)]
    pub(crate) depth: Option<usize>,
    /// Network width.
    #[arg(long)]
    pub(crate) width: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Weight of the PDE loss.
    #[arg(long = "pde-weight")]
    pub(crate) pde_weight: Option<f64>,
    /// Seed of the network initialisation.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Device.
    #[arg(long, value_enum)]
    pub(crate) backend: Option<BackendArg>,
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// A dataset folder (from `mollify simulate` or your own) or a built-in problem name.
    #[arg(long, default_value = "heat")]
    pub(crate) data: String,
    #[command(flatten)]
    pub(crate) setup: ProblemArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Derivative engine: mollifier, autodiff (Taylor mode), recursive or fd.
    #[arg(long)]
    pub(crate) engine: Option<String>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// Output folder: config, metrics.csv, summary.json, recovered field, plots, checkpoint.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Continue a stopped run from its folder's checkpoint (its saved config and data).
    #[arg(long, conflicts_with = "out")]
    pub(crate) resume: Option<PathBuf>,
    /// Stop after this much training time (seconds), keeping everything a finished run keeps.
    #[arg(long = "max-seconds")]
    pub(crate) max_seconds: Option<f64>,
    /// Testing aid: make the loss non-finite at this step.
    #[arg(long = "inject-nan-at", hide = true)]
    pub(crate) inject_nan_at: Option<usize>,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Engines to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "mollifier,autodiff")]
    pub(crate) engines: Vec<String>,
    /// Add the finite-difference engine.
    #[arg(long)]
    pub(crate) fd: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
    /// Output folder (one subfolder per engine, plus the comparison table and plots).
    #[arg(long, default_value = "runs/compare")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// quick (CPU, minutes) or paper (the paper's sizes, GPU hours).
    #[arg(long, default_value = "quick")]
    pub(crate) preset: String,
    /// Seeds per cell.
    #[arg(long, default_value_t = 1)]
    pub(crate) seeds: u64,
    /// Only these problems (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) problems: Vec<Problem>,
    /// Skip the Table 2 grid (cost sweeps only).
    #[arg(long)]
    pub(crate) no_table: bool,
    /// Skip the cost sweeps.
    #[arg(long)]
    pub(crate) no_sweeps: bool,
    /// Override the preset's training steps (tiny runs for tests).
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Override the preset's time budget per cell, in seconds.
    #[arg(long)]
    pub(crate) budget: Option<f64>,
    /// Device.
    #[arg(long, value_enum, default_value = "cpu")]
    pub(crate) backend: BackendArg,
    /// Output folder.
    #[arg(long, default_value = "runs/bench")]
    pub(crate) out: PathBuf,
}

/// Which derivative of a 2D field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AxisArg {
    /// ∂ᵏ/∂xᵏ (the last axis; the only one in 1D).
    X,
    /// ∂ᵏ/∂yᵏ (the first axis).
    Y,
    /// ∇² (order ignored).
    Laplacian,
    /// ∇⁴ (order ignored).
    Biharmonic,
}

#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// Input samples: .npy, .csv grid, or an x-y-value table (.txt/.dat/.tsv).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Derivative order (0 smooths).
    #[arg(long, default_value_t = 1)]
    pub(crate) order: usize,
    /// Axis or operator (2D).
    #[arg(long, value_enum, default_value = "x")]
    pub(crate) axis: AxisArg,
    /// Kernel family.
    #[arg(long, default_value = "bump")]
    pub(crate) kernel: String,
    /// Kernel size in points (odd), or `auto`.
    #[arg(long = "kernel-size", default_value = "auto")]
    pub(crate) kernel_size: String,
    /// Grid spacing along x (ignored when the input carries coordinates).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) dx: f64,
    /// Grid spacing along y.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) dy: f64,
    /// Edge policy: extrapolate (same size out), reflect, or valid (output shrinks).
    #[arg(long, default_value = "extrapolate")]
    pub(crate) boundary: String,
    /// Output file (.npy or .csv).
    #[arg(long)]
    pub(crate) out: PathBuf,
}
