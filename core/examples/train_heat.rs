//! One training run per engine on the built-in problem a configuration names (default: the
//! quick steady heat problem), native CPU, through the core's driver with a printing hook:
//! `cargo run -p mollify-core --example train_heat -- [config.toml] [engine...]`.
//! The configuration file is the one `mollify train --config` reads and every run saves.

use burn::tensor::Device;
use futures_lite::future::block_on;
use mollify_core::engine::EngineKind;
use mollify_core::train::driver::{self, Control, Hooks, StepBudget};
use mollify_core::train::{RunConfig, StepReport, Trainer};

/// Prints the losses and the recovered field's correlations (the parameter's, the
/// intermediate derivative's) five times per run.
struct Print {
    every: usize,
}

impl Hooks for Print {
    fn after_step(&mut self, t: &Trainer, r: &StepReport) -> mollify_core::Result<Control> {
        if r.step.is_multiple_of(self.every) {
            let m = block_on(t.metrics())?;
            println!(
                "{:>9} step {:>5}: loss {:.3e} (data {:.3e}, pde {:.3e}), corr {}, ∂u corr {}",
                t.config().engine.name(),
                r.step,
                r.loss,
                r.data_loss,
                r.pde_loss,
                m.as_ref()
                    .and_then(|m| m.correlation())
                    .map_or("–".into(), |c| format!("{c:.3}")),
                m.as_ref()
                    .and_then(|m| m.intermediate_correlation())
                    .map_or("–".into(), |c| format!("{c:.3}")),
            );
        }
        Ok(Control::Continue)
    }
}

fn main() -> mollify_core::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    let base = match args.next_if(|a| a.ends_with(".toml")) {
        Some(path) => RunConfig::from_toml(
            &std::fs::read_to_string(&path)
                .map_err(|source| mollify_core::Error::Io { path, source })?,
        )?,
        None => RunConfig::new().with_steps(1500),
    };
    let engines: Vec<EngineKind> = args
        .map(|s| s.parse())
        .collect::<mollify_core::Result<_>>()?;
    let engines = if engines.is_empty() {
        EngineKind::ALL.to_vec()
    } else {
        engines
    };
    let ds = base.data.simulate()?;
    for engine in engines {
        let mut trainer = Trainer::new(&ds, base.clone().with_engine(engine), &Device::flex())?;
        let every = (base.schedule.steps / 5).max(1);
        let out = block_on(driver::run(
            &mut trainer,
            StepBudget::default(),
            &mut Print { every },
        ))?;
        let m = block_on(trainer.metrics())?;
        println!(
            "RESULT {} steps {}: correlation {}, {:.1} ms/step, peak memory {:.0} MiB",
            engine.name(),
            trainer.steps_taken(),
            m.and_then(|m| m.correlation())
                .map_or("–".into(), |c| format!("{c:.3}")),
            out.ms_per_step(),
            trainer.peak_memory_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}
