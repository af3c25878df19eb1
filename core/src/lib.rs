//! # mollify-core
//!
//! Mollifier layers (Bhartari et al., arXiv 2505.11682): a network outputs a field g on a grid
//! and the PDE residual's derivatives come from convolutions with analytic kernel derivatives,
//! u = g∗φ_ε and Dᵏu = g∗Dᵏφ_ε, instead of recursive autodiff through the network.
//!
//! The folders tell the architecture, and data flows through them one way:
//! [`data`] (grids, datasets, file formats) → [`problems`] (what is observed, known and
//! inferred, the residual, the simulators) → [`model`] (the networks) → [`engine`] (how the
//! residual's derivatives are obtained: mollifier, Taylor-mode jets, recursive autodiff, finite
//! differences) → [`train`] (configuration, loss, optimiser, the driver, metrics). [`numerics`]
//! holds the mathematics the engines and `mollify derive` share (kernels, stencils, mollifier
//! operators, jets, kernel sizing, regression); [`backend`] picks the device. Builds for native
//! targets and `wasm32-unknown-unknown` alike.

pub mod backend;
pub mod data;
pub mod engine;
pub mod error;
pub mod model;
pub mod numerics;
pub mod problems;
pub mod train;

pub use data::dataset::{Dataset, Role};
pub use data::grid::{Axis, Grid};
pub use error::{Error, Result};
pub use numerics::kernel::{Kernel, KernelFamily};
pub use numerics::mollifier::{Accuracy, Boundary, Deriv2, Layout2d, Mollifier, MollifierConfig};
