//! `mollify compare`: the same data trained by several engines, each in its own process,
//! side by side in a table and plots.

use mollify_core::data::io::parse_npy;
use mollify_core::engine::EngineKind;
use mollify_core::train::config::{DEMO_NOISE, DEMO_STEPS};
use mollify_core::train::metrics::{intermediate_truth, parameter_truth};

use crate::cli::CompareArgs;
use crate::error::CliError;
use crate::{plot, run, table};

pub(crate) fn run(args: CompareArgs, quiet: bool) -> Result<(), CliError> {
    let mut run_args = args.run.clone();
    let mut data_args = args.data.clone();
    if run_args.config.is_none() {
        // The quick demo: enough steps to separate the engines in a few minutes on a CPU, at
        // the noise where they differ (measured: docs/results.md). A dataset folder keeps its
        // own noise.
        run_args.steps.get_or_insert(DEMO_STEPS);
        data_args.setup.noise.get_or_insert(DEMO_NOISE);
    }
    let base = run::resolve(&run_args, Some(&data_args), None)?;
    let ds = crate::data::load(&base.data)?;
    let mut engines = args.engines.clone();
    if args.fd && !engines.contains(&EngineKind::FiniteDifference) {
        engines.push(EngineKind::FiniteDifference);
    }
    let data_dir = args.out.join("data");
    ds.save(&data_dir)?;
    let mut summaries = Vec::new();
    let mut curves = Vec::new();
    let mut fields = Vec::new();
    for engine in engines {
        let mut config = base.clone();
        config.engine = engine;
        let out = args.out.join(engine.name());
        tracing::info!("{}: training into {}", engine.name(), out.display());
        // Each engine in its own process, so each peak memory is its own.
        let s = run::spawn_train(&data_dir, &ds, &config, &out, &[], quiet)?;
        // A failed engine is a failed row; the others are still compared.
        if s.has_results() {
            curves.push((
                s.engine.clone(),
                plot::read_losses(&out.join("metrics.csv"))?,
            ));
            // The run's own outputs: NaN marks the engine's margin.
            let read = |name: &str| -> Result<Option<Vec<f64>>, CliError> {
                let path = out.join(name);
                if !path.exists() {
                    return Ok(None);
                }
                let bytes = std::fs::read(&path)
                    .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
                Ok(Some(parse_npy(&bytes, &path.display().to_string())?.data))
            };
            let parameter = read("parameter.npy")?
                .ok_or_else(|| CliError::Other(format!("{}: no parameter.npy", out.display())))?;
            fields.push((s.engine.clone(), parameter, read("intermediate.npy")?));
        }
        summaries.push(s);
    }
    table::print(&summaries);
    let md = table::markdown(&summaries);
    mollify_core::data::io::write_atomic(&args.out.join("compare.md"), md.as_bytes())?;
    let json =
        serde_json::to_string_pretty(&summaries).map_err(|e| CliError::Other(e.to_string()))?;
    mollify_core::data::io::write_atomic(&args.out.join("compare.json"), json.as_bytes())?;
    plot::losses(&args.out.join("loss.svg"), &curves)?;
    // The truths, where the data has them, by the names the problem gives them.
    let problem = mollify_core::problems::builtin(&ds.problem).ok();
    let truth = problem.as_deref().and_then(|p| parameter_truth(p, &ds));
    let intermediate = problem.as_ref().and_then(|p| p.intermediate());
    let derivative_truth = problem.as_deref().and_then(|p| intermediate_truth(p, &ds));
    let shape = ds.grid.shape();
    let draw = |file: &str, panels: Vec<plot::Panel<'_>>, truth: Option<&[f64]>| {
        plot::against_truth(
            &args.out.join(file),
            panels,
            plot::truth("truth", truth),
            &shape,
        )
    };
    draw(
        "parameter.svg",
        fields
            .iter()
            .map(|(e, p, _)| plot::Panel {
                title: e.clone(),
                values: p,
            })
            .collect(),
        truth,
    )?;
    if let Some(i) = intermediate {
        draw(
            "intermediate.svg",
            fields
                .iter()
                .filter_map(|(e, _, d)| {
                    Some(plot::Panel {
                        title: format!("{e} {}", i.symbol),
                        values: d.as_deref()?,
                    })
                })
                .collect(),
            derivative_truth.as_deref(),
        )?;
    }
    println!("results in {}", args.out.display());
    let failed: Vec<&str> = summaries
        .iter()
        .filter(|s| !s.has_results())
        .map(|s| s.engine.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Other(format!(
            "engine(s) failed: {} (their messages are above; results of the others in {})",
            failed.join(", "),
            args.out.display()
        )))
    }
}
