//! Recursive reverse-mode autodiff: the paper's PyTorch baseline (`autograd.grad` with
//! `create_graph=True`, once per derivative order), rebuilt on burn by nesting its autodiff
//! backend. burn's `Tensor` API is first-order only (burn issue #1942), but at the primitive
//! level `Autodiff<Autodiff<…<Flex>>>` works: a backward pass at level L runs its ops on level
//! L−1, which records them, so the gradient it returns can be differentiated again. Order k
//! takes k + 1 levels — k for the coordinates and the innermost for the weights — and the
//! whole tower of graphs stays alive until the weights' backward pass: the growth of time and
//! memory with order and depth that the paper measures.
//!
//! burn cannot keep a graph for a second backward pass (no `retain_graph`), so where PyTorch
//! calls `grad` several times on one graph (∂ₓₓu and ∂ᵧᵧu of the same u), every derivative
//! chain gets its own copy of the evaluation points in one batch: one forward pass, and one
//! backward pass per level. Rows never mix, so each copy's gradient is its own derivative.
//!
//! The innermost level is the training device's own autodiff tensor type (`Autodiff<Flex>`):
//! the module's parameters are read as primitives, not copied, so the loss assembled from the
//! results back-propagates to the weights with the ordinary `backward` and the same optimiser.
//! CPU (Flex) only: the paper's cost claims are about this engine, not its device.

use burn::backend::ops::FloatTensorOps;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Flex, TensorMetadata};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Shape, Slice, Tensor};

use crate::engine::{Derivs, Needs};
use crate::error::{Error, Result};
use crate::model::{Activation, LAYER_NORM_EPS, Network, Signal};

/// The weights' level: what the training device's tensors are made of.
type Base = Autodiff<Flex>;
/// Float primitive of a level.
type Prim<L> = <L as burn::backend::BackendTypes>::FloatTensorPrimitive;

/// Highest derivative order the engine nests for (the paper's problems need 1, 2 and 4).
pub const MAX_ORDER: usize = 4;

/// A level of the autodiff tower, [`Base`] at the bottom.
pub(crate) trait Level: Backend {
    /// A base tensor as a constant on this level (its base graph kept).
    fn lift(t: Prim<Base>) -> Prim<Self>;
    /// A tensor of this level seen on the base level (its lower graphs kept).
    fn lower(t: Prim<Self>) -> Prim<Base>;
    /// A coordinate: constant on the base level, a leaf that requires grad on every level above.
    fn leaf(t: Prim<Base>) -> Prim<Self>;
    /// One backward pass per level down to the base: chain `c`'s current derivative `cur[c]`
    /// is differentiated along `chains[c].dirs[depth]`; every result is pushed to `out[c]`.
    fn descend(
        chains: &[Chain],
        cur: Vec<Option<Prim<Self>>>,
        leaves: Vec<Vec<Prim<Self>>>,
        depth: usize,
        out: &mut [Vec<Prim<Base>>],
    );
}

impl Level for Base {
    fn lift(t: Prim<Base>) -> Prim<Self> {
        t
    }

    fn lower(t: Prim<Self>) -> Prim<Base> {
        t
    }

    fn leaf(t: Prim<Base>) -> Prim<Self> {
        t
    }

    fn descend(
        _: &[Chain],
        cur: Vec<Option<Prim<Self>>>,
        _: Vec<Vec<Prim<Self>>>,
        _: usize,
        _: &mut [Vec<Prim<Base>>],
    ) {
        debug_assert!(cur.iter().all(Option::is_none), "tower too short");
    }
}

impl<M: Level> Level for Autodiff<M> {
    fn lift(t: Prim<Base>) -> Prim<Self> {
        Self::from_inner(M::lift(t))
    }

    fn lower(t: Prim<Self>) -> Prim<Base> {
        M::lower(Self::inner(t))
    }

    fn leaf(t: Prim<Base>) -> Prim<Self> {
        Self::float_set_require_grad(Self::from_inner(M::leaf(t)), true)
    }

