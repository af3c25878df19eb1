//! `mollify bench`: the paper's Table 2 grid — problems × architectures × engines, N seeds —
//! and the cost sweeps (per-step time and peak memory vs depth and vs grid size, and across
//! derivative orders 1, 2, 4 through the three problems). Every cell is a `mollify train`
//! child process, so each peak memory is its own.

use std::path::Path;

use mollify_core::engine::EngineKind;
use mollify_core::model::Arch;
use serde::Serialize;

use mollify_core::problems::Size;
use mollify_core::train::RunConfig;
use mollify_core::train::config::DataConfig;

use crate::cli::BenchArgs;
use crate::error::CliError;
use crate::plot;
use crate::run::{self, Summary};

/// Sizes and budgets of a preset.
#[derive(Debug, Clone, Copy)]
struct Preset {
    size: Size,
    steps: usize,
    width: usize,
    depth: usize,
    /// Wall-clock budget per cell: a cell that would take longer stops there and says so.
    budget: f64,
    /// Steps of each sweep point (enough for a steady per-step time).
    sweep_steps: usize,
    sweep_depths: [usize; 3],
}

const QUICK: Preset = Preset {
    size: Size::Quick,
    steps: 1000,
    width: 64,
    depth: 4,
    budget: 45.0,
    sweep_steps: 6,
    sweep_depths: [7, 11, 15],
};

const PAPER: Preset = Preset {
    size: Size::Paper,
    steps: 1000,
    width: 250,
    depth: 10,
    budget: 3600.0,
    sweep_steps: 10,
    sweep_depths: [7, 11, 15],
};

/// One row of results.csv.
#[derive(Debug, Serialize)]
struct Cell {
    kind: &'static str,
    problem: String,
    arch: String,
    engine: String,
    seed: u64,
    order: usize,
    depth: usize,
    grid: String,
    steps: usize,
    status: String,
    correlation: Option<f64>,
    mean_error: Option<f64>,
    laplacian_correlation: Option<f64>,
    relative_l2: Option<f64>,
    ms_per_step: f64,
    peak_memory_mib: Option<f64>,
}

