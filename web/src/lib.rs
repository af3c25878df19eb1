//! mollify-web: the browser demonstrator over `mollify-core`. A page (Yew) holds the controls
//! and draws; a Web Worker trains the autodiff and mollifier PINNs side by side and streams
//! plain snapshots back. The settings, the worker's state machine, file handling and the
//! heatmap renderer are plain Rust, tested natively as well as in the browser.

pub mod files;
pub mod heatmap;
pub mod lessons;
pub mod protocol;
pub mod session;
pub mod settings;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod draw;
#[cfg(target_arch = "wasm32")]
mod panels;
#[cfg(target_arch = "wasm32")]
pub mod worker;

#[cfg(all(target_arch = "wasm32", feature = "app"))]
#[allow(unsafe_code)]
unsafe extern "C" {
    /// Synthesised by wasm-ld: runs the static constructors (cubecl's operation registries).
    fn __wasm_call_ctors();
}

/// Entry point of the one wasm module: in a worker it serves training, on a page it renders
/// the app.
#[cfg(all(target_arch = "wasm32", feature = "app"))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    use wasm_bindgen::JsCast;
    // Calling the constructors once here is what stops wasm-ld from treating the module as a
    // "command" and re-running all of them at the top of every export — every event handler
    // and timer callback — which cost 60–370 ms per call on the page (measured, CPU profile).
    #[allow(unsafe_code)]
    // SAFETY: called once, first thing after instantiation, before any code reads the
    // registries the constructors fill.
    unsafe {
        __wasm_call_ctors();
    }
    if js_sys::global().has_type::<web_sys::DedicatedWorkerGlobalScope>() {
        use yew_agent::Registrable;
        worker::TrainingWorker::registrar().register();
    } else {
        yew::Renderer::<app::App>::new().render();
    }
}
