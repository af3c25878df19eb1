//! Mollifier derivative operators: u = g∗φ_ε and Dᵏu = g∗Dᵏφ_ε as burn convolutions, so that
//! first-order autodiff for the network weights flows through them.
//!
//! Every output is a sum of *chains* of stencil convolutions (see [`crate::numerics::stencil`]). Orders ≤ 2
//! are single stencils of g∗φ_ε. Orders 3 and 4 are compositions of first- and second-order
//! stencils, i.e. exact derivatives of the doubly mollified field g∗φ_ε∗φ_ε: a single sampled
//! φ⁗ stencil cancels catastrophically in f32 (relative error ≈ 1 for a 39-tap bump on sin 2πx,
//! measured), while two second-order passes keep f32 accurate on every backend, WebGPU included.
//! Chains sharing a prefix share its convolution, and sibling stencils of one shape run as one
//! multi-channel convolution.

use std::collections::BTreeMap;

use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::numerics::kernel::KernelFamily;
use crate::numerics::stencil::{check_size, factorial, stencil_1d_accurate, stencil_2d_radial};

/// What the operators return near the edge of the grid, where the kernel leaves the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Boundary {
    /// Drop the points whose stencil leaves the grid (the paper's choice): outputs are the
    /// interior, [`Mollifier::margin_1d`]/[`Mollifier::margin_2d`] points shorter on each side.
    #[default]
    Valid,
    /// Mirror the data across the edge (excluding the edge sample). Exact when the field has zero
    /// normal derivative there; odd derivatives are biased towards zero at the edge otherwise.
    Reflect,
    /// Extend the data by a least-squares cubic fitted to the edge window: whole-grid outputs
    /// with small bias for smooth fields, and the fit averages noise instead of amplifying it.
    Extrapolate,
    /// Wrap around: the field is one period of a periodic one (the grid holds each point of
    /// the period once, the right end not repeating the left). Exact on periodic data.
    Periodic,
    /// Evaluate the network beyond the edge: a network's g is a function of the coordinates,
    /// so the kernel's halo is g itself there and no padding rule biases the edge. Whole-grid
    /// outputs; training only (data fields, which have no halo, are extended as under
    /// `Extrapolate`). To the operator the field arrives already extended: it is used as under
    /// `Valid`.
    Network,
}

impl std::fmt::Display for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Valid => "valid",
            Self::Reflect => "reflect",
            Self::Extrapolate => "extrapolate",
            Self::Periodic => "periodic",
            Self::Network => "network",
        })
    }
}

impl std::str::FromStr for Boundary {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "valid" => Ok(Self::Valid),
            "reflect" => Ok(Self::Reflect),
            "extrapolate" => Ok(Self::Extrapolate),
            "periodic" | "wrap" => Ok(Self::Periodic),
            "network" => Ok(Self::Network),
            _ => Err(Error::Invalid(format!(
                "unknown boundary policy '{s}' (expected valid, reflect, extrapolate, periodic or network)"
            ))),
        }
    }
}

/// How the 2D kernel is built from the 1D profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Layout2d {
    /// φ(x)φ(y): two 1D passes, O(K) work per point instead of O(K²).
    #[default]
    Separable,
    /// The radial kernel on the paper's ball B_ε: K×K taps per pass.
    Radial,
}

/// The stencils' order of accuracy: the power of ε in the leading smoothing bias.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Accuracy {
    /// The paper's mollifier, a positive kernel: bias ∝ ε²·D^(k+2)u.
    #[default]
    Second,
    /// Moments also corrected through degree k+3: bias ∝ ε⁴·D^(k+4)u, at the price of more
    /// noise at the same width (1D and separable 2D only). Wins on smooth, weakly noisy data.
    Fourth,
}

impl Accuracy {
    /// The power of ε in the leading bias term.
    pub fn order(self) -> usize {
        match self {
            Self::Second => 2,
            Self::Fourth => 4,
        }
    }
}

impl std::fmt::Display for Accuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Second => "second-order",
            Self::Fourth => "fourth-order",
        })
    }
}

impl std::str::FromStr for Accuracy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "second" | "2" => Ok(Self::Second),
            "fourth" | "4" => Ok(Self::Fourth),
            _ => Err(Error::Invalid(format!(
                "unknown accuracy '{s}' (expected second or fourth)"
            ))),
        }
    }
}

/// Degree of the boundary extrapolation polynomial (see [`Boundary::Extrapolate`]).
const EXTRAPOLATION_DEGREE: usize = 3;

/// Everything that defines a mollifier layer apart from the grid it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MollifierConfig {
    /// Kernel family.
    pub family: KernelFamily,
    /// Kernel size in grid points (odd, ≥ 3): ε = (size/2 + 1)·h.
    pub size: usize,
    /// Policy at the edge of the grid.
    pub boundary: Boundary,
    /// Kernel construction in 2D.
    pub layout: Layout2d,
    /// The stencils' order of accuracy.
    #[serde(default)]
    pub accuracy: Accuracy,
    /// Every derivative of a request that holds an order ≥ 3 from the one field g∗φ∗φ (see
    /// [`one_field`]); off, orders ≤ 2 are of g∗φ (the residual then relates two fields; for
    /// the derivatives of sharp data at small kernels, off measured the more accurate).
    /// Training turns it on (see `MollifierSettings`).
    #[serde(default)]
    pub one_field: bool,
}