pub(crate) fn run(args: &BenchArgs, quiet: bool) -> Result<(), CliError> {
    let mut preset = match args.preset.as_str() {
        "quick" => QUICK,
        "paper" => PAPER,
        other => {
            return Err(CliError::Input(format!(
                "unknown preset '{other}' (expected quick or paper)"
            )));
        }
    };
    if let Some(s) = args.steps {
        preset.steps = s.max(1);
        preset.sweep_steps = preset.sweep_steps.min(s.max(2));
    }
    if let Some(b) = args.budget {
        preset.budget = b;
    }
    if args.seeds == 0 {
        return Err(CliError::Input("--seeds must be at least 1".into()));
    }
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
    let out = &args.out;
    mollify_core::data::io::create_dir_all(out)?;
    let mut cells = Vec::new();
    let engines = [
        EngineKind::Taylor,
        EngineKind::Recursive,
        EngineKind::Mollifier,
    ];
    for name in &problems {
        let problem = mollify_core::problems::builtin(name)?;
        let data = DataConfig {
            source: name.clone(),
            size: preset.size,
            ..DataConfig::default()
        };
        let ds = data.simulate()?;
        let data_dir = out.join("data").join(name);
        ds.save(&data_dir)?;
        let grid = format!("{:?}", ds.grid.shape());
        let mut cell = |kind: &'static str,
                        arch: Arch,
                        engine: EngineKind,
                        seed: u64,
                        depth: usize,
                        steps: usize,
                        dir: &Path,
                        data_dir: &Path,
                        grid: &str|
         -> Result<(), CliError> {
            let mut config = RunConfig::new()
                .with_engine(engine)
                .with_arch(arch)
                .with_steps(steps)
                .with_depth(depth)
                .with_width(if arch == Arch::PinnsFormer {
                    32
                } else {
                    preset.width
                })
                .with_seed(seed);
            config.backend = args.backend;
            config.data = data.clone();
            let extra = vec!["--max-seconds".to_string(), preset.budget.to_string()];
            tracing::info!(
                "{kind}: {} {} {} seed {seed} depth {depth}",
                problem.name(),
                arch.name(),
                engine.name()
            );
            let s = run::spawn_train(data_dir, &ds, &config, dir, &extra, quiet)?;
            cells.push(to_cell(kind, &s, seed, problem.order(), depth, grid));
            Ok(())
        };
        if !args.no_table {
            for arch in Arch::ALL {
                for engine in engines {
                    for seed in 0..args.seeds {
                        let dir = out.join("table").join(format!(
                            "{}-{}-{}-s{seed}",
                            problem.name(),
                            arch.name(),
                            engine.name()
                        ));
                        cell(
                            "table",
                            arch,
                            engine,
                            seed,
                            preset.depth,
                            preset.steps,
                            &dir,
                            &data_dir,
                            &grid,
                        )?;
                    }
                }
            }
        }
        if !args.no_sweeps {
            for engine in engines {
                // Depth sweep (the paper's Fig. 1a: 7 → 15 layers) on every problem; the
                // problems themselves are the order sweep (1, 2, 4).
                for depth in preset.sweep_depths {
                    let dir = out.join("sweeps").join(format!(
                        "depth-{}-{}-{depth}",
                        problem.name(),
                        engine.name()
                    ));
                    cell(
                        "depth",
                        Arch::Pinn,
                        engine,
                        0,
                        depth,
                        preset.sweep_steps,
                        &dir,
                        &data_dir,
                        &grid,
                    )?;
                }
            }
        }
    }
    if !args.no_sweeps && problems.iter().any(|p| p == "heat") {
        // Grid sweep on heat: quick (64²) and paper (101²) resolutions.
        let data = DataConfig {
            source: "heat".into(),
            size: Size::Paper,
            ..DataConfig::default()
        };
        let ds = data.simulate()?;
        let data_dir = out.join("data").join("heat-paper");
        ds.save(&data_dir)?;
        let grid = format!("{:?}", ds.grid.shape());
        for engine in engines {
            let mut config = RunConfig::new()
                .with_engine(engine)
                .with_steps(preset.sweep_steps)
                .with_depth(preset.depth)
                .with_width(preset.width);
            config.backend = args.backend;
            config.data = data.clone();
            let dir = out
                .join("sweeps")
                .join(format!("grid-heat-{}", engine.name()));
            let s = run::spawn_train(&data_dir, &ds, &config, &dir, &[], quiet)?;
            cells.push(to_cell("grid", &s, 0, 2, preset.depth, &grid));
        }
    }
    write_results(out, &cells)?;
    Ok(())
}

fn to_cell(
    kind: &'static str,
    s: &Summary,
    seed: u64,
    order: usize,
    depth: usize,
    grid: &str,
) -> Cell {
    let m = s.metrics.as_ref();
    Cell {
        kind,
        problem: s.problem.clone(),
        arch: s.arch.clone(),
        engine: s.engine.clone(),
        seed,
        order,
        depth,
        grid: grid.into(),
        steps: s.steps,
        status: s.status.clone(),
        correlation: m.map(|m| m.correlation),
        mean_error: m.map(|m| m.mean_error),
        laplacian_correlation: m.and_then(|m| m.laplacian_correlation),
        relative_l2: m.map(|m| m.relative_l2),
        ms_per_step: s.ms_per_step,
        peak_memory_mib: s.peak_memory_mib,
    }
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn f(v: Option<f64>, d: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.d$}"))
}

