//! Taylor-mode (forward) derivative propagation for the autodiff baseline.
//!
//! burn's autodiff is first order, so the PINN baseline cannot take `grad(grad(u))` as the
//! paper's PyTorch code does. Instead every layer propagates a *jet*: the truncated Taylor
//! polynomial of its output in the input coordinates,
//! u(x₀ + δ) ≈ Σ_{|α| ≤ K} c_α δ^α with c_α = D^α u(x₀)/α!,
//! one tensor per multi-index α (mixed terms included), so D^α u = α!·c_α for every |α| ≤ K
//! comes out of one forward pass. Products are truncated Cauchy products and a univariate
//! function composes as f(c₀) + Σₙ f⁽ⁿ⁾(c₀)/n!·(u − c₀)ⁿ. The parameters' gradients then come
//! from one ordinary first-order backward pass through these tensor operations.

use std::sync::Arc;

use burn::tensor::Tensor;

use crate::error::{Error, Result};
use crate::numerics::stencil::factorial;

/// Multi-indices of a jet (dimension 1 or 2, order ≤ 4) and the product table that combines
/// them. Shared by every jet of one shape.
#[derive(Debug, PartialEq, Eq)]
pub struct JetLayout {
    dims: usize,
    order: usize,
    alphas: Vec<[usize; 2]>,
    /// (i, j, k): coefficient i times coefficient j contributes to coefficient k.
    products: Vec<(usize, usize, usize)>,
}

/// Highest order a jet carries: the paper's problems need at most fourth derivatives.
pub const MAX_ORDER: usize = 4;

impl JetLayout {
    /// Layout for `dims` ∈ {1, 2} input coordinates and every derivative up to `order` ≤ 4.
    pub fn new(dims: usize, order: usize) -> Result<Arc<Self>> {
        let all = (0..=order)
            .flat_map(|deg| (0..=deg).map(move |a| [a, deg - a]))
            .filter(|a| dims == 2 || a[1] == 0);
        Self::covering(dims, all)
    }

    /// The smallest layout that carries the derivatives ∂ₓᵃ∂ᵧᵇ for every `[a, b]` asked: every
    /// multi-index below one asked (componentwise), and no other. The coefficient of a product
    /// or a composition at α involves only coefficients at β ≤ α, so such a set is closed under
    /// every jet operation and the derivatives it carries are exact. A Laplacian needs 5 of the
    /// 6 second-order coefficients (not ∂ₓᵧ) and 11 of the 15 products.
    pub fn covering(dims: usize, asked: impl IntoIterator<Item = [usize; 2]>) -> Result<Arc<Self>> {
        let asked: Vec<[usize; 2]> = asked.into_iter().collect();
        let order = asked.iter().map(|[a, b]| a + b).max().unwrap_or(0);
        Self::check(dims, order)?;
        if dims == 1 && asked.iter().any(|a| a[1] > 0) {
            return Err(Error::Invalid(
                "a 1-D jet carries no derivative in y".to_string(),
            ));
        }
        let below = |x: [usize; 2]| asked.iter().any(|a| x[0] <= a[0] && x[1] <= a[1]);
        // Ordered by total degree, then by the x exponent (descending); the value comes first.
        let alphas: Vec<[usize; 2]> = (0..=order)
            .flat_map(|deg| (0..=deg).rev().map(move |a| [a, deg - a]))
            .filter(|&a| a == [0, 0] || below(a))
            .collect();
        let index = |a: [usize; 2]| alphas.iter().position(|b| *b == a);
        let mut products = Vec::new();
        for (i, a) in alphas.iter().enumerate() {
            for (j, b) in alphas.iter().enumerate() {
                if let Some(k) = index([a[0] + b[0], a[1] + b[1]]) {
                    products.push((i, j, k));
                }
            }
        }
        Ok(Arc::new(Self {
            dims,
            order,
            alphas,
            products,
        }))
    }

    /// What a jet can carry: the paper's problems are 1D or 2D and at most fourth order.
    fn check(dims: usize, order: usize) -> Result<()> {
        if !(1..=2).contains(&dims) || order > MAX_ORDER {
            return Err(Error::Invalid(format!(
                "jets carry 1 or 2 input coordinates up to order {MAX_ORDER} (asked {dims} coordinates, order {order})"
            )));
        }
        Ok(())
    }

    /// Number of input coordinates.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Highest derivative order carried.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Position of the coefficient for ∂ₓᵃ∂ᵧᵇ, if carried.
    pub fn index(&self, a: usize, b: usize) -> Option<usize> {
        self.alphas.iter().position(|x| *x == [a, b])
    }
}

/// A truncated Taylor polynomial whose coefficients are tensors of one shape.
#[derive(Debug, Clone)]
pub struct Jet<const D: usize> {
    layout: Arc<JetLayout>,
    /// Coefficients c_α, in layout order; `None` is an exact zero (saves work for constants
    /// and for the sparse jets of input coordinates).
    coeffs: Vec<Option<Tensor<D>>>,
}

