//! results.md from the bench's rows: the paper's Table 2 layout with its figures beside ours,
//! the noise sweeps as tables and plots, the cost sweeps with ratios, and how it was made
//! (command, machine, wall time). Every number is a mean ± standard deviation over seeds.

use std::fmt::Write as _;
use std::path::Path;

mod cost;
mod stats;

use mollify_core::engine::EngineKind;

use super::{Cell, Part, Preset};
use crate::error::CliError;
use crate::plot;
use stats::{across_runs, fmt1, pm, stats, unique};

/// How the bench ran.
pub(super) struct Context<'a> {
    pub(super) command: String,
    pub(super) seconds: f64,
    pub(super) jobs: usize,
    pub(super) seeds: u64,
    pub(super) preset: &'a Preset,
}

/// Rows of the paper's Table 2 (K80 GPUs): problem, metric, PINN, PINN+M.
const PAPER: &[(&str, Metric, f64, f64)] = &[
    ("langevin", Metric::Time, 2138.0, 1615.0),
    ("langevin", Metric::MeanCorr, 0.99, 0.96),
    ("langevin", Metric::Corr, 0.99, 0.97),
    ("langevin", Metric::Memory, 0.21 * 1024.0, 0.16 * 1024.0),
    ("heat", Metric::Time, 2294.0, 1582.0),
    ("heat", Metric::MeanCorr, 0.81, 0.99),
    ("heat", Metric::Corr, 0.21, 0.99),
    ("heat", Metric::Memory, 1.20 * 1024.0, 0.24 * 1024.0),
    ("heat", Metric::Intermediate, 0.16, 0.99),
    ("chromatin", Metric::Time, 3386.0, 335.0),
    ("chromatin", Metric::MeanCorr, 0.44, 0.99),
    ("chromatin", Metric::Corr, 0.17, 0.84),
    ("chromatin", Metric::Memory, 2.75 * 1024.0, 0.23 * 1024.0),
    ("chromatin", Metric::Intermediate, 0.21, 0.78),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Time,
    Steps,
    MeanCorr,
    VarCorr,
    Corr,
    Separable,
    Intermediate,
    Memory,
    RelL2,
}

fn value(c: &Cell, m: Metric) -> Option<f64> {
    match m {
        Metric::Time => c.seconds,
        Metric::Steps => Some(c.steps as f64),
        Metric::Corr => c.correlation,
        Metric::Separable => c.separable_correlation,
        Metric::Intermediate => c.intermediate_correlation,
        Metric::Memory => c.peak_memory_mib,
        Metric::RelL2 => c.relative_l2,
        Metric::MeanCorr | Metric::VarCorr => None,
    }
}

/// Where a problem's accuracy is judged: temporal in 1D, spatial in 2D.
fn corr_name(problem: &str) -> &'static str {
    if problem == "langevin" {
        "temporal corr"
    } else {
        "spatial corr"
    }
}