impl Default for MollifierConfig {
    fn default() -> Self {
        Self {
            family: KernelFamily::Bump,
            size: 11,
            boundary: Boundary::Valid,
            layout: Layout2d::Separable,
            accuracy: Accuracy::Second,
            one_field: false,
        }
    }
}

/// A derivative of a 2D field the operators can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deriv2 {
    /// u = g∗φ_ε
    U,
    /// ∂ₓu
    X,
    /// ∂ᵧu
    Y,
    /// ∂ₓₓu
    Xx,
    /// ∂ᵧᵧu
    Yy,
    /// ∂ₓᵧu
    Xy,
    /// ∇²u
    Laplacian,
    /// ∂ₓₓₓu
    Xxx,
    /// ∂ᵧᵧᵧu
    Yyy,
    /// ∂ₓₓₓₓu
    Xxxx,
    /// ∂ₓₓᵧᵧu
    Xxyy,
    /// ∂ᵧᵧᵧᵧu
    Yyyy,
    /// ∇⁴u
    Biharmonic,
}

impl Deriv2 {
    /// Total differential order.
    pub fn order(self) -> usize {
        match self {
            Self::U => 0,
            Self::X | Self::Y => 1,
            Self::Xx | Self::Yy | Self::Xy | Self::Laplacian => 2,
            Self::Xxx | Self::Yyy => 3,
            Self::Xxxx | Self::Xxyy | Self::Yyyy | Self::Biharmonic => 4,
        }
    }

    /// The derivative as a sum of pure partials c·∂ₓᵃ∂ᵧᵇ, as (c, [a, b]): how engines that
    /// differentiate the network (jets, nested autodiff) assemble it. In 1D, x is the only axis.
    pub fn terms(self) -> &'static [(f64, [usize; 2])] {
        match self {
            Self::U => &[(1.0, [0, 0])],
            Self::X => &[(1.0, [1, 0])],
            Self::Y => &[(1.0, [0, 1])],
            Self::Xx => &[(1.0, [2, 0])],
            Self::Yy => &[(1.0, [0, 2])],
            Self::Xy => &[(1.0, [1, 1])],
            Self::Laplacian => &[(1.0, [2, 0]), (1.0, [0, 2])],
            Self::Xxx => &[(1.0, [3, 0])],
            Self::Yyy => &[(1.0, [0, 3])],
            Self::Xxxx => &[(1.0, [4, 0])],
            Self::Xxyy => &[(1.0, [2, 2])],
            Self::Yyyy => &[(1.0, [0, 4])],
            Self::Biharmonic => &[(1.0, [4, 0]), (2.0, [2, 2]), (1.0, [0, 4])],
        }
    }

    /// Whether the derivative exists on a 1D grid (values and ∂ along the one axis).
    pub fn is_1d(self) -> bool {
        self.terms().iter().all(|(_, [_, b])| *b == 0)
    }
}

/// One sampled stencil the chains are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Stencil {
    /// 1D stencil of the given order along x (also the 1D operators' only axis).
    X(usize),
    /// 1D stencil of the given order along y.
    Y(usize),
    /// Radial 2D stencil for ∂ₓᵃ∂ᵧᵇ.
    Radial(usize, usize),
    /// Radial 2D Laplacian stencil (∂ₓₓ/hx² + ∂ᵧᵧ/hy² in one pass).
    RadialLaplacian,
}

/// A weighted sum of stencil chains; each chain is applied left to right.
type Plan = Vec<(f64, Vec<Stencil>)>;

/// Each stencil's taps with their [ky, kx] shape.
type StencilTaps = BTreeMap<Stencil, (Vec<f64>, [usize; 2])>;

