//! Command-line surface (clap derive). Parsing only: every command's work is in its module.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use mollify_core::backend::BackendChoice;
use mollify_core::engine::EngineKind;
use mollify_core::model::{Activation, Arch};
use mollify_core::problems::Size;
use mollify_core::train::KernelSize;
use mollify_core::{Accuracy, Boundary, KernelFamily};

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
    #[command(after_help = problems_help())]
    Simulate(SimulateArgs),
    /// Train one run (one engine, one architecture) on a dataset or a built-in problem.
    Train(TrainArgs),
    /// Train the same data with several engines side by side; with no arguments, the quick
    /// heat demo (5 % observation noise, 1000 steps unless given).
    Compare(CompareArgs),
    /// The paper's Table 2 grid and the cost sweeps (time and memory vs depth, order, grid).
    Bench(BenchArgs),
    /// Stable derivatives of noisy sampled data (NPY/CSV), no training involved.
    Derive(DeriveArgs),
    /// Chromatin data from microscopy localisations: their Nadaraya–Watson density on a grid,
    /// mapped to φ_d and φ_w (the paper's App. C), written as a dataset `train` takes (no truth).
    Localize(LocalizeArgs),
}

/// Parses a core enum by the core's own `FromStr` (its one-line error names what was expected)
/// and lists its `ValueEnum` variants in `--help`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoreEnum<T>(PhantomData<T>);

/// The parser for the core enum `T`.
pub(crate) fn core<T>() -> CoreEnum<T> {
    CoreEnum(PhantomData)
}

