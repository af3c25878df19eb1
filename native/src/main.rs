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
    keep_freed_memory();
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

/// A training step allocates and frees the same few hundred tensors every step. By default glibc
/// gives freed memory back to the kernel (heap trim above 128 KiB, `munmap` of large blocks), so
/// every step page-faults it in again: a third of a small network's CPU step was kernel time
/// (`perf`, heat 3×64 mollifier). Keeping blocks up to 32 MiB (glibc's maximum) in the heap and
/// never trimming it cut that step from ≈ 21 to 13 ms with the same peak RSS (scripts/peer.sh).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets allocator parameters; called first thing in main, before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

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