    fn descend(
        chains: &[Chain],
        cur: Vec<Option<Prim<Self>>>,
        leaves: Vec<Vec<Prim<Self>>>,
        depth: usize,
        out: &mut [Vec<Prim<Base>>],
    ) {
        let Some(root) = cur
            .iter()
            .flatten()
            .map(|t| Self::float_sum(t.clone()))
            .reduce(Self::float_add)
        else {
            return;
        };
        let grads = Self::backward(root);
        let mut next = Vec::with_capacity(cur.len());
        for (c, t) in cur.into_iter().enumerate() {
            let Some(t) = t else {
                next.push(None);
                continue;
            };
            let axis = chains[c].dirs[depth];
            // No gradient means no path from the leaf in the recorded graph: the derivative is
            // identically zero there (e.g. ReLU's second derivative), not missing.
            let d = Self::grad(&leaves[c][axis], &grads)
                .unwrap_or_else(|| M::float_mul_scalar(Self::inner(t), 0.0.into()));
            out[c].push(M::lower(d.clone()));
            next.push((chains[c].dirs.len() > depth + 1).then_some(d));
        }
        let inner = leaves
            .into_iter()
            .map(|l| l.into_iter().map(Self::inner).collect())
            .collect();
        M::descend(chains, next, inner, depth + 1, out);
    }
}

/// One derivative chain: a network head differentiated along `dirs` (axis indices), one order
/// per level; every intermediate derivative is returned too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Output column (0: solution, 1: parameter).
    pub head: usize,
    /// Axes, outermost derivative first.
    pub dirs: Vec<usize>,
}

impl Chain {
    fn new(head: usize, dirs: &[usize]) -> Self {
        Self {
            head,
            dirs: dirs.to_vec(),
        }
    }
}

/// The chains a residual's needs take on `dims` axes (0 = x, 1 = y). The biharmonic takes
/// ∂ₓₓₓₓ + 2∂ₓₓᵧᵧ + ∂ᵧᵧᵧᵧ as a PyTorch PINN spells it; the Laplacian and gradients are read off
/// the same chains' lower orders.
pub fn chains(needs: Needs, dims: usize) -> Vec<Chain> {
    let mut v = Vec::new();
    if dims == 1 {
        if needs.order() > 0 {
            v.push(Chain::new(0, &vec![0; needs.order()]));
        }
        return v;
    }
    if needs.bih {
        v.extend([
            Chain::new(0, &[0, 0, 0, 0]),
            Chain::new(0, &[1, 1, 1, 1]),
            Chain::new(0, &[0, 0, 1, 1]),
        ]);
    } else if needs.lap {
        v.extend([Chain::new(0, &[0, 0]), Chain::new(0, &[1, 1])]);
    } else if needs.grad {
        v.extend([Chain::new(0, &[0]), Chain::new(0, &[1])]);
    }
    if needs.grad_p {
        v.extend([Chain::new(1, &[0]), Chain::new(1, &[1])]);
    }
    v
}

/// A signal on level `L`: what the networks' forward code runs on for this engine.
#[derive(Debug, Clone)]
pub(crate) struct Nested<L: Level> {
    t: Prim<L>,
    device: Device,
}

/// The base primitive of a training-device tensor (parameters keep their autodiff identity).
fn base<const D: usize>(t: Tensor<D>) -> Prim<Base> {
    t.try_into_primitive::<Base>()
        .expect("recursive engine: tensors live on the CPU autodiff device (checked on entry)")
}

impl<L: Level> Nested<L> {
    fn wrap(&self, t: Prim<L>) -> Self {
        Self {
            t,
            device: self.device.clone(),
        }
    }

    fn lifted<const D: usize>(t: Tensor<D>) -> Prim<L> {
        L::lift(base(t))
    }

    fn row(t: Tensor<1>) -> Prim<L> {
        let n = t.dims()[0];
        L::float_reshape(Self::lifted(t), Shape::new([1, n]))
    }
}