fn table2(md: &mut String, cells: &[Cell], ctx: &Context<'_>) {
    let table: Vec<&Cell> = cells.iter().filter(|c| c.part == Part::Table).collect();
    if table.is_empty() {
        return;
    }
    let columns = unique(table.iter().map(|c| (c.arch.clone(), c.engine.clone())));
    let _ = writeln!(
        md,
        "## Table 2\n\nThe paper's PINN and PINN+M columns (K80 GPU, its sizes, 5 runs) beside ours \
         ({} seeds, each varying the network's and the data's seed; observation noise {} % of the \
         clean solution's RMS; {} steps, at most {} s per run). Correlations are on the interior \
         (see *Metrics*); ± is the standard deviation over seeds.\n",
        ctx.seeds,
        100.0 * ctx.preset.table_noise,
        ctx.preset.steps,
        ctx.preset.budget
    );
    md.push_str("| PDE | metric | paper PINN | paper PINN+M |");
    for (a, e) in &columns {
        let _ = write!(md, " {a} {e} |");
    }
    md.push_str("\n|---|---|---|---|");
    md.push_str(&"---|".repeat(columns.len()));
    md.push('\n');
    for problem in unique(table.iter().map(|c| c.problem.clone())) {
        let symbol = symbol(table.iter().filter(|c| c.problem == problem));
        let order = table
            .iter()
            .find(|c| c.problem == problem)
            .map_or(0, |c| c.order);
        let rows: [(Metric, String, usize); 9] = [
            (Metric::Time, "time per run (s)".into(), 1),
            (Metric::Steps, "steps done".into(), 0),
            (Metric::MeanCorr, "mean corr (across runs)".into(), 2),
            (Metric::VarCorr, "variance corr (across runs)".into(), 2),
            (Metric::Corr, corr_name(&problem).into(), 3),
            (Metric::Separable, "separable estimate corr".into(), 3),
            (
                Metric::Intermediate,
                format!("{symbol} corr (paper: Laplacian corr)"),
                3,
            ),
            (Metric::Memory, "peak memory (MiB)".into(), 0),
            (Metric::RelL2, "relative L2".into(), 3),
        ];
        for (k, (metric, label, digits)) in rows.iter().enumerate() {
            let paper = PAPER
                .iter()
                .find(|(p, m, _, _)| *p == problem && m == metric);
            let paper_cell = |v: Option<f64>| match (v, metric) {
                (Some(v), Metric::Time | Metric::Memory) => format!("{v:.0}"),
                (Some(v), _) => format!("{v:.2}"),
                (None, _) => "–".into(),
            };
            let _ = write!(
                md,
                "| {} | {label} | {} | {} |",
                if k == 0 {
                    format!("{problem} (order {order})")
                } else {
                    String::new()
                },
                paper_cell(paper.map(|p| p.2)),
                paper_cell(paper.map(|p| p.3))
            );
            for (a, e) in &columns {
                let mine: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| {
                        c.problem == problem
                            && &c.arch == a
                            && &c.engine == e
                            && matches!(c.part, Part::Table | Part::Noise | Part::Sigma)
                    })
                    .collect();
                let in_table = mine.iter().filter(|c| c.part == Part::Table);
                let text = match metric {
                    Metric::MeanCorr => fmt1(across_runs(&mine, |c| (c.mean, c.truth_mean))),
                    Metric::VarCorr => fmt1(across_runs(&mine, |c| (c.std, c.truth_std))),
                    _ => pm(stats(in_table.map(|c| value(c, *metric))), *digits),
                };
                let _ = write!(md, " {text} |");
            }
            md.push('\n');
        }
    }
    md.push_str(
        "\n*Mean* and *variance corr* correlate, across every accuracy run of an engine (this \
         block and its noise sweep), the estimate's region mean and standard deviation with the \
         truth's (the paper's App. B.4.1); they are undefined (–) where the truth's mean or \
         spread is the same in every run, as in a sweep over observation noise alone. The paper \
         reports times for 1000 epochs on its sizes and a K80; ours are per run on the \
         quick grids, so compare ratios, not seconds.\n\n",
    );
}

/// Noise-sweep tables and plots, one per problem and part.
fn sweeps(md: &mut String, cells: &[Cell], plots: &Path, rel: &str) -> Result<(), CliError> {
    for part in [Part::Noise, Part::Sigma] {
        let swept: Vec<&str> = cells
            .iter()
            .filter(|c| c.part == part)
            .map(|c| c.problem.as_str())
            .collect();
        let engines_swept: Vec<&str> = cells
            .iter()
            .filter(|c| c.part == part)
            .map(|c| c.engine.as_str())
            .collect();
        // The table's PINN cells are the observation-noise sweep's point at the table's noise.
        let rows: Vec<&Cell> = cells
            .iter()
            .filter(|c| {
                c.part == part
                    || (part == Part::Noise
                        && c.part == Part::Table
                        && c.arch == "pinn"
                        && swept.contains(&c.problem.as_str())
                        && engines_swept.contains(&c.engine.as_str()))
            })
            .collect();
        for problem in unique(rows.iter().map(|c| c.problem.clone())) {
            let mine: Vec<&Cell> = rows
                .iter()
                .copied()
                .filter(|c| c.problem == problem)
                .collect();
            let level = |c: &Cell| match part {
                Part::Sigma => c.sigma.unwrap_or(0.0),
                _ => 100.0 * c.noise,
            };
            let (x_label, heading) = match part {
                Part::Sigma => (
                    "forcing noise σ",
                    format!(
                        "## {problem}: forcing-noise sweep (σ of F's white noise; observation noise {} %)",
                        mine.first().map_or(0.0, |c| 100.0 * c.noise)
                    ),
                ),
                _ => (
                    "observation noise (% of RMS)",
                    format!("## {problem}: observation-noise sweep"),
                ),
            };
            let symbol = symbol(mine.iter());
            let engines = unique(mine.iter().map(|c| c.engine.clone()));
            let levels = {
                let mut l = unique(mine.iter().map(|c| level(c).to_bits()));
                l.sort_by(|a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)));
                l
            };
            let _ = writeln!(md, "{heading}\n");
            let metrics: [(Metric, String); 3] = [
                (Metric::Corr, corr_name(&problem).to_string()),
                (Metric::Intermediate, format!("{symbol} corr")),
                (Metric::Separable, "separable estimate corr".into()),
            ];
            let mut panels = Vec::new();
            for (metric, label) in &metrics {
                let _ = write!(md, "| {label} \\ {x_label} |");
                for l in &levels {
                    let _ = write!(md, " {} |", f64::from_bits(*l));
                }
                md.push_str("\n|---|");
                md.push_str(&"---|".repeat(levels.len()));
                md.push('\n');
                let mut series = Vec::new();
                for e in &engines {
                    let _ = write!(md, "| {e} |");
                    let mut points = Vec::new();
                    for l in &levels {
                        let s = stats(
                            mine.iter()
                                .filter(|c| &c.engine == e && level(c).to_bits() == *l)
                                .map(|c| value(c, *metric)),
                        );
                        let _ = write!(md, " {} |", pm(s, 3));
                        if let Some((m, sd, _)) = s {
                            points.push((f64::from_bits(*l), m, sd));
                        }
                    }
                    md.push('\n');
                    series.push((e.clone(), points));
                }
                md.push('\n');
                panels.push((label.clone(), series));
            }
            if part == Part::Sigma {
                md.push_str(
                    "Variance correlation across runs (predicted vs true standard deviation of F):",
                );
                for e in &engines {
                    let runs: Vec<&Cell> =
                        mine.iter().copied().filter(|c| &c.engine == e).collect();
                    let _ = write!(
                        md,
                        " {e} {};",
                        fmt1(across_runs(&runs, |c| (c.std, c.truth_std)))
                    );
                }
                md.push_str("\n\n");
            }
            let file = format!("{}-{problem}.svg", format!("{part:?}").to_lowercase());
            plot::sweep(&plots.join(&file), x_label, &panels)?;
            let _ = writeln!(
                md,
                "![{}]({rel}/{file})\n",
                heading.trim_start_matches("## ")
            );
        }
    }
    Ok(())
}

