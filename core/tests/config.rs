//! The one run configuration: what is saved is what loads, partial files fill in defaults,
//! and a misspelt key is refused by name.

use mollify_core::engine::EngineKind;
use mollify_core::model::{Activation, Arch};
use mollify_core::problems::Size;
use mollify_core::train::{KernelSize, RunConfig};
use mollify_core::{Boundary, KernelFamily};

#[test]
fn a_saved_configuration_loads_back_identical() {
    let mut c = RunConfig::new()
        .with_engine(EngineKind::FiniteDifference)
        .with_arch(Arch::PirateNet)
        .with_steps(123)
        .with_width(48)
        .with_depth(5)
        .with_seed(7)
        .with_lr(1.5e-3)
        .with_pde_weight(0.25);
    c.data.source = "chromatin".into();
    c.data.case = Some("lognormal".into());
    c.data.noise = 0.05;
    c.data.size = Size::Paper;
    c.model.activation = Activation::Sin;
    c.model.fourier_max = Some(1.5);
    c.mollifier.family = KernelFamily::Poly4;
    c.mollifier.size = Some(KernelSize::Points(15));
    c.mollifier.boundary = Some(Boundary::Reflect);
    c.optimizer.beta2 = 0.99;
    c.schedule.warmup = 10;
    let text = c.to_toml().unwrap();
    println!("{text}");
    assert_eq!(RunConfig::from_toml(&text).unwrap(), c);
    // Auto sizes survive too.
    c.mollifier.size = Some(KernelSize::Auto);
    assert_eq!(RunConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
}

#[test]
fn a_partial_file_takes_defaults_and_typos_are_refused() {
    let c = RunConfig::from_toml(
        "engine = \"autodiff\"\n[schedule]\nsteps = 5\n[mollifier]\nsize = \"auto\"\n",
    )
    .unwrap();
    assert_eq!(c.engine, EngineKind::Taylor);
    assert_eq!(c.schedule.steps, 5);
    assert_eq!(c.mollifier.size, Some(KernelSize::Auto));
    assert_eq!(c.model, RunConfig::new().model);
    let err = RunConfig::from_toml("[schedule]\nstep = 5\n").unwrap_err();
    assert!(err.to_string().contains("unknown field `step`"), "{err}");
    let err = RunConfig::from_toml("[mollifier]\nsize = \"big\"\n").unwrap_err();
    assert!(
        err.to_string().contains("odd number of points or 'auto'"),
        "{err}"
    );
}
