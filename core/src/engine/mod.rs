//! Derivative engines: how the derivatives in a PDE residual are obtained from the network.
//!
//! - [`EngineKind::Mollifier`]: the network outputs g on the grid; u = g∗φ_ε and its derivatives
//!   are convolutions ([`crate::numerics::mollifier`]). Only first-order autodiff (for weights).
//! - [`EngineKind::Taylor`]: the autodiff baseline. Derivatives of the network output with
//!   respect to its input coordinates are propagated forward as jets ([`crate::numerics::jet`]).
//! - [`EngineKind::Recursive`]: the paper's autodiff baseline as PyTorch computes it, one
//!   reverse-mode pass per order through nested autodiff backends ([`recursive`]).
//! - [`EngineKind::FiniteDifference`]: second-order central differences of the network output
//!   on the grid: the classical cheap baseline.
//!
//! A residual asks for derivatives by name ([`Request`], keys [`Deriv2`]); every engine answers
//! with the same [`Derivs`] on its evaluation points, keyed the same way, so residuals, losses
//! and metrics are computed identically for all of them.

mod fd;
mod mollifier;
pub mod recursive;
mod taylor;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::grid::{Axis, Grid};
use crate::error::{Error, Result};
use crate::model::Network;
use crate::numerics::mollifier::{Deriv2, MollifierConfig};

/// Which engine computes the residual's derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum EngineKind {
    /// Mollifier layer (convolutions with analytic kernel derivatives).
    #[default]
    #[serde(rename = "mollifier")]
    Mollifier,
    /// Taylor-mode forward autodiff through the network (the autodiff PINN baseline).
    #[serde(rename = "autodiff", alias = "taylor")]
    #[cfg_attr(feature = "clap", value(name = "autodiff", alias = "taylor"))]
    Taylor,
    /// Recursive reverse-mode autodiff through nested autodiff backends (CPU only).
    #[serde(rename = "recursive")]
    Recursive,
    /// Central finite differences of the network output on the grid.
    #[serde(rename = "fd", alias = "finite-difference")]
    #[cfg_attr(feature = "clap", value(name = "fd", alias = "finite-difference"))]
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

    /// The one spelling used in reports, configs, the command line and URLs.
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
            "taylor" => Ok(Self::Taylor),
            "finite-difference" => Ok(Self::FiniteDifference),
            other => crate::error::parse_named(other, &Self::ALL, Self::name, "engine"),
        }
    }
}

/// What a residual asks of an engine: derivatives of the solution u and of the parameter p,
/// by name. Values (`Deriv2::U`) are always provided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Derivatives of u.
    pub u: BTreeSet<Deriv2>,
    /// Derivatives of p.
    pub p: BTreeSet<Deriv2>,
}

impl Request {
    /// Asks for `u` derivatives of the solution and `p` derivatives of the parameter.
    pub fn new(u: impl IntoIterator<Item = Deriv2>, p: impl IntoIterator<Item = Deriv2>) -> Self {
        Self {
            u: u.into_iter().collect(),
            p: p.into_iter().collect(),
        }
    }

    /// Highest derivative order asked for (what a kernel family must supply, how deep jets and
    /// nested autodiff go).
    pub fn order(&self) -> usize {
        self.u
            .iter()
            .chain(&self.p)
            .map(|d| d.order())
            .max()
            .unwrap_or(0)
    }
}

/// One field's derivatives on an engine's evaluation points, flattened, by name.
#[derive(Debug, Clone)]
pub struct Fields {
    what: &'static str,
    map: BTreeMap<Deriv2, Tensor<1>>,
}

impl Fields {
    /// An empty set for the field named `what` (in messages).
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            map: BTreeMap::new(),
        }
    }

    /// Adds one derivative.
    pub fn insert(&mut self, d: Deriv2, t: Tensor<1>) {
        self.map.insert(d, t);
    }

    /// Every derivative held, by name.
    pub fn iter(&self) -> impl Iterator<Item = (Deriv2, Tensor<1>)> + '_ {
        self.map.iter().map(|(d, t)| (*d, t.clone()))
    }

    /// The same derivatives, each transformed by `f(key, tensor)`.
    pub fn map(self, f: impl Fn(Deriv2, Tensor<1>) -> Tensor<1>) -> Self {
        Self {
            what: self.what,
            map: self.map.into_iter().map(|(d, t)| (d, f(d, t))).collect(),
        }
    }

    /// The derivative `d`, or an error naming it (an engine that ignored its request).
    pub fn get(&self, d: Deriv2) -> Result<Tensor<1>> {
        self.map.get(&d).cloned().ok_or_else(|| {
            Error::Invalid(format!(
                "the engine did not provide {d:?} of {}: it was not requested",
                self.what
            ))
        })
    }
}

/// Derivatives of the solution u and the parameter p on an engine's evaluation points.
#[derive(Debug, Clone)]
pub struct Derivs {
    /// u where the data loss is evaluated, where that differs from the evaluation points
    /// (finite differences lose the edge for derivatives, not for values).
    pub u_data: Option<Tensor<1>>,
    /// The solution and its requested derivatives.
    pub u: Fields,
    /// The parameter and its requested derivatives.
    pub p: Fields,
}