/// The mollifier's correlations against its kernel size and boundary policy (the table's
/// cells at the defaults included).
fn kernels(md: &mut String, cells: &[Cell]) {
    let swept: Vec<&Cell> = cells.iter().filter(|c| c.part == Part::Kernel).collect();
    for problem in unique(swept.iter().map(|c| c.problem.clone())) {
        let rows: Vec<&Cell> = cells
            .iter()
            .filter(|c| {
                c.problem == problem
                    && c.engine == "mollifier"
                    && c.arch == "pinn"
                    && matches!(c.part, Part::Kernel | Part::Table)
            })
            .collect();
        let symbol = symbol(rows.iter());
        let mut settings = unique(rows.iter().map(|c| (c.boundary.clone(), c.kernel_size)));
        settings.sort();
        let _ = writeln!(
            md,
            "## {problem}: the mollifier's kernel size and boundary policy (observation noise {} %)\n\n| boundary | kernel size (points) | {} | {symbol} corr | separable estimate corr |\n|---|---|---|---|---|",
            rows.first().map_or(0.0, |c| 100.0 * c.noise),
            corr_name(&problem)
        );
        for (boundary, size) in settings {
            let at: Vec<&&Cell> = rows
                .iter()
                .filter(|c| c.boundary == boundary && c.kernel_size == size)
                .collect();
            let col = |m: Metric| pm(stats(at.iter().map(|c| value(c, m))), 3);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                boundary.as_deref().unwrap_or("–"),
                size.map_or("–".into(), |k| k.to_string()),
                col(Metric::Corr),
                col(Metric::Intermediate),
                col(Metric::Separable)
            );
        }
        md.push('\n');
    }
}

