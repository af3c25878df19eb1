// `report!`, shared by the core's and the web crate's test helpers (included, not a module).

/// Prints to the test output natively and to the browser console under wasm-bindgen-test.
#[macro_export]
macro_rules! report {
    ($($t:tt)*) => {{
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($t)*);
        #[cfg(not(target_arch = "wasm32"))]
        println!($($t)*);
    }};
}
