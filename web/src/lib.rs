//! mollify-web: the browser front end (Yew + Trunk) over `mollify-core`.
//!
//! The crate is a workspace member from the start so that its wasm32 build and lints run in
//! CI; the demonstrator itself (worker-driven training, kernel plots, URL state) is tracked
//! in its own issue and not built yet.
