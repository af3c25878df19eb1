//! The results table printed after `train` and `compare`, and its Markdown twin.

use crate::run::Summary;

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// Column titles; the intermediate derivative's is named after the problem's ("∇²T corr").
fn header(summaries: &[Summary]) -> [String; 9] {
    let symbol = summaries
        .iter()
        .find_map(|s| s.metrics.as_ref()?.intermediate.clone())
        .unwrap_or_else(|| "∂u".into());
    [
        "engine".into(),
        "arch".into(),
        "steps".into(),
        "corr".into(),
        "sep corr".into(),
        format!("{symbol} corr"),
        "rel L2".into(),
        "ms/step".into(),
        "peak MiB".into(),
    ]
}

/// One summary's cells, shared by the terminal and Markdown tables: the interior's
/// correlations of the network's parameter, the separable estimate and the intermediate
/// derivative of u.
fn cells(s: &Summary) -> [String; 9] {
    let m = s.metrics.as_ref();
    [
        s.engine.clone(),
        s.arch.clone(),
        s.steps.to_string(),
        fmt_opt(m.and_then(|m| m.correlation()), 3),
        fmt_opt(m.and_then(|m| m.separable_correlation()), 3),
        fmt_opt(m.and_then(|m| m.intermediate_correlation()), 3),
        fmt_opt(m.map(|m| m.interior.parameter.relative_l2), 3),
        fmt_opt(Some(s.ms_per_step).filter(|v| v.is_finite()), 1),
        fmt_opt(s.peak_memory_mib, 0),
    ]
}

/// Prints the table to stdout.
pub(crate) fn print(summaries: &[Summary]) {
    let line = |c: &[String]| {
        println!(
            "{:<10} {:<12} {:>7} {:>8} {:>9} {:>10} {:>8} {:>9} {:>9}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
        )
    };
    line(&header(summaries));
    for s in summaries {
        line(&cells(s));
    }
    if let Some(m) = summaries.iter().find_map(|s| s.metrics.as_ref()) {
        println!(
            "(interior: {} × {} points left out at each edge; whole-domain scores in summary.json)",
            m.interior.margin[1], m.interior.margin[0]
        );
    }
}

/// The table in Markdown.
pub(crate) fn markdown(summaries: &[Summary]) -> String {
    let row = |c: &[String]| format!("| {} |\n", c.join(" | "));
    let mut t = row(&header(summaries)) + "|---|---|---|---|---|---|---|---|---|\n";
    for s in summaries {
        t += &row(&cells(s));
    }
    t
}