/// Every noise-swept engine's correlations against the PINN's Fourier bandwidth (the table's
/// cells at the problem's own included).
fn fourier(md: &mut String, cells: &[Cell]) {
    let swept: Vec<&Cell> = cells.iter().filter(|c| c.part == Part::Fourier).collect();
    for problem in unique(swept.iter().map(|c| c.problem.clone())) {
        let engines: Vec<&str> = EngineKind::ALL
            .iter()
            .map(|e| e.name())
            .filter(|e| swept.iter().any(|c| c.problem == problem && c.engine == *e))
            .collect();
        let rows: Vec<&Cell> = cells
            .iter()
            .filter(|c| {
                c.problem == problem
                    && c.arch == "pinn"
                    && engines.contains(&c.engine.as_str())
                    && matches!(c.part, Part::Fourier | Part::Table)
            })
            .collect();
        let symbol = symbol(rows.iter());
        let mut widths = unique(rows.iter().filter_map(|c| c.fourier_max));
        widths.sort_by(f64::total_cmp);
        let _ = writeln!(
            md,
            "## {problem}: the PINN's Fourier bandwidth (observation noise {} %)\n\nFeatures [x, sin(ωⱼx), cos(ωⱼx)], six ωⱼ equally spaced up to the bandwidth, per normalised coordinate; 0: the raw coordinates.\n\n| bandwidth (rad per unit) | engine | {} | {symbol} corr | separable estimate corr |\n|---|---|---|---|---|",
            rows.first().map_or(0.0, |c| 100.0 * c.noise),
            corr_name(&problem)
        );
        for width in widths {
            for engine in &engines {
                let at: Vec<&&Cell> = rows
                    .iter()
                    .filter(|c| c.fourier_max == Some(width) && c.engine == *engine)
                    .collect();
                let col = |m: Metric| pm(stats(at.iter().map(|c| value(c, m))), 3);
                let _ = writeln!(
                    md,
                    "| {width} | {engine} | {} | {} | {} |",
                    col(Metric::Corr),
                    col(Metric::Intermediate),
                    col(Metric::Separable)
                );
            }
        }
        md.push('\n');
    }
}

/// The name of the solution derivative the cells' residual hinges on ("∇²T", "v′").
fn symbol<'a>(mut cells: impl Iterator<Item = &'a &'a Cell>) -> String {
    cells
        .find_map(|c| c.intermediate.clone())
        .unwrap_or_else(|| "∂u".into())
}

/// The machine, in words.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

pub(super) fn write(
    out: &Path,
    report: Option<&Path>,
    cells: &[Cell],
    ctx: &Context<'_>,
) -> Result<(), CliError> {
    let targets: Vec<(std::path::PathBuf, std::path::PathBuf, String)> = {
        let mut t = vec![(out.join("results.md"), out.to_path_buf(), ".".to_string())];
        if let Some(dir) = report {
            t.push((
                dir.join("results.md"),
                dir.join("results"),
                "results".into(),
            ));
        }
        t
    };
    for (file, plots, rel) in targets {
        mollify_core::data::io::create_dir_all(&plots)?;
        let mut md = String::from("# Results: the paper's evaluation on our problems\n\n");
        let _ = writeln!(
            md,
            "Made by `{}` in {:.0} min on {} (devices used: {}), accuracy runs {} at a time \
             (a CPU run uses one core), cost runs alone. Raw rows: `results.csv` in the bench's \
             output folder.\n",
            ctx.command,
            ctx.seconds / 60.0,
            machine(),
            unique(
                cells
                    .iter()
                    .map(|c| c.device.clone())
                    .filter(|d| !d.is_empty())
            )
            .join(", "),
            ctx.jobs
        );
        md.push_str(
            "**Metrics.** *Correlation*: Pearson correlation of the network's parameter field \
             with the truth (spatial in 2D, temporal in 1D); undefined for a constant truth \
             (then the relative error of the mean, in results.csv). *Separable estimate*: the \
             parameter solved pointwise from the engine's derivatives of u (k̂ = −f/∇²T̂, \
             F̂ = v̂′ + γv̂, Γ̂ = (φ_h − ½∇²μ̂_d)/φ_e). *∇²T corr* (the paper's Laplacian \
             correlation): the engine's derivative of the solution that the residual hinges on, \
             against the clean solution's (second-order central differences). Every engine is \
             scored on the same points: the *interior* leaves out the kernel's half-width at \
             each edge (where the paper's Valid boundary defines no u) and, in 2D, 20 % of \
             each axis (next to the Dirichlet edge data and residual barely constrain the \
             parameter, for every engine alike); whole-domain scores (half-width only) are in \
             results.csv. The mollifier's boundary policy is `network` (the network evaluated \
             on a halo around the grid) except on periodic data (`periodic`).\n\n",
        );
        table2(&mut md, cells, ctx);
        sweeps(&mut md, cells, &plots, &rel)?;
        kernels(&mut md, cells);
        fourier(&mut md, cells);
        cost::cost(&mut md, cells);
        let failed: Vec<&Cell> = cells.iter().filter(|c| c.status != "finished").collect();
        if !failed.is_empty() {
            md.push_str("## Runs that did not finish\n\n");
            for c in failed {
                let _ = writeln!(
                    md,
                    "- {:?} {} {} {} noise {} seed {}: {}",
                    c.part, c.problem, c.arch, c.engine, c.noise, c.seed, c.status
                );
            }
        }
        mollify_core::data::io::write_atomic(&file, md.as_bytes())?;
        if rel == "." {
            print!("{md}");
        }
    }
    Ok(())
}