impl Derivs {
    /// u on the points the data loss uses.
    pub fn data(&self) -> Result<Tensor<1>> {
        match &self.u_data {
            Some(u) => Ok(u.clone()),
            None => self.u.get(Deriv2::U),
        }
    }
}

/// Points where the network is evaluated: their physical coordinates and, once computed, the
/// network's encoding of them (its Fourier features), which depends on neither the weights nor
/// the step, so one evaluation serves the whole run (XLA folds the same features into
/// constants in the JAX peer). Belongs to one network and one normalisation: a trainer's.
#[derive(Debug)]
pub struct Points {
    coords: Vec<Tensor<2>>,
    encoded: OnceLock<Tensor<2>>,
}

impl Points {
    /// Points at `coords` ([N, 1] each, x first).
    pub fn new(coords: Vec<Tensor<2>>) -> Self {
        Self {
            coords,
            encoded: OnceLock::new(),
        }
    }

    /// Physical coordinates, [N, 1] each, x first.
    pub fn coords(&self) -> &[Tensor<2>] {
        &self.coords
    }
}

/// The network on the grid's points: what every engine differentiates.
#[derive(Debug, Clone, Copy)]
pub struct Net<'a> {
    /// The network (two heads: solution, parameter).
    pub model: &'a Network,
    /// The grid's points.
    pub points: &'a Points,
    /// Affine maps physical → [−1, 1] per coordinate: (scale, offset).
    pub normalise: &'a [(f64, f64)],
    /// [ny, nx] (1D: [1, n]).
    pub shape: [usize; 2],
    /// The solution head in data units: u = head·scale.0 + scale.1.
    pub scale: (f64, f64),
}

impl Net<'_> {
    /// Network outputs on every grid point: (u in data units, p), each [ny, nx].
    pub fn fields(&self) -> (Tensor<2>, Tensor<2>) {
        let encoded = self.points.encoded.get_or_init(|| {
            let inputs: Vec<Tensor<2>> = self
                .points
                .coords
                .iter()
                .zip(self.normalise)
                .map(|(c, (s, o))| c.clone() * *s + *o)
                .collect();
            self.model.encode(&inputs)
        });
        let out = self.model.forward_encoded(encoded);
        // The solution head in data units; the parameter head as p = head + 1.
        let u = out.clone().narrow(1, 0, 1) * self.scale.0 + self.scale.1;
        let p = out.narrow(1, 1, 1) + 1.0;
        (u.reshape(self.shape), p.reshape(self.shape))
    }
}

/// How a derivative engine turns the network (and known data fields) into named derivatives.
pub trait Engine: std::fmt::Debug {
    /// Margin [y, x] of the evaluation points inside the grid.
    fn margin(&self) -> [usize; 2];
    /// Margin [y, x] of the points where u is compared with the data.
    fn data_margin(&self) -> [usize; 2] {
        self.margin()
    }
    /// The requested derivatives of u and p on the evaluation points.
    fn derivatives(&self, net: &Net<'_>) -> Result<Derivs>;
    /// Derivatives `keys` of a known data field (C order on the grid) on the evaluation
    /// points. Engines that differentiate the network, not data, take them from `exact`.
    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields>;
}

/// Everything an engine is built from.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The grid of the data.
    pub grid: &'a Grid,
    /// What the residual asks of u and p.
    pub request: &'a Request,
    /// What the residual asks of known fields (all share the evaluation points).
    pub known: &'a BTreeSet<Deriv2>,
    /// The kernel (mollifier engine only).
    pub mollifier: MollifierConfig,
    /// The training device (autodiff enabled).
    pub device: &'a Device,
}

impl Setup<'_> {
    /// [ny, nx] (1D: [1, n]).
    pub(crate) fn shape(&self) -> [usize; 2] {
        self.grid.shape_2d()
    }

    /// [hy, hx] (1D: [1, h]).
    pub(crate) fn spacing(&self) -> [f64; 2] {
        self.grid.spacing_2d()
    }

    /// Every key any field is asked for, values included.
    pub(crate) fn all_keys(&self) -> BTreeSet<Deriv2> {
        let mut all: BTreeSet<Deriv2> = self.request.u.union(&self.request.p).copied().collect();
        all.extend(self.known);
        all.insert(Deriv2::U);
        all
    }

    /// Refuses keys a 1D grid has no meaning for.
    pub(crate) fn check_dims(&self) -> Result<()> {
        check_dims(self.grid.ndim(), self.all_keys())
    }
}

/// Refuses derivatives a grid of `dims` axes has no meaning for.
pub(crate) fn check_dims(dims: usize, keys: impl IntoIterator<Item = Deriv2>) -> Result<()> {
    if dims == 1
        && let Some(d) = keys.into_iter().find(|d| !d.is_1d())
    {
        return Err(Error::Invalid(format!(
            "{d:?} was asked for on a 1D grid (only values and ∂ along its axis exist)"
        )));
    }
    Ok(())
}

