//! The shared derivative checks on the native backends: burn's CPU backend (flex) and wgpu,
//! which runs on Vulkan (lavapipe on machines without a GPU).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;
use mollify_core::backend;

fn wgpu() -> Device {
    block_on(backend::gpu_device())
        .expect("wgpu needs a Vulkan driver (Debian: mesa-vulkan-drivers)")
}

macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod flex {
            $(#[test] fn $check() { futures_lite::future::block_on(super::common::$check(&burn::tensor::Device::flex())); })*
        }
        mod wgpu {
            $(#[test] fn $check() { futures_lite::future::block_on(super::common::$check(&super::wgpu())); })*
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

#[test]
fn cpu_and_vulkan_agree() {
    let gpu = wgpu();
    println!("comparing {:?} with {gpu:?}", Device::flex());
    let worst = block_on(common::max_difference_between(&Device::flex(), &gpu));
    println!("CPU (flex) vs wgpu (Vulkan): max relative difference {worst:.2e}");
    assert!(worst < 1e-5, "{worst:e}");
}

#[test]
fn auto_selection_prefers_the_gpu_and_records_fallbacks() {
    let auto = block_on(backend::select(backend::BackendChoice::Auto)).unwrap();
    let gpu = block_on(backend::gpu_device());
    assert_eq!(auto.name == "wgpu", gpu.is_ok());
    assert_eq!(auto.fallback_reason.is_some(), gpu.is_err());
    let cpu = block_on(backend::select(backend::BackendChoice::Cpu)).unwrap();
    assert_eq!((cpu.name, cpu.fallback_reason), ("cpu", None));
}
