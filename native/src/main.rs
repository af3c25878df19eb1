//! `mollify`: the native front end. Thin by design: argument parsing ([`cli`]), then one
//! module per command calling into `mollify-core`; output files and plots are written there.

mod bench;
mod cli;
mod compare;
mod data;
mod derive;
mod error;
mod localize;
mod plot;
mod run;
mod simulate;
mod table;
mod train;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};
use error::CliError;

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
        Command::Simulate(args) => simulate::run(&args),
        Command::Train(args) => train::run(args, quiet),
        Command::Compare(args) => compare::run(args, quiet),
        Command::Bench(args) => bench::run(&args),
        Command::Derive(args) => derive::run(&args),
        Command::Localize(args) => localize::run(&args),
    }
}