/// Builds the engine `kind` for a residual's request.
pub fn build(kind: EngineKind, setup: &Setup<'_>) -> Result<Box<dyn Engine>> {
    setup.check_dims()?;
    let engine: Box<dyn Engine> = match kind {
        EngineKind::Mollifier => Box::new(mollifier::Conv::new(setup)?),
        EngineKind::Taylor => Box::new(taylor::Taylor::new(setup)),
        EngineKind::Recursive => Box::new(recursive::Recursive::new(setup)),
        EngineKind::FiniteDifference => Box::new(fd::Fd::new(setup)?),
    };
    let margin = engine.margin();
    let shape = setup.shape();
    if (setup.grid.ndim() == 2 && margin[0] * 2 >= shape[0]) || margin[1] * 2 >= shape[1] {
        return Err(Error::KernelTooWide {
            size: setup.mollifier.size,
            support: 2 * margin[1] + 1,
            points: shape[1],
        });
    }
    Ok(engine)
}

/// Physical coordinates of the points of `grid` extended by `halo` [y, x] points on each side
/// (1D: [0, r]), [N, 1] each, x first and varying fastest (C order): what [`Net`] evaluates.
pub fn coordinates(grid: &Grid, halo: [usize; 2], device: &Device) -> Points {
    let [ny, nx] = grid.shape_2d();
    let shape = [ny + 2 * halo[0], nx + 2 * halo[1]];
    let n = shape[0] * shape[1];
    let at = |a: &Axis, i: usize, r: usize| a.start + a.step * (i as f64 - r as f64);
    let mut columns: Vec<Vec<f64>> = vec![
        (0..n)
            .map(|p| at(grid.x(), p % shape[1], halo[1]))
            .collect(),
    ];
    if let Some(y) = grid.y() {
        columns.push((0..n).map(|p| at(y, p / shape[1], halo[0])).collect());
    }
    Points::new(
        columns
            .into_iter()
            .map(|v| Tensor::from_data(TensorData::new(v, [n, 1]), device))
            .collect(),
    )
}

pub(crate) fn tensor1(v: Vec<f64>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

/// A C-order [ny, nx] field as a tensor.
pub(crate) fn tensor2(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
}

/// `d` assembled from its pure partials (`Deriv2::terms`), for the engines that differentiate
/// the network and get ∂ₓᵃ∂ᵧᵇ one at a time.
pub(crate) fn assemble(
    d: Deriv2,
    mut partial: impl FnMut([usize; 2]) -> Result<Tensor<1>>,
) -> Result<Tensor<1>> {
    let mut sum: Option<Tensor<1>> = None;
    for &(c, ab) in d.terms() {
        let t = partial(ab)?;
        let t = if c == 1.0 { t } else { t * c };
        sum = Some(match sum {
            Some(s) => s + t,
            None => t,
        });
    }
    Ok(sum.expect("every derivative has a term"))
}

pub(crate) fn crop(t: Tensor<2>, m: [usize; 2]) -> Tensor<2> {
    let [ny, nx] = t.dims();
    t.slice([m[0]..ny - m[0], m[1]..nx - m[1]])
}

pub(crate) fn flat(t: Tensor<2>) -> Tensor<1> {
    let n = t.dims().iter().product::<usize>();
    t.reshape([n])
}

/// A known field's exact derivatives where the problem gives every one asked for (φ_w on
/// chromatin's periodic square: spectral), on the grid's points less `margin`; `None` where
/// one is missing (a field asked only for its values always qualifies). The mollifier takes
/// these before smoothing a known field (see [`crate::problems::Problem::exact_known`]); the
/// autodiff engines have nothing else.
fn exact_known(
    values: &[f64],
    keys: &BTreeSet<Deriv2>,
    exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    shape: [usize; 2],
    margin: [usize; 2],
    device: &Device,
) -> Option<Fields> {
    let mut f = Fields::new("a known field");
    for &d in keys {
        let v = if d == Deriv2::U {
            values.to_vec()
        } else {
            exact(d)?
        };
        f.insert(d, flat(crop(tensor2(&v, shape, device), margin)));
    }
    Some(f)
}

/// [`exact_known`] on full-grid evaluation points for the engines that differentiate the
/// network, not data: a missing derivative is an error.
fn known_exact(
    values: &[f64],
    keys: &BTreeSet<Deriv2>,
    exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    engine: EngineKind,
    device: &Device,
) -> Result<Fields> {
    exact_known(values, keys, exact, [1, values.len()], [0, 0], device).ok_or_else(|| {
        let missing = keys.iter().find(|&&d| d != Deriv2::U && exact(d).is_none());
        Error::Invalid(format!(
            "the {} engine differentiates the network, not data: this problem gives no exact {:?} of its known field (use the mollifier or fd engine)",
            engine.name(),
            missing.copied().unwrap_or(Deriv2::U)
        ))
    })
}
