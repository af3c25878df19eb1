//! One training run per engine on the quick steady-heat problem (native, CPU):
//! `cargo run -p mollify-core --example train_heat -- [steps] [engine...]`.

use burn::tensor::Device;
use futures_lite::future::block_on;
use mollify_core::engine::EngineKind;
use mollify_core::problems::{Observation, Size, heat};
use mollify_core::train::{TrainConfig, Trainer};

fn main() -> mollify_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().map_or(1500, |s| s.parse().expect("steps"));
    let engines: Vec<EngineKind> = args
        .map(|s| s.parse())
        .collect::<mollify_core::Result<_>>()?;
    let engines = if engines.is_empty() {
        EngineKind::ALL.to_vec()
    } else {
        engines
    };
    let fraction = std::env::var("FRACTION")
        .ok()
        .map_or(0.1, |v| v.parse().expect("number"));
    let ds = heat::simulate(
        heat::Case::Smooth,
        heat::Form::NonDivergence,
        Size::Quick,
        &Observation {
            fraction,
            ..Observation::default()
        },
    )?;
    for engine in engines {
        let env = |k: &str, d: f64| {
            std::env::var(k)
                .ok()
                .map_or(d, |v| v.parse().expect("number"))
        };
        let config = TrainConfig::new()
            .with_engine(engine)
            .with_steps(steps)
            .with_pde_weight(env("PDE_WEIGHT", 0.1))
            .with_lr(env("LR", 3e-3))
            .with_width(env("WIDTH", 64.0) as usize)
            .with_depth(env("DEPTH", 4.0) as usize)
            .with_mollifier(mollify_core::MollifierConfig {
                boundary: std::env::var("BOUNDARY")
                    .unwrap_or("valid".into())
                    .parse()?,
                size: env("KSIZE", 11.0) as usize,
                ..Default::default()
            });
        let mut trainer = Trainer::new(&ds, config, &Device::flex())?;
        let mut seconds = 0.0;
        for s in 0..steps {
            let r = block_on(trainer.step())?;
            seconds += r.seconds;
            if (s + 1) % (steps / 5).max(1) == 0 {
                let m = block_on(trainer.metrics())?.expect("inverse problem");
                println!(
                    "{:>9} step {:>5}: loss {:.3e} (data {:.3e}, pde {:.3e}), k corr {:.3}, lap corr {:.3}, {:.1} ms/step",
                    engine.name(),
                    r.step,
                    r.loss,
                    r.data_loss,
                    r.pde_loss,
                    m.correlation,
                    m.laplacian_correlation.unwrap_or(f64::NAN),
                    1e3 * seconds / (s + 1) as f64
                );
            }
        }
        let m = block_on(trainer.metrics())?.expect("inverse problem");
        println!(
            "RESULT {} steps {steps}: k correlation {:.3}, Laplacian correlation {:.3}, relative L2 {:.3}, {:.1} ms/step, peak memory {:.0} MiB",
            engine.name(),
            m.correlation,
            m.laplacian_correlation.unwrap_or(f64::NAN),
            m.relative_l2,
            1e3 * seconds / steps as f64,
            trainer.peak_memory_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}
