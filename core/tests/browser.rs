//! The shared derivative checks in headless Chromium, on burn's CPU backend (flex) and on
//! WebGPU. CI runs this binary twice: with `--enable-unsafe-webgpu` (SwiftShader adapter;
//! built with MOLLIFY_EXPECT_WEBGPU=1) and without it, where `requestAdapter` returns null and
//! automatic selection must fall back to the CPU with a reason instead of failing.
#![cfg(target_arch = "wasm32")]

mod common;

use burn::tensor::Device;
use mollify_core::backend::{self, BackendChoice};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Whether this build expects a WebGPU adapter (set when compiling the test wasm).
fn expect_webgpu() -> bool {
    option_env!("MOLLIFY_EXPECT_WEBGPU") == Some("1")
}

/// The WebGPU device when this run expects one; `None` (after checking that initialisation
/// failed cleanly with an error, not a panic) when it does not.
async fn webgpu() -> Option<Device> {
    match backend::gpu_device().await {
        Ok(device) => {
            assert!(
                expect_webgpu(),
                "WebGPU came up although this run expects none"
            );
            Some(device)
        }
        Err(err) => {
            assert!(!expect_webgpu(), "WebGPU expected but failed: {err}");
            report!("no WebGPU adapter (as expected in this run): {err}");
            None
        }
    }
}

macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod flex {
            $(#[wasm_bindgen_test::wasm_bindgen_test] async fn $check() { super::common::$check(&burn::tensor::Device::flex()).await; })*
        }
        mod webgpu {
            $(#[wasm_bindgen_test::wasm_bindgen_test] async fn $check() {
                if let Some(device) = super::webgpu().await { super::common::$check(&device).await; }
            })*
        }
    };
}

on_both!(
    derivatives_1d_match_analytic,
    f32_matches_f64_reference,
    derivatives_2d_match_analytic,
    mollifier_beats_finite_differences_on_noise,
    boundary_policies_behave_as_documented,
    periodic_boundary_is_exact_on_periodic_fields,
    gradient_matches_adjoint,
    bad_requests_fail_clearly,
);

#[wasm_bindgen_test]
async fn cpu_and_webgpu_agree() {
    if let Some(gpu) = webgpu().await {
        report!("comparing {:?} with {gpu:?}", Device::flex());
        let worst = common::max_difference_between(&Device::flex(), &gpu).await;
        report!("CPU (flex) vs WebGPU: max relative difference {worst:.2e}");
        assert!(worst < 1e-5, "{worst:e}");
    }
}

#[wasm_bindgen_test]
async fn auto_selection_falls_back_to_cpu_with_a_reason() {
    let selected = backend::select(BackendChoice::Auto).await.unwrap();
    if expect_webgpu() {
        assert_eq!((selected.name, selected.fallback_reason), ("wgpu", None));
    } else {
        assert_eq!(selected.name, "cpu");
        let reason = selected.fallback_reason.expect("a fallback says why");
        report!("fallback reason: {reason}");
        assert!(reason.contains("wgpu"), "{reason}");
        // The fallback device computes: a mollified derivative on it is right.
        common::derivatives_1d_match_analytic(&selected.device).await;
    }
}

/// One training step of every engine on the quick heat problem (the browser demo's work unit).
async fn one_step_of_each_engine(device: &Device, cpu: bool) {
    use mollify_core::engine::EngineKind;
    use mollify_core::problems::{Observation, Size, heat};
    use mollify_core::train::{RunConfig, Trainer};
    let ds = heat::simulate(
        heat::Case::Smooth,
        heat::Form::NonDivergence,
        Size::Quick,
        &Observation::default(),
    )
    .unwrap();
    for engine in EngineKind::ALL {
        let config = RunConfig::new()
            .with_engine(engine)
            .with_width(16)
            .with_depth(2);
        let mut trainer = Trainer::new(&ds, config, device).unwrap();
        if engine == EngineKind::Recursive && !cpu {
            // Nested autodiff runs on the CPU backend only, and says so.
            let err = trainer.step().await.unwrap_err().to_string();
            assert!(err.contains("CPU backend"), "{err}");
            continue;
        }
        let first = trainer.step().await.unwrap();
        let second = trainer.step().await.unwrap();
        report!(
            "{}: losses {:.3e}, {:.3e}; {:.1} ms/step",
            engine.name(),
            first.loss,
            second.loss,
            1e3 * second.seconds
        );
        assert!(first.loss.is_finite() && second.loss.is_finite() && second.loss < first.loss);
    }
}

#[wasm_bindgen_test]
async fn one_training_step_of_each_engine_on_cpu() {
    one_step_of_each_engine(&Device::flex(), true).await;
}

#[wasm_bindgen_test]
async fn one_training_step_of_each_engine_on_webgpu() {
    if let Some(gpu) = webgpu().await {
        one_step_of_each_engine(&gpu, false).await;
    }
}
