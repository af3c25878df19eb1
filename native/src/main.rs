//! `mollify`: the native front end. Thin by design: argument parsing ([`cli`]), then calls into
//! `mollify-core` through one module per command; output files and plots are written here.

mod bench;
mod cli;
mod data;
mod derive;
mod error;
mod plot;
mod run;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, CompareArgs, TrainArgs};
use error::CliError;
use run::Drive;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version print and exit 0; usage errors are bad input (2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::INFO,
        (false, 1) => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_writer(std::io::stderr)
        .init();
    // Ctrl-C: the training loop checkpoints at the next step and exits with 130.
    let _ =
        ctrlc::set_handler(|| run::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst));
    match dispatch(cli.command, cli.quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn dispatch(command: Command, quiet: bool) -> Result<(), CliError> {
    match command {
        Command::Simulate(args) => {
            let ds = data::simulate(args.problem, &args.setup)?;
            ds.save(&args.out)?;
            println!(
                "{} ({}) on a {:?} grid → {}",
                ds.problem,
                ds.case,
                ds.grid.shape(),
                args.out.display()
            );
            Ok(())
        }
        Command::Train(args) => train(args, quiet),
        Command::Compare(args) => compare(args, quiet),
        Command::Bench(args) => bench::run(&args, quiet),
        Command::Derive(args) => {
            let d = derive::run(&args)?;
            println!(
                "order {} ({:?}) with a {}-point kernel: {:?} values → {}",
                args.order,
                args.axis,
                d.size,
                d.shape,
                args.out.display()
            );
            Ok(())
        }
    }
}

fn train(args: TrainArgs, quiet: bool) -> Result<(), CliError> {
    let drive = Drive {
        quiet,
        resume: args.resume.is_some(),
        inject_nan_at: args.inject_nan_at,
        max_seconds: args.max_seconds,
    };
    let (ds, resolved, out) = match &args.resume {
        Some(dir) => run::load_for_resume(dir)?,
        None => {
            let (ds, source) = data::load(&args.data.data, &args.data.setup)?;
            let resolved = run::resolve(&args.run, args.engine.as_deref(), &ds, &source)?;
            let out = args.out.clone().unwrap_or_else(|| {
                Path::new("runs").join(format!(
                    "{}-{}-{}",
                    ds.problem,
                    resolved.train.engine.name(),
                    resolved.train.arch.name()
                ))
            });
            (ds, resolved, out)
        }
    };
    let s = run::train(&ds, &resolved, &out, drive)?;
    print_table(&[s]);
    println!("results in {}", out.display());
    Ok(())
}

fn compare(args: CompareArgs, quiet: bool) -> Result<(), CliError> {
    let (ds, source) = data::load(&args.data.data, &args.data.setup)?;
    let mut engines = args.engines.clone();
    if args.fd && !engines.iter().any(|e| e == "fd") {
        engines.push("fd".into());
    }
    let mut run_args = args.run.clone();
    if run_args.steps.is_none() && run_args.config.is_none() {
        // The quick demo: enough steps to separate the engines in a few minutes on a CPU.
        run_args.steps = Some(1000);
    }
    let data_dir = args.out.join("data");
    ds.save(&data_dir)?;
    let mut summaries = Vec::new();
    let mut curves = Vec::new();
    let mut fields = Vec::new();
    for engine in &engines {
        let mut resolved = run::resolve(&run_args, Some(engine), &ds, &source)?;
        resolved.data = source.clone();
        let out = args.out.join(resolved.train.engine.name());
        tracing::info!("{engine}: training into {}", out.display());
        // Each engine in its own process, so each peak memory is its own.
        let s = run::spawn_train(&data_dir, &ds, &resolved, &out, &[], quiet)?;
        // A failed engine is a failed row; the others are still compared.
        if s.has_results() {
            curves.push((
                s.engine.clone(),
                plot::read_losses(&out.join("metrics.csv"))?,
            ));
            let (_, p) = mollify_core::io::read_path(&out.join("parameter.npy"))?;
            fields.push((s.engine.clone(), p.data));
        }
        summaries.push(s);
    }
    print_table(&summaries);
    let table = markdown_table(&summaries);
    mollify_core::io::write_atomic(&args.out.join("compare.md"), table.as_bytes())?;
    let json =
        serde_json::to_string_pretty(&summaries).map_err(|e| CliError::Other(e.to_string()))?;
    mollify_core::io::write_atomic(&args.out.join("compare.json"), json.as_bytes())?;
    plot::losses(&args.out.join("loss.svg"), &curves)?;
    let truth = ["F", "k", "gamma"]
        .iter()
        .find_map(|n| ds.fields.get(*n))
        .map(|f| f.values.clone());
    let mut panels: Vec<plot::Panel<'_>> = fields
        .iter()
        .map(|(name, v)| plot::Panel {
            title: name.clone(),
            values: v,
        })
        .collect();
    if let Some(t) = &truth {
        panels.push(plot::Panel {
            title: "truth".into(),
            values: t,
        });
    }
    plot::fields(&args.out.join("parameter.svg"), &panels, &ds.grid.shape())?;
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
fn cells(s: &run::Summary) -> [String; 8] {
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

/// The table printed after train and compare.
pub(crate) fn print_table(summaries: &[run::Summary]) {
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

fn markdown_table(summaries: &[run::Summary]) -> String {
    let row = |c: &[String]| format!("| {} |\n", c.join(" | "));
    let mut t = row(&HEADER.map(String::from)) + "|---|---|---|---|---|---|---|---|\n";
    for s in summaries {
        t += &row(&cells(s));
    }
    t
}