impl<T> TypedValueParser for CoreEnum<T>
where
    T: ValueEnum + std::str::FromStr<Err = mollify_core::Error> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let s = value
            .to_str()
            .ok_or_else(|| clap::Error::new(ErrorKind::InvalidUtf8).with_cmd(cmd))?;
        s.parse::<T>()
            .map_err(|e| clap::Error::raw(ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            T::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// A built-in problem's name, checked against the core's registry (the error lists them).
pub(crate) fn problem_name(s: &str) -> Result<String, String> {
    mollify_core::problems::builtin(s)
        .map(|p| p.name().to_string())
        .map_err(|e| e.to_string())
}

/// The built-in problems, for `--help`.
fn problems_help() -> String {
    let lines: Vec<String> = mollify_core::problems::builtins()
        .iter()
        .map(|p| {
            let cases = p.cases();
            let cases = if cases.is_empty() {
                String::new()
            } else {
                format!(" (cases: {})", cases.join(", "))
            };
            format!("  {:<10} {}{cases}", p.name(), p.description())
        })
        .collect();
    format!("Built-in problems:\n{}", lines.join("\n"))
}

/// How a built-in problem is simulated and observed (each overrides the `[data]` section).
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct ProblemArgs {
    /// Parameter case (default: the problem's first; see `mollify simulate --help`).
    #[arg(long)]
    pub(crate) case: Option<String>,
    /// Observation noise, relative to the RMS of the clean solution [default: 0].
    #[arg(long)]
    pub(crate) noise: Option<f64>,
    /// Fraction of grid points observed [default: 0.1].
    #[arg(long)]
    pub(crate) fraction: Option<f64>,
    /// Seed of the noise, the observed subset and random parameter fields [default: 0].
    #[arg(long = "data-seed")]
    pub(crate) data_seed: Option<u64>,
    /// Grid size: quick (seconds) or paper (the paper's resolutions) [default: quick].
    #[arg(long, value_parser = core::<Size>())]
    pub(crate) size: Option<Size>,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// Which problem.
    #[arg(value_parser = problem_name)]
    pub(crate) problem: String,
    #[command(flatten)]
    pub(crate) setup: ProblemArgs,
    /// Output dataset folder (manifest + NPY fields).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Settings of one training run; every flag overrides the `--config` file.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct RunArgs {
    /// TOML file with any of the settings (the `config.toml` a run saves is one; flags
    /// override it).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// Architecture [default: pinn].
    #[arg(long, value_parser = core::<Arch>())]
    pub(crate) arch: Option<Arch>,
    /// Activation of the PINN's hidden layers [default: tanh].
    #[arg(long, value_enum)]
    pub(crate) activation: Option<Activation>,
    /// Kernel family of the mollifier [default: bump].
    #[arg(long, value_parser = core::<KernelFamily>())]
    pub(crate) kernel: Option<KernelFamily>,
    /// Kernel size in grid points (odd), or `auto` (chosen from the data's noise) [default: the
    /// problem's: 5 for chromatin, 11 otherwise].
    #[arg(long = "kernel-size")]
    pub(crate) kernel_size: Option<KernelSize>,
    /// Mollifier boundary policy [default: periodic for periodic data (chromatin), else network].
    #[arg(long, value_parser = core::<Boundary>())]
    pub(crate) boundary: Option<Boundary>,
    /// Take every derivative of a third- or fourth-order residual from the one field g∗φ∗φ
    /// (`--one-field false`: orders ≤ 2 from g∗φ) [default: true].
    #[arg(long = "one-field", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) one_field: Option<bool>,
    /// Adam steps [default: 2000].
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Steps of constant learning rate before the cosine decay [default: 0].
    #[arg(long)]
    pub(crate) warmup: Option<usize>,
    /// Network depth (PINN: hidden layers) [default: 4].
    #[arg(long)]
    pub(crate) depth: Option<usize>,
    /// Network width [default: 64].
    #[arg(long)]
    pub(crate) width: Option<usize>,
    /// Highest frequency of the PINN's Fourier features, radians per unit of the normalised
    /// coordinate; 0: the raw coordinates [default: the problem's: 3 for heat and Langevin, 6
    /// otherwise].
    #[arg(long = "fourier-max")]
    pub(crate) fourier_max: Option<f64>,
    /// Peak learning rate [default: 0.003].
    #[arg(long)]
    pub(crate) lr: Option<f64>,
    /// Weight of the PDE loss [default: 0.1].
    #[arg(long = "pde-weight")]
    pub(crate) pde_weight: Option<f64>,
    /// Seed of the network initialisation [default: 0].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Device [default: cpu].
    #[arg(long, value_parser = core::<BackendChoice>())]
    pub(crate) backend: Option<BackendChoice>,
}

/// Where the data comes from.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// A dataset folder (from `mollify simulate` or your own) or a built-in problem name
    /// [default: heat].
    #[arg(long)]
    pub(crate) data: Option<String>,
    #[command(flatten)]
    pub(crate) setup: ProblemArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Derivative engine [default: mollifier].
    #[arg(long, value_parser = core::<EngineKind>())]
    pub(crate) engine: Option<EngineKind>,
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
    #[arg(long, value_parser = core::<EngineKind>(), value_delimiter = ',', default_value = "mollifier,autodiff")]
    pub(crate) engines: Vec<EngineKind>,
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
    /// quick (CPU, about an hour on 2 cores) or paper (the paper's sizes, GPU hours).
    #[arg(long, default_value = "quick")]
    pub(crate) preset: String,
    /// Seeds per cell (each varies the network's and the data's seed) [default: the preset's].
    #[arg(long)]
    pub(crate) seeds: Option<u64>,
    /// Observation noise levels of the noise sweep, relative to the clean solution's RMS
    /// (comma-separated) [default: the preset's].
    #[arg(long, value_delimiter = ',')]
    pub(crate) noise: Vec<f64>,
    /// Observation noise of the Table 2 block [default: the preset's].
    #[arg(long)]
    pub(crate) table_noise: Option<f64>,
    /// Only these problems (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = problem_name)]
    pub(crate) problems: Vec<String>,
    /// Only these engines (comma-separated) [default: all].
    #[arg(long, value_parser = core::<EngineKind>(), value_delimiter = ',')]
    pub(crate) engines: Vec<EngineKind>,
    /// Skip the Table 2 block.
    #[arg(long)]
    pub(crate) no_table: bool,
    /// Skip the noise sweeps.
    #[arg(long)]
    pub(crate) no_noise: bool,
    /// Skip the cost sweeps.
    #[arg(long)]
    pub(crate) no_sweeps: bool,
    /// Override the preset's training steps (tiny runs for tests).
    #[arg(long)]
    pub(crate) steps: Option<usize>,
    /// Override the preset's time budget per cell, in seconds.
    #[arg(long)]
    pub(crate) budget: Option<f64>,
    /// Accuracy cells run this many at a time (a CPU cell uses one core) [default: the
    /// number of cores]; cost cells always run alone.
    #[arg(long)]
    pub(crate) jobs: Option<usize>,
    /// Device.
    #[arg(long, value_parser = core::<BackendChoice>(), default_value = "cpu")]
    pub(crate) backend: BackendChoice,
    /// Output folder (every cell's run, results.csv as cells finish, results.md).
    #[arg(long, default_value = "runs/bench")]
    pub(crate) out: PathBuf,
    /// Also write the report as DIR/results.md with its plots in DIR/results/ (the committed
    /// docs/results.md is `--report docs`).
    #[arg(long)]
    pub(crate) report: Option<PathBuf>,
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
    /// ∂²/∂x∂y (order ignored).
    Xy,
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
    #[arg(long, value_parser = core::<KernelFamily>(), default_value = "bump")]
    pub(crate) kernel: KernelFamily,
    /// Kernel size in points (odd), or `auto`.
    #[arg(long = "kernel-size", default_value = "auto")]
    pub(crate) kernel_size: KernelSize,
    /// Stencil accuracy (second: the paper's positive kernel; fourth: less bias, more noise);
    /// with `--kernel-size auto` and no choice here, auto picks it too.
    #[arg(long, value_parser = core::<Accuracy>())]
    pub(crate) accuracy: Option<Accuracy>,
    /// Grid spacing along x: required unless the input carries coordinates (an x-y-value
    /// table), since derivatives scale with 1/dxᵏ.
    #[arg(long)]
    pub(crate) dx: Option<f64>,
    /// Grid spacing along y (default: dx).
    #[arg(long)]
    pub(crate) dy: Option<f64>,
    /// Edge policy: extrapolate (same size out), reflect, or valid (output shrinks).
    #[arg(long, value_parser = core::<Boundary>(), default_value = "extrapolate")]
    pub(crate) boundary: Boundary,
    /// Output file (.npy or .csv).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct LocalizeArgs {
    /// Localisations: rows of x, y[, weight] (.npy of shape [N, 2|3], or CSV with an optional
    /// header row).
    #[arg(long)]
    pub(crate) points: PathBuf,
    /// Grid nodes per axis.
    #[arg(long, default_value_t = 128)]
    pub(crate) nodes: usize,
    /// Square region x0,x1,y0,y1 (in the localisations' units) [default: the points' bounding
    /// box, widened to a square about its centre].
    #[arg(long, value_delimiter = ',')]
    pub(crate) extent: Option<Vec<f64>>,
    /// Gaussian kernel bandwidth, in the localisations' units [default: two grid steps].
    #[arg(long)]
    pub(crate) bandwidth: Option<f64>,
    /// Output dataset folder.
    #[arg(long)]
    pub(crate) out: PathBuf,
}