/// Every stencil an operator for `config` uses, in physical units (divided by hᵏ), with its
/// [ky, kx] shape: one definition for the burn operator and for [`taps_1d`]/[`taps_2d`].
fn stencil_taps(config: &MollifierConfig, spacing: [f64; 2], two_d: bool) -> Result<StencilTaps> {
    check_size(config.size)?;
    if spacing.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
        return Err(Error::Invalid(format!(
            "grid spacing must be positive and finite (got {spacing:?})"
        )));
    }
    let top = config.family.max_order().min(2);
    let k = config.size;
    let mut stencils = BTreeMap::new();
    let scaled = |w: Vec<f64>, h: f64, order: usize| -> Vec<f64> {
        let s = h.powi(order as i32);
        w.into_iter().map(|v| v / s).collect()
    };
    let [hy, hx] = spacing;
    if !two_d || config.layout == Layout2d::Separable {
        for order in 0..=top {
            let w = stencil_1d_accurate(config.family, k, order, config.accuracy)?;
            stencils.insert(Stencil::X(order), (scaled(w.clone(), hx, order), [1, k]));
            if two_d {
                stencils.insert(Stencil::Y(order), (scaled(w, hy, order), [k, 1]));
            }
        }
    } else {
        if config.accuracy != Accuracy::Second {
            return Err(Error::Invalid(format!(
                "{} accuracy is built for 1D and the separable 2D layout, not the radial one",
                config.accuracy
            )));
        }
        for a in 0..=top {
            for b in 0..=top - a {
                let w = stencil_2d_radial(config.family, k, a, b)?;
                let s = hx.powi(a as i32) * hy.powi(b as i32);
                stencils.insert(
                    Stencil::Radial(a, b),
                    (w.into_iter().map(|v| v / s).collect(), [k, k]),
                );
            }
        }
        if top >= 2 {
            let xx = stencil_2d_radial(config.family, k, 2, 0)?;
            let yy = stencil_2d_radial(config.family, k, 0, 2)?;
            let lap = xx
                .iter()
                .zip(&yy)
                .map(|(a, b)| a / (hx * hx) + b / (hy * hy))
                .collect();
            stencils.insert(Stencil::RadialLaplacian, (lap, [k, k]));
        }
    }
    Ok(stencils)
}

/// The 1D operator of order `order` for `config` on spacing `h` as f64 taps (what
/// [`Mollifier::derivatives_1d`] applies), for analyses that need no device: kernel-size
/// selection, noise propagation.
pub fn taps_1d(config: &MollifierConfig, h: f64, order: usize) -> Result<Taps> {
    let stencils = stencil_taps(config, [1.0, h], false)?;
    let plan = plans_1d(config, &[order])?.remove(0);
    Ok(Taps::from_plan(&plan, &stencils))
}

/// The 2D operator for `d` as f64 taps (what [`Mollifier::derivatives_2d`] applies).
pub fn taps_2d(config: &MollifierConfig, hx: f64, hy: f64, d: Deriv2) -> Result<Taps> {
    let stencils = stencil_taps(config, [hy, hx], true)?;
    let plan = plans_2d(config, &[d])?.remove(0);
    Ok(Taps::from_plan(&plan, &stencils))
}

/// A linear derivative operator on the grid as f64 taps: Σ coef·(x taps ⊗ y taps) for the
/// separable layout (applied in two passes), dense [ky, kx] taps for the radial one. Taps are
/// cross-correlation weights centred on the output point, as the burn operator applies them.
#[derive(Debug, Clone, PartialEq)]
pub struct Taps {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Separable {
        coef: f64,
        x: Vec<f64>,
        y: Vec<f64>,
    },
    Dense {
        coef: f64,
        w: Vec<f64>,
        shape: [usize; 2],
    },
}

