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
use burn::backend::{Autodiff, AutodiffBackend, Flex, TensorMetadata};
use burn::tensor::{Device, Slice, Tensor};

use std::collections::BTreeSet;

use super::{
    Derivs, Engine, EngineKind, Fields, Net, Request, Setup, assemble, check_dims, known_exact,
};
use crate::error::{Error, Result};
use crate::model::Network;
use crate::numerics::mollifier::Deriv2;
use crate::numerics::tanh::{FastTanh, Prim};
use signal::Nested;

mod signal;

/// The weights' level: what the training device's tensors are made of.
type Base = Autodiff<Flex>;

/// Highest derivative order the engine nests for (the paper's problems need 1, 2 and 4).
pub const MAX_ORDER: usize = 4;

/// A level of the autodiff tower, [`Base`] at the bottom.
pub(crate) trait Level: FastTanh {
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

/// The axes of the partial ∂ₓᵃ∂ᵧᵇ, outermost first (0 = x, 1 = y).
fn axes([a, b]: [usize; 2]) -> Vec<usize> {
    let mut dirs = vec![0; a];
    dirs.extend(std::iter::repeat_n(1, b));
    dirs
}

/// The partials (head, axes) a request is assembled from: one per term of each derivative.
fn partials(request: &Request) -> Vec<Chain> {
    let heads = [(0, &request.u), (1, &request.p)];
    let mut v: Vec<Chain> = heads
        .iter()
        .flat_map(|(head, keys)| keys.iter().map(move |d| (*head, *d)))
        .flat_map(|(head, d)| {
            d.terms()
                .iter()
                .map(move |(_, ab)| Chain::new(head, &axes(*ab)))
        })
        .filter(|c| !c.dirs.is_empty())
        .collect();
    v.sort_by_key(|c| (c.head, std::cmp::Reverse(c.dirs.len()), c.dirs.clone()));
    v.dedup();
    v
}

/// The chains a request takes (axes 0 = x, 1 = y): its partials, less those read
/// off a longer chain's lower orders (∂ₓ and ∂ₓₓ come with ∂ₓₓₓₓ). The biharmonic takes
/// ∂ₓₓₓₓ + 2∂ₓₓᵧᵧ + ∂ᵧᵧᵧᵧ as a PyTorch PINN spells it.
pub fn chains(request: &Request) -> Vec<Chain> {
    let all = partials(request);
    all.iter()
        .filter(|c| {
            !all.iter().any(|o| {
                o.head == c.head && o.dirs.len() > c.dirs.len() && o.dirs.starts_with(&c.dirs)
            })
        })
        .cloned()
        .collect()
}

/// Derivatives of the network's heads by recursive reverse mode, in network units: `u`, `p`
/// are the raw heads and the derivatives are taken along the physical coordinates `coords`
/// ([N, 1] each, x first), which the network sees mapped by `normalise` (scale, offset).
/// Fills the values of `u` and `p` and whatever `request` asks for.
pub fn derivatives(
    model: &Network,
    coords: &[Tensor<2>],
    normalise: &[(f64, f64)],
    request: &Request,
) -> Result<Derivs> {
    check_dims(coords.len(), request.u.iter().chain(&request.p).copied())?;
    let chains = chains(request);
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
    let head_values = |j: usize| {
        wrap(Base::float_slice(
            values.clone(),
            &[Slice::from(..), Slice::from(j..j + 1)],
        ))
    };
    // ∂ₓᵃ∂ᵧᵇ of a head: its values for a = b = 0, else entry a + b − 1 of any chain that
    // starts with its axes.
    let partial = |head: usize, ab: [usize; 2]| {
        let dirs = axes(ab);
        if dirs.is_empty() {
            return head_values(head);
        }
        let c = chains
            .iter()
            .position(|c| c.head == head && c.dirs.starts_with(&dirs))
            .expect("every requested partial has a chain");
        wrap(raw[c][dirs.len() - 1].clone())
    };
    let field = |head: usize, keys: &BTreeSet<Deriv2>, what: &'static str| {
        let mut f = Fields::new(what);
        f.insert(Deriv2::U, head_values(head));
        for &d in keys {
            f.insert(d, assemble(d, |ab| Ok(partial(head, ab)))?);
        }
        Ok::<_, Error>(f)
    };
    Ok(Derivs {
        u_data: None,
        u: field(0, &request.u, "u")?,
        p: field(1, &request.p, "p")?,
    })
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

/// The recursive engine: [`derivatives`] in data units, on every grid point.
#[derive(Debug)]
pub(super) struct Recursive {
    request: Request,
    device: burn::tensor::Device,
}

impl Recursive {
    pub(super) fn new(setup: &Setup<'_>) -> Self {
        Self {
            request: setup.request.clone(),
            device: setup.device.clone(),
        }
    }
}

impl Engine for Recursive {
    fn margin(&self) -> [usize; 2] {
        [0, 0]
    }

    fn derivatives(&self, net: &Net<'_>) -> Result<Derivs> {
        let raw = derivatives(net.model, net.points.coords(), net.normalise, &self.request)?;
        let (std, mean) = net.scale;
        // Network units → data units: u = std·head + mean, p = head + 1.
        Ok(Derivs {
            u_data: None,
            u: raw.u.map(|d, t| {
                if d == Deriv2::U {
                    t * std + mean
                } else {
                    t * std
                }
            }),
            p: raw.p.map(|d, t| if d == Deriv2::U { t + 1.0 } else { t }),
        })
    }

    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields> {
        known_exact(values, keys, exact, EngineKind::Recursive, &self.device)
    }
}
