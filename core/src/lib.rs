//! # mollify-core
//!
//! Mollifier layers (Bhartari et al., arXiv 2505.11682): a network outputs a field g on a grid
//! and the PDE residual's derivatives come from convolutions with analytic kernel derivatives,
//! u = g∗φ_ε and Dᵏu = g∗Dᵏφ_ε, instead of recursive autodiff through the network.
//!
//! Data flows one way: [`problems`] (simulators with known ground truth) → [`dataset`]
//! (grid + fields, [`io`] formats) → derivatives: [`kernel`] (continuous φ and its
//! derivatives) → [`stencil`] (sampled, moment-corrected taps) → [`mollifier`] (burn
//! convolutions with autodiff) on a device chosen by [`backend`]. [`regression`] turns point
//! localisations into fields. Builds for native targets and `wasm32-unknown-unknown` alike.

pub mod autosize;
pub mod backend;
pub mod dataset;
pub mod engine;
pub mod error;
pub mod grid;
pub mod io;
pub mod jet;
pub mod kernel;
pub mod metrics;
pub mod model;
pub mod mollifier;
pub mod problems;
pub mod recursive;
pub mod regression;
pub mod stencil;
pub mod train;

pub use dataset::{Dataset, Role};
pub use error::{Error, Result};
pub use grid::{Axis, Grid};
pub use kernel::{Kernel, KernelFamily};
pub use mollifier::{Boundary, Deriv2, Layout2d, Mollifier, MollifierConfig};
