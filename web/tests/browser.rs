//! The demonstrator's logic in headless Chromium: the worker protocol on burn's CPU backend and
//! on WebGPU, the URL round trip through a real `location`, and dataset files refused with a
//! clear message. CI runs it with and without `--enable-unsafe-webgpu`
//! (MOLLIFY_EXPECT_WEBGPU=1/0 at compile time), like the core's browser tests.
#![cfg(target_arch = "wasm32")]

mod common;

use burn::tensor::Device;
use mollify_core::backend;
use mollify_web::settings::Settings;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

async fn webgpu() -> Option<Device> {
    let expected = option_env!("MOLLIFY_EXPECT_WEBGPU") == Some("1");
    match backend::gpu_device().await {
        Ok(device) => {
            assert!(expected, "WebGPU came up although this run expects none");
            Some(device)
        }
        Err(err) => {
            assert!(!expected, "WebGPU expected but failed: {err}");
            report!("no WebGPU adapter (as expected in this run): {err}");
            None
        }
    }
}

#[wasm_bindgen_test]
async fn protocol_on_cpu() {
    common::start_pause_resume_reset(&Device::flex(), "cpu").await;
    common::bad_requests_keep_the_session_alive(&Device::flex(), "cpu").await;
}

#[wasm_bindgen_test]
async fn protocol_on_webgpu() {
    if let Some(gpu) = webgpu().await {
        common::start_pause_resume_reset(&gpu, "wgpu").await;
    }
}

#[wasm_bindgen_test]
fn settings_round_trip_through_the_address_bar() {
    let window = web_sys::window().unwrap();
    let history = window.history().unwrap();
    let original = window.location().href().unwrap();
    let (s, _) =
        Settings::from_query("problem=chromatin&case=lognormal&noise=0.1&size=auto&fd=1&seed=3");
    let url = format!("?{}", s.to_query());
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        .unwrap();
    let search = window.location().search().unwrap();
    history
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&original))
        .unwrap();
    let (back, problems) = Settings::from_query(&search);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(back, s);
}

#[wasm_bindgen_test]
fn bad_dataset_files_get_a_clear_message() {
    use mollify_core::problems::{self, Observation, Size};
    use mollify_web::files::dataset_from_files;
    let err = dataset_from_files(&[("field.csv".into(), b"1,2\n3,x\n".to_vec())]).unwrap_err();
    assert!(
        err.contains("no dataset.json") && err.contains("field.csv"),
        "{err}"
    );
    let mut files = problems::builtin("langevin")
        .unwrap()
        .simulate(None, Size::Quick, &Observation::default())
        .unwrap()
        .to_files()
        .unwrap();
    let manifest = files.iter_mut().find(|(n, _)| n == "dataset.json").unwrap();
    manifest.1 = b"{ not json".to_vec();
    let err = dataset_from_files(&files).unwrap_err();
    assert!(
        err.contains("dataset.json") && err.contains("invalid manifest"),
        "{err}"
    );
    report!("refused: {err}");
}
