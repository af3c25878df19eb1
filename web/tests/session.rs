//! The worker protocol on the native CPU backend (the browser runs the same checks).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;

#[test]
fn start_pause_resume_reset() {
    block_on(common::start_pause_resume_reset(&Device::flex(), "cpu"));
}

#[test]
fn bad_requests_keep_the_session_alive() {
    block_on(common::bad_requests_keep_the_session_alive(
        &Device::flex(),
        "cpu",
    ));
}
