//! The results table printed after `train` and `compare`, and its Markdown twin.

use crate::run::Summary;

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

const HEADER: [&str; 8] = [
    "engine",
    "arch",
    "steps",
    "corr",
    "∇² corr",
    "rel L2",
    "ms/step",
    "peak MiB",
];

/// One summary's cells, shared by the terminal and Markdown tables.
fn cells(s: &Summary) -> [String; 8] {
    let m = s.metrics.as_ref();
    [
        s.engine.clone(),
        s.arch.clone(),
        s.steps.to_string(),
        fmt_opt(m.map(|m| m.correlation), 3),
        fmt_opt(m.and_then(|m| m.laplacian_correlation), 3),
        fmt_opt(m.map(|m| m.relative_l2), 3),
        fmt_opt(Some(s.ms_per_step).filter(|v| v.is_finite()), 1),
        fmt_opt(s.peak_memory_mib, 0),
    ]
}

/// Prints the table to stdout.
pub(crate) fn print(summaries: &[Summary]) {
    let line = |c: &[String]| {
        println!(
            "{:<10} {:<12} {:>7} {:>10} {:>9} {:>9} {:>10} {:>10}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        )
    };
    line(&HEADER.map(String::from));
    for s in summaries {
        line(&cells(s));
    }
}

/// The table in Markdown.
pub(crate) fn markdown(summaries: &[Summary]) -> String {
    let row = |c: &[String]| format!("| {} |\n", c.join(" | "));
    let mut t = row(&HEADER.map(String::from)) + "|---|---|---|---|---|---|---|---|\n";
    for s in summaries {
        t += &row(&cells(s));
    }
    t
}
