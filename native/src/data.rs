//! Datasets for the commands: a folder on disk or a built-in problem simulated on the spot.

use std::path::Path;

use mollify_core::Dataset;
use mollify_core::problems::{Observation, Size};

use crate::cli::{Problem, ProblemArgs};
use crate::error::CliError;

/// Simulates `problem` as `setup` describes.
pub(crate) fn simulate(problem: Problem, setup: &ProblemArgs) -> Result<Dataset, CliError> {
    let size: Size = setup.size.parse()?;
    let obs = Observation {
        noise: setup.noise,
        fraction: setup.fraction,
        seed: setup.data_seed,
    };
    Ok(problem
        .builtin()
        .simulate(setup.case.as_deref(), size, &obs)?)
}

/// `--data`: an existing folder, else a built-in problem's name.
pub(crate) fn load(data: &str, setup: &ProblemArgs) -> Result<(Dataset, String), CliError> {
    let path = Path::new(data);
    if path.is_dir() {
        return Ok((Dataset::load(path)?, path.display().to_string()));
    }
    let problem = <Problem as clap::ValueEnum>::from_str(data, true).map_err(|_| {
        CliError::Input(format!(
            "--data '{data}' is neither a dataset folder nor a built-in problem (langevin, heat, chromatin, ode)"
        ))
    })?;
    let ds = simulate(problem, setup)?;
    let description = format!(
        "{data} (case {}, noise {}, fraction {}, data seed {}, size {})",
        ds.case, setup.noise, setup.fraction, setup.data_seed, setup.size
    );
    Ok((ds, description))
}