impl<L: Level> Signal for Nested<L> {
    fn linear(&self, layer: &Linear) -> Self {
        let y = L::float_matmul(self.t.clone(), Self::lifted(layer.weight.val()));
        self.wrap(match &layer.bias {
            Some(b) => L::float_add(y, Self::row(b.val())),
            None => y,
        })
    }

    fn activate(&self, a: Activation) -> Self {
        self.wrap(match a {
            Activation::Tanh => L::float_tanh(self.t.clone()),
            Activation::Sin => L::float_sin(self.t.clone()),
            Activation::Relu => L::float_clamp_min(self.t.clone(), 0.0.into()),
        })
    }

    fn sin(&self) -> Self {
        self.wrap(L::float_sin(self.t.clone()))
    }

    fn cos(&self) -> Self {
        self.wrap(L::float_cos(self.t.clone()))
    }

    fn add(&self, other: &Self) -> Self {
        self.wrap(L::float_add(self.t.clone(), other.t.clone()))
    }

    fn scale(&self, s: f64) -> Self {
        self.wrap(L::float_mul_scalar(self.t.clone(), s.into()))
    }

    fn layer_norm(&self, layer: &LayerNorm) -> Self {
        let x = self.t.clone();
        let centred = L::float_sub(x.clone(), L::float_mean_dim(x, 1));
        let var = L::float_mean_dim(L::float_mul(centred.clone(), centred.clone()), 1);
        let denom = L::float_sqrt(L::float_add_scalar(var, LAYER_NORM_EPS.into()));
        let out = L::float_mul(L::float_div(centred, denom), Self::row(layer.gamma.val()));
        self.wrap(match &layer.beta {
            Some(b) => L::float_add(out, Self::row(b.val())),
            None => out,
        })
    }

    fn cat(parts: &[Self]) -> Self {
        parts[0].wrap(L::float_cat(parts.iter().map(|p| p.t.clone()).collect(), 1))
    }

    fn columns(&self, start: usize, len: usize) -> Self {
        self.wrap(L::float_slice(
            self.t.clone(),
            &[Slice::from(..), Slice::from(start..start + len)],
        ))
    }

    fn exp(&self) -> Self {
        self.wrap(L::float_exp(self.t.clone()))
    }

    fn recip(&self) -> Self {
        self.wrap(L::float_recip(self.t.clone()))
    }

    fn mul(&self, other: &Self) -> Self {
        self.wrap(L::float_mul(self.t.clone(), other.t.clone()))
    }

    fn affine(&self, a: f64, b: f64) -> Self {
        self.wrap(L::float_add_scalar(
            L::float_mul_scalar(self.t.clone(), a.into()),
            b.into(),
        ))
    }

    fn mul_tensor(&self, t: &Tensor<2>) -> Self {
        self.wrap(L::float_mul(self.t.clone(), Self::lifted(t.clone())))
    }

    fn matmul(&self, m: &Tensor<2>) -> Self {
        self.wrap(L::float_matmul(self.t.clone(), Self::lifted(m.clone())))
    }

    fn device(&self) -> Device {
        self.device.clone()
    }
}