/// A univariate function and its derivatives evaluated at a tensor, f⁽ⁿ⁾ for n = 0..=order
/// (at least `order + 1` entries): what a jet of that order needs to compose with it. Computing
/// only those keeps a second-order jet from paying for fourth derivatives.
pub type Derivatives<const D: usize> = Vec<Tensor<D>>;

impl<const D: usize> Jet<D> {
    /// A jet whose value is `value` and whose derivatives are all zero (e.g. a parameter).
    pub fn constant(layout: &Arc<JetLayout>, value: Tensor<D>) -> Self {
        let mut coeffs = vec![None; layout.alphas.len()];
        coeffs[0] = Some(value);
        Self {
            layout: layout.clone(),
            coeffs,
        }
    }

    /// The jet of input coordinate `axis` (0 = x, 1 = y) at the points `value`: ∂(axis) = 1.
    pub fn coordinate(layout: &Arc<JetLayout>, value: Tensor<D>, axis: usize) -> Result<Self> {
        let slot = layout.index(usize::from(axis == 0), usize::from(axis == 1));
        let slot = slot.filter(|_| axis < layout.dims && layout.order >= 1);
        let mut jet = Self::constant(layout, value.clone());
        if let Some(i) = slot {
            jet.coeffs[i] = Some(value.ones_like());
        } else if axis >= layout.dims {
            return Err(Error::Invalid(format!(
                "coordinate {axis} of a {}-D jet",
                layout.dims
            )));
        }
        Ok(jet)
    }

    /// The layout this jet follows.
    pub fn layout(&self) -> &Arc<JetLayout> {
        &self.layout
    }

    /// The value (order-0 coefficient).
    pub fn value(&self) -> Tensor<D> {
        self.coeffs[0]
            .clone()
            .expect("a jet always carries its value")
    }

    /// The derivative ∂ₓᵃ∂ᵧᵇ = a!·b!·c_(a,b) (zeros if it is exactly zero).
    pub fn derivative(&self, a: usize, b: usize) -> Result<Tensor<D>> {
        let i = self.layout.index(a, b).ok_or_else(|| {
            Error::Invalid(format!(
                "∂x^{a}∂y^{b} is beyond this jet ({} coordinates, order {})",
                self.layout.dims, self.layout.order
            ))
        })?;
        Ok(match &self.coeffs[i] {
            Some(c) => c.clone() * (factorial(a) * factorial(b)),
            None => self.value().zeros_like(),
        })
    }

    /// Applies a linear map to every coefficient; `offset` (e.g. a bias) is added to the value only.
    pub fn map_linear(
        &self,
        f: impl Fn(Tensor<D>) -> Tensor<D>,
        offset: impl FnOnce(Tensor<D>) -> Tensor<D>,
    ) -> Self {
        let mut coeffs: Vec<Option<Tensor<D>>> =
            self.coeffs.iter().map(|c| c.clone().map(&f)).collect();
        coeffs[0] = coeffs[0].take().map(offset);
        Self {
            layout: self.layout.clone(),
            coeffs,
        }
    }

    /// Truncated product.
    pub fn mul(&self, other: &Self) -> Self {
        let mut out: Vec<Option<Tensor<D>>> = vec![None; self.coeffs.len()];
        for &(i, j, k) in &self.layout.products {
            if let (Some(a), Some(b)) = (&self.coeffs[i], &other.coeffs[j]) {
                let term = a.clone() * b.clone();
                out[k] = Some(match out[k].take() {
                    Some(acc) => acc + term,
                    None => term,
                });
            }
        }
        Self {
            layout: self.layout.clone(),
            coeffs: out,
        }
    }

