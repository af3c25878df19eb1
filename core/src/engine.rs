//! Derivative engines: how the derivatives in a PDE residual are obtained from the network.
//!
//! - [`EngineKind::Mollifier`]: the network outputs g on the grid; u = g∗φ_ε and its derivatives
//!   are convolutions ([`crate::mollifier`]). Only first-order autodiff (for weights) is used.
//! - [`EngineKind::Taylor`]: the autodiff baseline. Derivatives of the network output with
//!   respect to its input coordinates are propagated forward as jets ([`crate::jet`]).
//! - [`EngineKind::Recursive`]: the paper's autodiff baseline as PyTorch computes it, one
//!   reverse-mode pass per order through nested autodiff backends ([`crate::recursive`]).
//! - [`EngineKind::FiniteDifference`]: second-order central differences of the network output
//!   on the grid: the classical cheap baseline.
//!
//! Each engine returns the same [`Derivs`] on its evaluation points, so residuals, losses and
//! metrics are computed identically for all of them.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which engine computes the residual's derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Mollifier layer (convolutions with analytic kernel derivatives).
    #[default]
    Mollifier,
    /// Taylor-mode forward autodiff through the network (the autodiff PINN baseline).
    #[serde(alias = "autodiff")]
    Taylor,
    /// Recursive reverse-mode autodiff through nested autodiff backends (CPU only).
    Recursive,
    /// Central finite differences of the network output on the grid.
    #[serde(rename = "fd")]
    FiniteDifference,
}

impl EngineKind {
    /// Every engine.
    pub const ALL: [EngineKind; 4] = [
        Self::Mollifier,
        Self::Taylor,
        Self::Recursive,
        Self::FiniteDifference,
    ];

    /// Short name for reports and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mollifier => "mollifier",
            Self::Taylor => "autodiff",
            Self::Recursive => "recursive",
            Self::FiniteDifference => "fd",
        }
    }
}

impl std::str::FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mollifier" => Ok(Self::Mollifier),
            "autodiff" | "taylor" => Ok(Self::Taylor),
            "recursive" => Ok(Self::Recursive),
            "fd" | "finite-difference" => Ok(Self::FiniteDifference),
            _ => Err(Error::Invalid(format!(
                "unknown engine '{s}' (expected mollifier, autodiff, recursive or fd)"
            ))),
        }
    }
}

/// Derivatives of the solution u (and, where a residual needs them, of the parameter p) on an
/// engine's evaluation points, flattened. Absent entries were not requested.
#[derive(Debug, Clone, Default)]
pub struct Derivs {
    /// u on the data points (where the data loss is evaluated; may be a larger set than the
    /// residual's: finite differences lose the edge for derivatives, not for values).
    pub u_data: Option<Tensor<1>>,
    /// u
    pub u: Option<Tensor<1>>,
    /// ∂ₓu (or ∂ₜu in 1D)
    pub u_x: Option<Tensor<1>>,
    /// ∂ᵧu
    pub u_y: Option<Tensor<1>>,
    /// ∇²u
    pub lap: Option<Tensor<1>>,
    /// ∇⁴u
    pub bih: Option<Tensor<1>>,
    /// The parameter field p.
    pub p: Option<Tensor<1>>,
    /// ∂ₓp
    pub p_x: Option<Tensor<1>>,
    /// ∂ᵧp
    pub p_y: Option<Tensor<1>>,
}

/// What a residual needs from an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// First derivatives of u.
    pub grad: bool,
    /// ∇²u (∂ₜₜu in 1D is never needed by the paper's problems).
    pub lap: bool,
    /// ∇⁴u.
    pub bih: bool,
    /// First derivatives of the parameter.
    pub grad_p: bool,
}

impl Needs {
    /// Highest derivative order of u requested.
    pub fn order(&self) -> usize {
        if self.bih {
            4
        } else if self.lap {
            2
        } else if self.grad || self.grad_p {
            1
        } else {
            0
        }
    }
}

/// Takes a requested entry or fails naming it (an engine bug, not a user error).
pub fn need(t: &Option<Tensor<1>>, what: &str) -> Tensor<1> {
    t.clone()
        .unwrap_or_else(|| panic!("engine did not provide {what}"))
}

/// Second-order central differences on a [ny, nx] field (1D: [1, n]); each output is one
/// point shorter on each side of every differenced axis.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FiniteDifferences {
    /// [hy, hx]
    pub(crate) spacing: [f64; 2],
    /// Whether the field is 2D (else [1, n]).
    pub(crate) two_d: bool,
}

impl FiniteDifferences {
    fn shift(&self, u: &Tensor<2>, dy: isize, dx: isize) -> Tensor<2> {
        let [ny, nx] = u.dims();
        let my = usize::from(self.two_d);
        let ys = (my as isize + dy) as usize..(ny as isize - my as isize + dy) as usize;
        let xs = (1 + dx) as usize..(nx as isize - 1 + dx) as usize;
        u.clone().slice([ys, xs])
    }

    pub(crate) fn gradient(&self, u: Tensor<2>) -> [Option<Tensor<2>>; 2] {
        let [hy, hx] = self.spacing;
        let dx = (self.shift(&u, 0, 1) - self.shift(&u, 0, -1)) / (2.0 * hx);
        let dy = self
            .two_d
            .then(|| (self.shift(&u, 1, 0) - self.shift(&u, -1, 0)) / (2.0 * hy));
        [Some(dx), dy]
    }

    pub(crate) fn laplacian(&self, u: Tensor<2>) -> Tensor<2> {
        let [hy, hx] = self.spacing;
        let c = self.shift(&u, 0, 0);
        let mut lap = (self.shift(&u, 0, 1) + self.shift(&u, 0, -1) - c.clone() * 2.0) / (hx * hx);
        if self.two_d {
            lap = lap + (self.shift(&u, 1, 0) + self.shift(&u, -1, 0) - c * 2.0) / (hy * hy);
        }
        lap
    }
}