fn write_results(out: &Path, cells: &[Cell]) -> Result<(), CliError> {
    let err = |e: &dyn std::fmt::Display| CliError::Other(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    for c in cells {
        w.serialize(c).map_err(|e| err(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| err(&e))?;
    mollify_core::data::io::write_atomic(&out.join("results.csv"), &bytes)?;
    let json = serde_json::to_string_pretty(cells).map_err(|e| err(&e))?;
    mollify_core::data::io::write_atomic(&out.join("results.json"), json.as_bytes())?;

    // Table 2 layout: one block of rows per problem, one column per architecture × engine.
    let mut md = String::from("# mollify bench\n\n");
    let table: Vec<&Cell> = cells.iter().filter(|c| c.kind == "table").collect();
    let mut columns: Vec<(String, String)> = Vec::new();
    for c in &table {
        let key = (c.arch.clone(), c.engine.clone());
        if !columns.contains(&key) {
            columns.push(key);
        }
    }
    if !table.is_empty() {
        md += "| PDE | metric |";
        for (a, e) in &columns {
            md += &format!(" {a} {e} |");
        }
        md += "\n|---|---|";
        md += &"---|".repeat(columns.len());
        md += "\n";
        let mut problems: Vec<String> = Vec::new();
        for c in &table {
            if !problems.contains(&c.problem) {
                problems.push(c.problem.clone());
            }
        }
        type Metric = (&'static str, fn(&Cell) -> Option<f64>, usize);
        let metrics: [Metric; 6] = [
            ("time per step (ms)", |c| Some(c.ms_per_step), 1),
            ("correlation", |c| c.correlation, 3),
            ("mean error", |c| c.mean_error, 3),
            ("Laplacian corr", |c| c.laplacian_correlation, 3),
            ("peak memory (MiB)", |c| c.peak_memory_mib, 0),
            ("steps done", |c| Some(c.steps as f64), 0),
        ];
        for p in &problems {
            for (k, (label, get, digits)) in metrics.iter().enumerate() {
                md += &format!("| {} | {label} |", if k == 0 { p.as_str() } else { "" });
                for (a, e) in &columns {
                    let v = mean(
                        table
                            .iter()
                            .filter(|c| &c.problem == p && &c.arch == a && &c.engine == e)
                            .filter_map(|c| get(c)),
                    );
                    md += &format!(" {} |", f(v, *digits));
                }
                md += "\n";
            }
        }
        md += "\nCorrelation: spatial (2D, central region) or temporal (1D) Pearson correlation of the recovered parameter with the truth; mean over seeds. Cells that hit the time budget say so in results.csv (status).\n";
    }
    let sweeps: Vec<&Cell> = cells.iter().filter(|c| c.kind != "table").collect();
    if !sweeps.is_empty() {
        md += "\n## Cost sweeps (PINN)\n\n| sweep | problem (order) | grid | depth | engine | ms/step | peak MiB |\n|---|---|---|---|---|---|---|\n";
        for c in &sweeps {
            md += &format!(
                "| {} | {} ({}) | {} | {} | {} | {:.1} | {} |\n",
                c.kind,
                c.problem,
                c.order,
                c.grid,
                c.depth,
                c.engine,
                c.ms_per_step,
                f(c.peak_memory_mib, 0)
            );
        }
        // Ratios against the mollifier at each sweep point.
        md += "\n| sweep point | recursive / mollifier time | recursive / mollifier memory | autodiff / mollifier time | autodiff / mollifier memory |\n|---|---|---|---|---|\n";
        let mut points: Vec<(&str, String, usize, String)> = Vec::new();
        for c in &sweeps {
            let key = (c.kind, c.problem.clone(), c.depth, c.grid.clone());
            if !points.contains(&key) {
                points.push(key);
            }
        }
        for (kind, problem, depth, grid) in points {
            let find = |e: &str| {
                sweeps.iter().find(|c| {
                    c.kind == kind
                        && c.problem == problem
                        && c.depth == depth
                        && c.grid == grid
                        && c.engine == e
                })
            };
            let (Some(m), r, a) = (find("mollifier"), find("recursive"), find("autodiff")) else {
                continue;
            };
            let ratio = |x: Option<&&Cell>, get: fn(&Cell) -> Option<f64>| {
                x.and_then(|x| Some(get(x)? / get(m)?))
            };
            let t = |c: &Cell| Some(c.ms_per_step);
            let mem = |c: &Cell| c.peak_memory_mib;
            md += &format!(
                "| {kind} {problem} {grid} depth {depth} | {} | {} | {} | {} |\n",
                f(ratio(r, t), 1),
                f(ratio(r, mem), 1),
                f(ratio(a, t), 1),
                f(ratio(a, mem), 1)
            );
        }
    }
    mollify_core::data::io::write_atomic(&out.join("results.md"), md.as_bytes())?;
    print!("{md}");
    // Plot: per-step time vs depth for each engine and problem.
    let series: Vec<(String, Vec<(f64, f64)>)> = {
        let mut s: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for c in sweeps.iter().filter(|c| c.kind == "depth") {
            let label = format!("{} {}", c.problem, c.engine);
            match s.iter_mut().find(|(l, _)| *l == label) {
                Some((_, v)) => v.push((c.depth as f64, c.ms_per_step)),
                None => s.push((label, vec![(c.depth as f64, c.ms_per_step)])),
            }
        }
        s
    };
    if !series.is_empty() {
        plot::losses(&out.join("time-vs-depth.svg"), &series)?;
    }
    println!("results in {}", out.display());
    Ok(())
}