/// Full 1D convolution of two centred odd-length stencils (a centred stencil again).
pub(crate) fn compose_1d(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

fn compose_2d(a: &[f64], [ay, ax]: [usize; 2], b: &[f64], [by, bx]: [usize; 2]) -> Vec<f64> {
    let (ny, nx) = (ay + by - 1, ax + bx - 1);
    let mut out = vec![0.0; ny * nx];
    for i in 0..ay * ax {
        for j in 0..by * bx {
            out[(i / ax + j / bx) * nx + i % ax + j % bx] += a[i] * b[j];
        }
    }
    out
}

impl Taps {
    /// A separable operator Σ coef·(x ⊗ y) built directly (e.g. a pilot estimator).
    pub fn separable(terms: Vec<(f64, Vec<f64>, Vec<f64>)>) -> Self {
        Self {
            terms: terms
                .into_iter()
                .map(|(coef, x, y)| Term::Separable { coef, x, y })
                .collect(),
        }
    }

    fn from_plan(plan: &Plan, stencils: &StencilTaps) -> Self {
        let terms = plan
            .iter()
            .map(|(coef, chain)| {
                if chain
                    .iter()
                    .any(|s| matches!(s, Stencil::X(_) | Stencil::Y(_)))
                {
                    let fold = |axis_y: bool| {
                        chain
                            .iter()
                            .filter(|s| matches!(s, Stencil::Y(_)) == axis_y)
                            .fold(vec![1.0], |acc, s| compose_1d(&acc, &stencils[s].0))
                    };
                    Term::Separable {
                        coef: *coef,
                        x: fold(false),
                        y: fold(true),
                    }
                } else {
                    let (w, shape) = chain.iter().fold((vec![1.0], [1, 1]), |(w, sh), s| {
                        let (t, ts) = &stencils[s];
                        let [ay, ax] = sh;
                        let [by, bx] = *ts;
                        (compose_2d(&w, sh, t, *ts), [ay + by - 1, ax + bx - 1])
                    });
                    Term::Dense {
                        coef: *coef,
                        w,
                        shape,
                    }
                }
            })
            .collect();
        Self { terms }
    }

    fn term_shape(t: &Term) -> [usize; 2] {
        match t {
            Term::Separable { x, y, .. } => [y.len(), x.len()],
            Term::Dense { shape, .. } => *shape,
        }
    }

    /// Half-widths [y, x] the operator consumes: its Valid output is this much inside the grid.
    pub fn reach(&self) -> [usize; 2] {
        self.terms.iter().fold([0, 0], |[ry, rx], t| {
            let [ky, kx] = Self::term_shape(t);
            [ry.max(ky / 2), rx.max(kx / 2)]
        })
    }

    /// The operator as one dense [ky, kx] stencil (for norms and moments).
    pub fn dense(&self) -> (Vec<f64>, [usize; 2]) {
        let [ry, rx] = self.reach();
        let (ky, kx) = (2 * ry + 1, 2 * rx + 1);
        let mut out = vec![0.0; ky * kx];
        for t in &self.terms {
            let [ty, tx] = Self::term_shape(t);
            let (oy, ox) = (ry - ty / 2, rx - tx / 2);
            for i in 0..ty {
                for j in 0..tx {
                    let v = match t {
                        Term::Separable { coef, x, y } => coef * y[i] * x[j],
                        Term::Dense { coef, w, .. } => coef * w[i * tx + j],
                    };
                    out[(oy + i) * kx + ox + j] += v;
                }
            }
        }
        (out, [ky, kx])
    }

    /// Σ w²: the variance the operator gives white noise of unit variance.
    pub fn noise_gain(&self) -> f64 {
        self.dense().0.iter().map(|v| v * v).sum()
    }

    /// For each (p, q), Σ w·xᵖy^q/(p! q!) with x = j·hx, y = i·hy: the coefficient of
    /// ∂ₓᵖ∂ᵧ^q u in the operator's Taylor expansion (its bias terms at degrees above the
    /// target's).
    pub fn moments(&self, monomials: &[(usize, usize)], hx: f64, hy: f64) -> Vec<f64> {
        let (w, [ky, kx]) = self.dense();
        let (ry, rx) = ((ky / 2) as f64, (kx / 2) as f64);
        monomials
            .iter()
            .map(|&(p, q)| {
                let mut sum = 0.0;
                for i in 0..ky {
                    for j in 0..kx {
                        let (x, y) = ((j as f64 - rx) * hx, (i as f64 - ry) * hy);
                        sum += w[i * kx + j] * x.powi(p as i32) * y.powi(q as i32);
                    }
                }
                sum / (factorial(p) * factorial(q))
            })
            .collect()
    }

    /// The operator on a [ny, nx] field (1D: [1, n]) on the points `reach` inside the edge:
    /// returns the [ny − 2ry, nx − 2rx] output, C order.
    pub fn apply(&self, values: &[f64], [ny, nx]: [usize; 2]) -> Result<(Vec<f64>, [usize; 2])> {
        let [ry, rx] = self.reach();
        if ny <= 2 * ry || nx <= 2 * rx {
            return Err(Error::Invalid(format!(
                "a {}×{} stencil does not fit a {ny}×{nx} grid",
                2 * ry + 1,
                2 * rx + 1
            )));
        }
        let (oy, ox) = (ny - 2 * ry, nx - 2 * rx);
        let mut out = vec![0.0; oy * ox];
        for t in &self.terms {
            let [ty, tx] = Self::term_shape(t);
            // Offsets of this term's window inside the operator's reach.
            let (sy, sx) = (ry - ty / 2, rx - tx / 2);
            match t {
                Term::Separable { coef, x, y } => {
                    // Along x on the rows the y pass reads, then along y.
                    let rows = oy + ty - 1;
                    let mut tmp = vec![0.0; rows * ox];
                    for r in 0..rows {
                        let src = &values[(sy + r) * nx + sx..];
                        for c in 0..ox {
                            tmp[r * ox + c] = x.iter().zip(&src[c..]).map(|(w, v)| w * v).sum();
                        }
                    }
                    for r in 0..oy {
                        for c in 0..ox {
                            let s: f64 = y
                                .iter()
                                .enumerate()
                                .map(|(i, w)| w * tmp[(r + i) * ox + c])
                                .sum();
                            out[r * ox + c] += coef * s;
                        }
                    }
                }
                Term::Dense { coef, w, .. } => {
                    for r in 0..oy {
                        for c in 0..ox {
                            let mut s = 0.0;
                            for i in 0..ty {
                                let src = &values[(sy + r + i) * nx + sx + c..];
                                s += w[i * tx..(i + 1) * tx]
                                    .iter()
                                    .zip(src)
                                    .map(|(a, b)| a * b)
                                    .sum::<f64>();
                            }
                            out[r * ox + c] += coef * s;
                        }
                    }
                }
            }
        }
        Ok((out, [oy, ox]))
    }
}

/// One mollified field for every derivative of a request ([`MollifierConfig::one_field`]):
/// orders 3–4 are derivatives of g∗φ∗φ (two passes), so when a request holds one, every
/// lower-order chain gets the extra smoothing pass too and a residual never relates ∇²(g∗φ) to
/// ∇⁴(g∗φ∗φ). The exact steady state's residual is then the smoothing bias alone (tested);
/// but u = g∗φ∗φ is smoother, and on the chromatin droplets with 5–7-point kernels the mixed
/// chains recover Γ better (measured: correlation 0.67 against 0.35 at 5 points), so it is a
/// choice, off by default.
fn one_field(plans: Vec<Plan>, single: usize, smooth: &[Stencil]) -> Vec<Plan> {
    plans
        .into_iter()
        .map(|plan| {
            plan.into_iter()
                .map(|(c, chain)| {
                    if chain.len() != single {
                        return (c, chain);
                    }
                    // Separable chains keep their [x…, y…] order: [X(a), X(0), Y(b), Y(0)].
                    let mut padded = Vec::with_capacity(2 * single);
                    for (s, extra) in chain.into_iter().zip(smooth.iter().cycle()) {
                        padded.push(s);
                        padded.push(*extra);
                    }
                    (c, padded)
                })
                .collect()
        })
        .collect()
}

/// The chains of each 1D order (orders 3 and 4 compose first- and second-order stencils; see
/// [`one_field`] for the lower orders beside them).
fn plans_1d(config: &MollifierConfig, orders: &[usize]) -> Result<Vec<Plan>> {
    let plans = orders
        .iter()
        .map(|&k| {
            let chain = match k {
                0..=2 => vec![Stencil::X(k)],
                3 => vec![Stencil::X(2), Stencil::X(1)],
                4 => vec![Stencil::X(2), Stencil::X(2)],
                _ => {
                    return Err(Error::Invalid(format!(
                        "1D derivatives go up to order 4 (asked {k})"
                    )));
                }
            };
            let plan = vec![(1.0, chain)];
            check_plan(config.family, &plan)?;
            Ok(plan)
        })
        .collect::<Result<Vec<Plan>>>()?;
    Ok(if config.one_field && orders.iter().any(|&k| k >= 3) {
        one_field(plans, 1, &[Stencil::X(0)])
    } else {
        plans
    })
}

/// A plan is sound when every stencil in it is a function for the family (orders 3 and 4 are
/// compositions, so a kernel smooth to order 2 serves them: poly4's ∇⁴ is two ∇² passes).
fn check_plan(family: KernelFamily, plan: &Plan) -> Result<()> {
    for (_, chain) in plan {
        for s in chain {
            family.check_order(match *s {
                Stencil::X(k) | Stencil::Y(k) => k,
                Stencil::Radial(a, b) => a + b,
                Stencil::RadialLaplacian => 2,
            })?;
        }
    }
    Ok(())
}

/// The chains of each 2D derivative for the configured layout (see [`one_field`] for the
/// lower orders beside a third or fourth).
fn plans_2d(config: &MollifierConfig, derivs: &[Deriv2]) -> Result<Vec<Plan>> {
    use Stencil::{Radial as R, X, Y};
    let radial = config.layout == Layout2d::Radial;
    let plans = derivs
        .iter()
        .map(|&d| {
            let one = |chain: Vec<Stencil>| vec![(1.0, chain)];
            let plan = match (radial, d) {
                (false, Deriv2::U) => one(vec![X(0), Y(0)]),
                (false, Deriv2::X) => one(vec![X(1), Y(0)]),
                (false, Deriv2::Y) => one(vec![X(0), Y(1)]),
                (false, Deriv2::Xx) => one(vec![X(2), Y(0)]),
                (false, Deriv2::Yy) => one(vec![X(0), Y(2)]),
                (false, Deriv2::Xy) => one(vec![X(1), Y(1)]),
                (false, Deriv2::Laplacian) => {
                    vec![(1.0, vec![X(2), Y(0)]), (1.0, vec![X(0), Y(2)])]
                }
                (false, Deriv2::Xxx) => one(vec![X(2), X(1), Y(0), Y(0)]),
                (false, Deriv2::Yyy) => one(vec![X(0), X(0), Y(2), Y(1)]),
                (false, Deriv2::Xxxx) => one(vec![X(2), X(2), Y(0), Y(0)]),
                (false, Deriv2::Xxyy) => one(vec![X(2), X(0), Y(2), Y(0)]),
                (false, Deriv2::Yyyy) => one(vec![X(0), X(0), Y(2), Y(2)]),
                (false, Deriv2::Biharmonic) => vec![
                    (1.0, vec![X(2), X(2), Y(0), Y(0)]),
                    (2.0, vec![X(2), X(0), Y(2), Y(0)]),
                    (1.0, vec![X(0), X(0), Y(2), Y(2)]),
                ],
                (true, Deriv2::U) => one(vec![R(0, 0)]),
                (true, Deriv2::X) => one(vec![R(1, 0)]),
                (true, Deriv2::Y) => one(vec![R(0, 1)]),
                (true, Deriv2::Xx) => one(vec![R(2, 0)]),
                (true, Deriv2::Yy) => one(vec![R(0, 2)]),
                (true, Deriv2::Xy) => one(vec![R(1, 1)]),
                (true, Deriv2::Laplacian) => one(vec![Stencil::RadialLaplacian]),
                (true, Deriv2::Xxx) => one(vec![R(2, 0), R(1, 0)]),
                (true, Deriv2::Yyy) => one(vec![R(0, 2), R(0, 1)]),
                (true, Deriv2::Xxxx) => one(vec![R(2, 0), R(2, 0)]),
                (true, Deriv2::Xxyy) => one(vec![R(2, 0), R(0, 2)]),
                (true, Deriv2::Yyyy) => one(vec![R(0, 2), R(0, 2)]),
                (true, Deriv2::Biharmonic) => {
                    one(vec![Stencil::RadialLaplacian, Stencil::RadialLaplacian])
                }
            };
            check_plan(config.family, &plan)?;
            Ok(plan)
        })
        .collect::<Result<Vec<Plan>>>()?;
    Ok(
        match (
            config.one_field && derivs.iter().any(|d| d.order() >= 3),
            radial,
        ) {
            (false, _) => plans,
            (true, false) => one_field(plans, 2, &[X(0), Y(0)]),
            (true, true) => one_field(plans, 1, &[R(0, 0)]),
        },
    )
}

/// Mollifier derivative operator on a fixed 1D or 2D grid and device.
#[derive(Debug, Clone)]
pub struct Mollifier {
    config: MollifierConfig,
    device: Device,
    stencils: BTreeMap<Stencil, Tensor<4>>,
}

impl Mollifier {
    /// Operator for 1D fields with spacing `h`.
    pub fn new_1d(config: MollifierConfig, h: f64, device: &Device) -> Result<Self> {
        Self::build(config, [1.0, h], device, false)
    }

    /// Operator for 2D fields of shape [ny, nx] with spacings `hx`, `hy`.
    pub fn new_2d(config: MollifierConfig, hx: f64, hy: f64, device: &Device) -> Result<Self> {
        Self::build(config, [hy, hx], device, true)
    }

    fn build(
        config: MollifierConfig,
        spacing: [f64; 2],
        device: &Device,
        two_d: bool,
    ) -> Result<Self> {
        let stencils = stencil_taps(&config, spacing, two_d)?
            .into_iter()
            .map(|(key, (w, [ky, kx]))| {
                let t = Tensor::<4>::from_data(TensorData::new(w, [1, 1, ky, kx]), device);
                (key, t)
            })
            .collect();
        Ok(Self {
            config,
            device: device.clone(),
            stencils,
        })
    }

    /// The configuration this operator was built with.
    pub fn config(&self) -> &MollifierConfig {
        &self.config
    }

    /// The device the stencils live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Points dropped on each side under [`Boundary::Valid`] (and [`Boundary::Network`], whose
    /// input carries them as a halo) for these 1D orders.
    pub fn margin_1d(&self, orders: &[usize]) -> Result<usize> {
        let plans = self.plans_1d(orders)?;
        Ok(self.reach(&plans)[1])
    }

    /// Points dropped on each side [y, x] under [`Boundary::Valid`] (and [`Boundary::Network`])
    /// for these 2D derivatives.
    pub fn margin_2d(&self, derivs: &[Deriv2]) -> Result<[usize; 2]> {
        let plans = self.plans_2d(derivs)?;
        Ok(self.reach(&plans))
    }

    /// Mollified derivatives of orders `orders` (0 = u, up to 4) of the 1D field `g`.
    pub fn derivatives_1d(&self, g: Tensor<1>, orders: &[usize]) -> Result<Vec<Tensor<1>>> {
        let n = g.dims()[0];
        let plans = self.plans_1d(orders)?;
        let out = self.run(g.reshape([1, 1, 1, n]), &plans)?;
        Ok(out
            .into_iter()
            .map(|t| {
                let len = t.dims()[3];
                t.reshape([len])
            })
            .collect())
    }

    /// Mollified derivatives `derivs` of the 2D field `g` of shape [ny, nx].
    pub fn derivatives_2d(&self, g: Tensor<2>, derivs: &[Deriv2]) -> Result<Vec<Tensor<2>>> {
        let [ny, nx] = g.dims();
        let plans = self.plans_2d(derivs)?;
        let out = self.run(g.reshape([1, 1, ny, nx]), &plans)?;
        Ok(out
            .into_iter()
            .map(|t| {
                let [_, _, h, w] = t.dims();
                t.reshape([h, w])
            })
            .collect())
    }

    fn plans_1d(&self, orders: &[usize]) -> Result<Vec<Plan>> {
        if self.stencils.contains_key(&Stencil::Y(0))
            || self.stencils.contains_key(&Stencil::Radial(0, 0))
        {
            return Err(Error::Invalid(
                "this operator was built for 2D fields".into(),
            ));
        }
        plans_1d(&self.config, orders)
    }

    fn plans_2d(&self, derivs: &[Deriv2]) -> Result<Vec<Plan>> {
        if self.config.layout == Layout2d::Separable && !self.stencils.contains_key(&Stencil::Y(0))
        {
            return Err(Error::Invalid(
                "this operator was built for 1D fields".into(),
            ));
        }
        plans_2d(&self.config, derivs)
    }
    /// Half-width [y, x] a chain consumes.
    fn chain_reach(&self, chain: &[Stencil]) -> [usize; 2] {
        let m = self.config.size / 2;
        chain.iter().fold([0, 0], |[ry, rx], s| match s {
            Stencil::X(_) => [ry, rx + m],
            Stencil::Y(_) => [ry + m, rx],
            Stencil::Radial(..) | Stencil::RadialLaplacian => [ry + m, rx + m],
        })
    }

    /// Largest reach over all chains: the common output region is this much inside the grid.
    fn reach(&self, plans: &[Plan]) -> [usize; 2] {
        plans
            .iter()
            .flatten()
            .map(|(_, chain)| self.chain_reach(chain))
            .fold([0, 0], |[a, b], [c, d]| [a.max(c), b.max(d)])
    }

    fn run(&self, g: Tensor<4>, plans: &[Plan]) -> Result<Vec<Tensor<4>>> {
        let [_, _, ny, nx] = g.dims();
        let reach = self.reach(plans);
        let input = match self.config.boundary {
            Boundary::Valid | Boundary::Network => {
                for (axis, &r) in reach.iter().enumerate() {
                    let n = [ny, nx][axis];
                    if n <= 2 * r {
                        return Err(Error::KernelTooWide {
                            size: self.config.size,
                            support: 2 * r + 1,
                            points: n,
                        });
                    }
                }
                g
            }
            policy => pad(g, reach, policy, self.config.size)?,
        };
        // Evaluate every distinct chain prefix once, siblings batched per stencil shape.
        let chains: Vec<&[Stencil]> = plans.iter().flatten().map(|(_, c)| c.as_slice()).collect();
        let mut values: BTreeMap<Vec<Stencil>, Tensor<4>> = BTreeMap::new();
        let depth = chains.iter().map(|c| c.len()).max().unwrap_or(0);
        for level in 1..=depth {
            // Children of each parent prefix at this level, grouped by stencil shape.
            let mut groups: BTreeMap<(Vec<Stencil>, [usize; 2]), Vec<Stencil>> = BTreeMap::new();
            for c in chains.iter().filter(|c| c.len() >= level) {
                let (parent, child) = (c[..level - 1].to_vec(), c[level - 1]);
                let dims = self.stencils[&child].dims();
                let siblings = groups.entry((parent, [dims[2], dims[3]])).or_default();
                if !siblings.contains(&child) {
                    siblings.push(child);
                }
            }
            for ((parent, _), children) in groups {
                let source = if parent.is_empty() {
                    input.clone()
                } else {
                    values[&parent].clone()
                };
                let weights = Tensor::cat(
                    children.iter().map(|s| self.stencils[s].clone()).collect(),
                    0,
                );
                let out = conv(source, weights);
                let [_, c, h, w] = out.dims();
                for (i, child) in children.into_iter().enumerate() {
                    let mut key = parent.clone();
                    key.push(child);
                    let t = if c == 1 {
                        out.clone()
                    } else {
                        out.clone().narrow(1, i, 1)
                    };
                    values.insert(key, t.reshape([1, 1, h, w]));
                }
            }
        }
        Ok(plans
            .iter()
            .map(|plan| {
                plan.iter()
                    .map(|(coef, chain)| {
                        let [ry, rx] = self.chain_reach(chain);
                        let t = values[chain.as_slice()].clone();
                        let [_, _, h, w] = t.dims();
                        let (cy, cx) = (reach[0] - ry, reach[1] - rx);
                        let t = t.slice([0..1, 0..1, cy..h - cy, cx..w - cx]);
                        if *coef == 1.0 { t } else { t * *coef }
                    })
                    .reduce(|a, b| a + b)
                    .expect("every plan has at least one chain")
            })
            .collect())
    }
}

/// A valid (unpadded) stride-1 convolution.
///
/// The flatten/reshape round trip works around a wgpu issue: conv2d's output fed straight
/// into an elementwise op gave wrong values (errors up to ~20, likely its NHWC output layout
/// under fusion, cf. tracel-ai/cubek#312). A regression test compares wgpu with the CPU on it.
fn conv(x: Tensor<4>, w: Tensor<4>) -> Tensor<4> {
    let y = conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    let dims = y.dims();
    y.reshape([dims.iter().product::<usize>()]).reshape(dims)
}

/// Pads a [1, 1, ny, nx] field by `reach` = [py, px] points on each side.
fn pad(g: Tensor<4>, reach: [usize; 2], policy: Boundary, size: usize) -> Result<Tensor<4>> {
    let [_, _, ny, nx] = g.dims();
    match policy {
        Boundary::Valid | Boundary::Network => Ok(g),
        Boundary::Reflect => {
            if reach[0] >= ny || reach[1] >= nx {
                return Err(Error::KernelTooWide {
                    size,
                    support: 2 * reach[0].max(reach[1]) + 1,
                    points: if reach[0] >= ny { ny } else { nx },
                });
            }
            Ok(g.pad(
                [(reach[0], reach[0]), (reach[1], reach[1])],
                PadMode::Reflect,
            ))
        }
        Boundary::Extrapolate => {
            let g = extrapolate_last_axis(g, reach[1], size)?;
            let g = extrapolate_last_axis(g.swap_dims(2, 3), reach[0], size)?;
            Ok(g.swap_dims(2, 3))
        }
        Boundary::Periodic => {
            if reach[0] > ny || reach[1] > nx {
                return Err(Error::KernelTooWide {
                    size,
                    support: 2 * reach[0].max(reach[1]) + 1,
                    points: if reach[0] > ny { ny } else { nx },
                });
            }
            Ok(wrap_axis(wrap_axis(g, 3, reach[1]), 2, reach[0]))
        }
    }
}

/// Extends `axis` of a [1, 1, ny, nx] tensor by `p` points each side, taken from the other end.
fn wrap_axis(g: Tensor<4>, axis: usize, p: usize) -> Tensor<4> {
    if p == 0 {
        return g;
    }
    let n = g.dims()[axis];
    let head = g.clone().narrow(axis, 0, p);
    let tail = g.clone().narrow(axis, n - p, p);
    Tensor::cat(vec![tail, g, head], axis)
}

/// Extends the last axis by `p` points each side with a least-squares polynomial fitted to a
/// window of `2p + 1` edge points (at least degree + 2): a fixed linear map, so autodiff flows.
fn extrapolate_last_axis(g: Tensor<4>, p: usize, size: usize) -> Result<Tensor<4>> {
    if p == 0 {
        return Ok(g);
    }
    let [_, _, rows, n] = g.dims();
    let window = (2 * p + 1).max(EXTRAPOLATION_DEGREE + 2);
    if window > n {
        return Err(Error::KernelTooWide {
            size,
            support: window,
            points: n,
        });
    }
    let left = extrapolation_matrix(window, p);
    // Right side: the mirror image of the left map.
    let right: Vec<f64> = (0..window)
        .flat_map(|i| (0..p).map(move |j| (i, j)))
        .map(|(i, j)| left[(window - 1 - i) * p + (p - 1 - j)])
        .collect();
    let device = g.device();
    let upload = |w: Vec<f64>| Tensor::<2>::from_data(TensorData::new(w, [window, p]), &device);
    let flat = g.reshape([rows, n]);
    let lo = flat
        .clone()
        .slice([0..rows, 0..window])
        .matmul(upload(left));
    let hi = flat
        .clone()
        .slice([0..rows, n - window..n])
        .matmul(upload(right));
    Ok(Tensor::cat(vec![lo, flat, hi], 1).reshape([1, 1, rows, n + 2 * p]))
}

/// `window × p` map from the first `window` samples to the `p` samples before them
/// (column j is position j − p), by a least-squares polynomial of degree 3.
fn extrapolation_matrix(window: usize, p: usize) -> Vec<f64> {
    let d = EXTRAPOLATION_DEGREE + 1;
    // Positions scaled to [0, 1] keep the normal equations well conditioned.
    let x: Vec<f64> = (0..window).map(|i| i as f64 / window as f64).collect();
    let gram: Vec<Vec<f64>> = (0..d)
        .map(|a| {
            (0..d)
                .map(|b| x.iter().map(|v| v.powi((a + b) as i32)).sum())
                .collect()
        })
        .collect();
    let inverse: Vec<Vec<f64>> = (0..d)
        .map(|col| {
            let e: Vec<f64> = (0..d).map(|r| if r == col { 1.0 } else { 0.0 }).collect();
            crate::numerics::stencil::solve(gram.clone(), e)
                .expect("Vandermonde Gram matrix of ≥ 4 distinct points is regular")
        })
        .collect();
    // Weight of sample i in coefficient a: (G⁻¹ Vᵀ)[a][i] = Σ_b G⁻¹[a][b]·x_iᵇ.
    let weight =
        |a: usize, xi: f64| -> f64 { (0..d).map(|b| inverse[b][a] * xi.powi(b as i32)).sum() };
    let mut map = vec![0.0; window * p];
    for (i, &xi) in x.iter().enumerate() {
        for j in 0..p {
            let target = (j as f64 - p as f64) / window as f64;
            map[i * p + j] = (0..d).map(|a| weight(a, xi) * target.powi(a as i32)).sum();
        }
    }
    map
}
