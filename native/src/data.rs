//! Datasets for the commands: a folder on disk or a built-in problem simulated on the spot,
//! both described by the configuration's `[data]` section.

use std::path::Path;

use mollify_core::Dataset;
use mollify_core::train::config::DataConfig;

use crate::cli::ProblemArgs;
use crate::error::CliError;

/// Applies the simulation flags that were given to `data`.
pub(crate) fn apply(args: &ProblemArgs, data: &mut DataConfig) {
    if let Some(c) = &args.case {
        data.case = Some(c.clone());
    }
    data.noise = args.noise.unwrap_or(data.noise);
    data.fraction = args.fraction.unwrap_or(data.fraction);
    data.seed = args.data_seed.unwrap_or(data.seed);
    data.size = args.size.unwrap_or(data.size);
}

/// The dataset `data` names: its `source` folder, else the built-in problem it names.
pub(crate) fn load(data: &DataConfig) -> Result<Dataset, CliError> {
    let path = Path::new(&data.source);
    if path.is_dir() {
        return Ok(Dataset::load(path)?);
    }
    // The core's error lists the built-in problems.
    if let Err(e) = mollify_core::problems::builtin(&data.source) {
        return Err(CliError::Input(format!(
            "--data '{}' is neither a dataset folder nor a built-in problem: {e}",
            data.source
        )));
    }
    Ok(data.simulate()?)
}