/// Derivatives of the network's heads by recursive reverse mode, in network units: `u`, `p`
/// are the raw heads and the derivatives are taken along the physical coordinates `coords`
/// ([N, 1] each, x first), which the network sees mapped by `normalise` (scale, offset).
/// Fills `u`, `p` and whatever `needs` asks for.
pub fn derivatives(
    model: &Network,
    coords: &[Tensor<2>],
    normalise: &[(f64, f64)],
    needs: Needs,
) -> Result<Derivs> {
    let chains = chains(needs, coords.len());
    let order = chains.iter().map(|c| c.dirs.len()).max().unwrap_or(0);
    let base_coords = coords
        .iter()
        .map(|c| {
            c.clone().try_into_primitive::<Base>().map_err(|e| {
                Error::Backend(format!(
                    "the recursive engine runs on the CPU backend (flex) only: {e:?}"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let device = coords[0].device();
    let (values, raw) = match order {
        0 => run::<Base>(model, base_coords, normalise, &chains, device),
        1 => run::<Autodiff<Base>>(model, base_coords, normalise, &chains, device),
        2 => run::<Autodiff<Autodiff<Base>>>(model, base_coords, normalise, &chains, device),
        3 => run::<Autodiff<Autodiff<Autodiff<Base>>>>(
            model,
            base_coords,
            normalise,
            &chains,
            device,
        ),
        4 => run::<Autodiff<Autodiff<Autodiff<Autodiff<Base>>>>>(
            model,
            base_coords,
            normalise,
            &chains,
            device,
        ),
        _ => {
            return Err(Error::Invalid(format!(
                "recursive autodiff nests up to order {MAX_ORDER}, asked for {order}"
            )));
        }
    };
    let wrap = |t: Prim<Base>| {
        let t: Tensor<2> = Tensor::from_primitive::<Base>(t);
        let n = t.dims()[0];
        t.reshape([n])
    };
    let head = |j: usize| {
        wrap(Base::float_slice(
            values.clone(),
            &[Slice::from(..), Slice::from(j..j + 1)],
        ))
    };
    let mut d = Derivs {
        u: Some(head(0)),
        p: Some(head(1)),
        ..Derivs::default()
    };
    // Chains come in the order `chains` builds them; read each entry off its chain and order.
    let get = |c: usize, k: usize| wrap(raw[c][k].clone());
    if coords.len() == 1 {
        if order > 0 {
            d.u_x = Some(get(0, 0));
        }
        return Ok(d);
    }
    if needs.bih || needs.lap || needs.grad {
        d.u_x = Some(get(0, 0));
        d.u_y = Some(get(1, 0));
    }
    if needs.bih || needs.lap {
        d.lap = Some(get(0, 1) + get(1, 1));
    }
    if needs.bih {
        d.bih = Some(get(0, 3) + get(1, 3) + get(2, 3) * 2.0);
    }
    if needs.grad_p {
        let first = chains.len() - 2;
        d.p_x = Some(get(first, 0));
        d.p_y = Some(get(first + 1, 0));
    }
    Ok(d)
}

/// Builds the tower to level `T`, runs the network once on one copy of the points per chain,
/// and descends. Returns the heads' values on the base level ([N, heads]) and, per chain, its
/// derivatives of orders 1, 2, … ([N, 1] each).
fn run<T: Level>(
    model: &Network,
    coords: Vec<Prim<Base>>,
    normalise: &[(f64, f64)],
    chains: &[Chain],
    device: Device,
) -> (Prim<Base>, Vec<Vec<Prim<Base>>>) {
    let n = coords[0].shape().num_elements();
    let copies = chains.len().max(1);
    let leaves: Vec<Vec<Prim<T>>> = (0..copies)
        .map(|_| coords.iter().map(|c| T::leaf(c.clone())).collect())
        .collect();
    let inputs: Vec<Nested<T>> = normalise
        .iter()
        .enumerate()
        .map(|(k, &(s, o))| {
            let parts = leaves
                .iter()
                .map(|l| T::float_add_scalar(T::float_mul_scalar(l[k].clone(), s.into()), o.into()))
                .collect();
            Nested {
                t: T::float_cat(parts, 0),
                device: device.clone(),
            }
        })
        .collect();
    let out = model.forward(&inputs).t;
    let cur = chains
        .iter()
        .enumerate()
        .map(|(c, ch)| {
            (!ch.dirs.is_empty()).then(|| {
                T::float_slice(
                    out.clone(),
                    &[
                        Slice::from(c * n..(c + 1) * n),
                        Slice::from(ch.head..ch.head + 1),
                    ],
                )
            })
        })
        .collect();
    let values = T::lower(T::float_slice(out, &[Slice::from(0..n), Slice::from(..)]));
    let mut raw = vec![Vec::new(); chains.len()];
    T::descend(chains, cur, leaves, 0, &mut raw);
    (values, raw)
}
