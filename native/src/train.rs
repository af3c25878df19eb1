//! `mollify train`: one run, or the continuation of a stopped one.

use std::path::Path;

use crate::cli::TrainArgs;
use crate::error::CliError;
use crate::run::{self, Drive};

pub(crate) fn run(args: TrainArgs, quiet: bool) -> Result<(), CliError> {
    let drive = Drive {
        quiet,
        resume: args.resume.is_some(),
        inject_nan_at: args.inject_nan_at,
        max_seconds: args.max_seconds,
    };
    let (ds, config, out) = match &args.resume {
        Some(dir) => run::load_for_resume(dir)?,
        None => {
            let config = run::resolve(&args.run, Some(&args.data), args.engine)?;
            let ds = crate::data::load(&config.data)?;
            let out = args.out.clone().unwrap_or_else(|| {
                Path::new("runs").join(format!(
                    "{}-{}-{}",
                    ds.problem,
                    config.engine.name(),
                    config.model.arch.name()
                ))
            });
            (ds, config, out)
        }
    };
    let s = run::train(&ds, &config, &out, drive)?;
    crate::table::print(&[s]);
    println!("results in {}", out.display());
    Ok(())
}
