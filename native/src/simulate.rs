//! `mollify simulate`: a built-in problem with known ground truth, written as a dataset folder.

use mollify_core::train::config::DataConfig;

use crate::cli::SimulateArgs;
use crate::error::CliError;

pub(crate) fn run(args: &SimulateArgs) -> Result<(), CliError> {
    let mut data = DataConfig {
        source: args.problem.clone(),
        ..DataConfig::default()
    };
    crate::data::apply(&args.setup, &mut data);
    let ds = data.simulate()?;
    ds.save(&args.out)?;
    println!(
        "{} ({}) on a {:?} grid → {}",
        ds.problem,
        ds.case,
        ds.grid.shape(),
        args.out.display()
    );
    // A simulator's one-line account of the regime its data are in (chromatin: how much the
    // fourth-order term weighs and what the derivative-free estimate achieves).
    if let Some(regime) = ds.meta.get("regime").and_then(|v| v.as_str()) {
        println!("{regime}");
    }
    Ok(())
}