    /// Sum of two jets.
    pub fn add(&self, other: &Self) -> Self {
        let coeffs = self
            .coeffs
            .iter()
            .zip(&other.coeffs)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Some(a.clone() + b.clone()),
                (Some(a), None) => Some(a.clone()),
                (None, b) => b.clone(),
            })
            .collect();
        Self {
            layout: self.layout.clone(),
            coeffs,
        }
    }

    /// Multiplies every coefficient by a constant.
    pub fn scale(&self, s: f64) -> Self {
        self.map_linear(|c| c * s, |c| c)
    }

    /// f(u) for a univariate f given as f and its derivatives at the value (from `derivs`).
    pub fn compose(&self, derivs: impl FnOnce(Tensor<D>, usize) -> Derivatives<D>) -> Self {
        let d = derivs(self.value(), self.layout.order);
        let mut delta = self.clone();
        delta.coeffs[0] = None;
        let mut result = Self::constant(&self.layout, d[0].clone());
        let mut power = delta.clone();
        for (n, dn) in d.iter().enumerate().take(self.layout.order + 1).skip(1) {
            if n > 1 {
                power = power.mul(&delta);
            }
            let scale = dn.clone() / factorial(n);
            let term = power.map_linear(|c| c * scale.clone(), |c| c);
            result = result.add(&term);
        }
        result
    }

    /// tanh
    pub fn tanh(&self) -> Self {
        self.compose(tanh_derivatives)
    }

    /// sin
    pub fn sin(&self) -> Self {
        self.compose(|u, _| {
            let (s, c) = (u.clone().sin(), u.cos());
            vec![s.clone(), c.clone(), -s.clone(), -c, s]
        })
    }

    /// cos
    pub fn cos(&self) -> Self {
        self.compose(|u, _| {
            let (s, c) = (u.clone().sin(), u.cos());
            vec![c.clone(), -s.clone(), -c.clone(), s, c]
        })
    }

    /// exp
    pub fn exp(&self) -> Self {
        self.compose(|u, order| vec![u.exp(); order + 1])
    }

    /// ReLU: derivatives of order ≥ 2 vanish away from the kink (and are taken as 0 on it).
    pub fn relu(&self) -> Self {
        self.compose(|u, _| {
            let step = u.clone().greater_elem(0.0).float();
            let zero = u.zeros_like();
            vec![u.clamp_min(0.0), step, zero.clone(), zero.clone(), zero]
        })
    }

    /// (u + eps)^(−1/2), the normaliser of LayerNorm.
    pub fn rsqrt(&self, eps: f64) -> Self {
        self.compose(|u, order| {
            let v = u + eps;
            let r = v.clone().sqrt().recip();
            let inv = v.recip();
            // d^n/dv^n v^(−1/2) = (−1/2)(−3/2)…(−1/2 − n + 1)·v^(−1/2 − n)
            let c = [1.0, -0.5, 0.75, -1.875, 6.5625];
            powers(r, &inv, &c[..=order])
        })
    }

    /// 1/u.
    pub fn recip(&self) -> Self {
        self.compose(|u, order| {
            let inv = u.recip();
            let c = [1.0, -1.0, 2.0, -6.0, 24.0];
            powers(inv.clone(), &inv, &c[..=order])
        })
    }
}

/// cₙ·first·stepⁿ for each cₙ: derivatives of a power of the argument.
fn powers<const D: usize>(first: Tensor<D>, step: &Tensor<D>, c: &[f64]) -> Derivatives<D> {
    let mut p = first;
    c.iter()
        .enumerate()
        .map(|(n, cn)| {
            if n > 0 {
                p = p.clone() * step.clone();
            }
            p.clone() * *cn
        })
        .collect()
}

/// tanh and its derivatives up to `order` in terms of t = tanh(u) and s = 1 − t².
fn tanh_derivatives<const D: usize>(u: Tensor<D>, order: usize) -> Derivatives<D> {
    let t = super::tanh::tanh(u);
    let mut d = vec![t.clone()];
    if order == 0 {
        return d;
    }
    let t2 = t.clone() * t.clone();
    let s = -t2.clone() + 1.0;
    d.push(s.clone());
    if order >= 2 {
        d.push(t.clone() * s.clone() * (-2.0));
    }
    if order >= 3 {
        d.push(s.clone() * (t2.clone() * 6.0 - 2.0));
    }
    if order >= 4 {
        d.push(t * s * (t2 * (-24.0) + 16.0));
    }
    d
}

impl Jet<2> {
    /// x·W + b for a [batch, in] jet and W of shape [in, out]: every coefficient is mapped,
    /// the bias enters the value only.
    pub fn linear(&self, weight: &Tensor<2>, bias: Option<&Tensor<1>>) -> Self {
        self.map_linear(
            |c| c.matmul(weight.clone()),
            |c| match bias {
                Some(b) => c + b.clone().unsqueeze(),
                None => c,
            },
        )
    }

    /// Concatenates jets of the same layout along the feature axis (dim 1).
    pub fn cat(jets: &[Self]) -> Self {
        let layout = jets[0].layout.clone();
        let coeffs = (0..layout.alphas.len())
            .map(|k| {
                if jets.iter().all(|j| j.coeffs[k].is_none()) {
                    return None;
                }
                let parts = jets
                    .iter()
                    .map(|j| {
                        j.coeffs[k]
                            .clone()
                            .unwrap_or_else(|| j.value().zeros_like())
                    })
                    .collect();
                Some(Tensor::cat(parts, 1))
            })
            .collect();
        Self { layout, coeffs }
    }

    /// Mean over the feature axis (dim 1), kept as a column: [batch, 1].
    pub fn mean_features(&self) -> Self {
        self.map_linear(|c| c.mean_dim(1), |c| c)
    }

    /// LayerNorm over features (without the affine part, which is a [`Jet::linear`]-like map):
    /// (u − mean)/√(var + eps).
    pub fn normalize(&self, eps: f64) -> Self {
        let centred = self.add(&self.mean_features().scale(-1.0));
        let var = centred.mul(&centred).mean_features();
        centred.mul(&var.rsqrt(eps))
    }
}
