//! The cost section: every cost cell, and each engine's time and memory relative to the
//! mollifier's at the same point.

use std::fmt::Write as _;

use super::super::{Cell, Part};
use super::stats::unique;

/// The cost sweeps and the time and memory ratios of each engine to the mollifier at the same
/// point, computed only where both ran on the same device and count memory the same way.
pub(super) fn cost(md: &mut String, cells: &[Cell]) {
    let sweeps: Vec<&Cell> = cells
        .iter()
        .filter(|c| matches!(c.part, Part::Depth | Part::Grid))
        .collect();
    if sweeps.is_empty() {
        return;
    }
    md.push_str("## Cost sweeps (PINN; each run alone on the machine)\n\n| sweep | problem (order) | grid | depth | engine | device | ms/step | peak MiB | memory counter |\n|---|---|---|---|---|---|---|---|---|\n");
    for c in &sweeps {
        let _ = writeln!(
            md,
            "| {:?} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            c.part,
            c.problem,
            c.order,
            c.grid,
            c.depth,
            c.engine,
            c.device,
            c.ms_per_step.map_or("–".into(), |v| format!("{v:.1}")),
            c.peak_memory_mib.map_or("–".into(), |v| format!("{v:.0}")),
            c.memory_counter
        );
    }
    let others = unique(
        sweeps
            .iter()
            .filter(|c| c.engine != "mollifier")
            .map(|c| c.engine.clone()),
    );
    md.push_str("\n| sweep point |");
    for e in &others {
        let _ = write!(md, " {e} / mollifier time | {e} / mollifier memory |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---|---|".repeat(others.len()));
    md.push('\n');
    let points = unique(
        sweeps
            .iter()
            .map(|c| (c.part, c.problem.clone(), c.depth, c.grid.clone())),
    );
    for (part, problem, depth, grid) in points {
        let find = |e: &str| {
            sweeps.iter().find(|c| {
                c.part == part
                    && c.problem == problem
                    && c.depth == depth
                    && c.grid == grid
                    && c.engine == e
            })
        };
        let Some(m) = find("mollifier") else { continue };
        let _ = write!(md, "| {part:?} {problem} {grid} depth {depth} |");
        for e in &others {
            let comparable =
                |x: &&&Cell| x.device == m.device && x.memory_counter == m.memory_counter;
            let r = find(e).filter(comparable);
            let ratio = |get: fn(&Cell) -> Option<f64>| {
                r.and_then(|x| Some(get(x)? / get(m)?))
                    .map_or("–".into(), |v| format!("{v:.1}"))
            };
            let _ = write!(
                md,
                " {} | {} |",
                ratio(|c| c.ms_per_step),
                ratio(|c| c.peak_memory_mib)
            );
        }
        md.push('\n');
    }
    md.push_str(
        "\nRatios only where both runs used the same device and memory counter (– otherwise).\n\n",
    );
}
