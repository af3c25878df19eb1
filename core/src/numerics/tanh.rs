//! tanh, the networks' activation, and a layer's LayerNorm + tanh, fused on the CPU.
//!
//! burn's `flex` backend maps each element through libm's scalar `tanhf`, and its autodiff op
//! recomputes tanh from the input in the backward pass: measured with `perf`, 41 % of a 3×64
//! mollifier step on 64² points went to `tanhf`/`expm1f`. Here a flex tensor goes through
//! mollify-kernels' 8-lane rational tanh, and the autodiff op keeps its output y for the
//! backward pass (dy = (1 − y²)·dx), so tanh is evaluated once per layer and level. Every level
//! of the recursive engine's nested-autodiff tower uses the same op, which is differentiable
//! again because the backward pass runs on the level below. Other devices (wgpu) keep burn's
//! tanh.
//!
//! LayerNorm composed from tensor ops is about ten passes over the activations forward and
//! twice that backward; [`layer_norm_tanh`] is one kernel each way on flex and `Autodiff<Flex>`
//! (the training device), with the gradients of x, γ and β written out by hand. Its backward
//! pass is not differentiable again, which only the recursive engine would need: that engine
//! has its own layers over primitives.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata};
use burn::tensor::{DType, Tensor, TensorData};

/// Float primitive of a backend.
pub(crate) type Prim<B> = <B as burn::backend::BackendTypes>::FloatTensorPrimitive;

/// A backend whose tanh is vectorised (flex) or records the output-based backward (autodiff
/// over such a backend).
pub(crate) trait FastTanh: Backend {
    /// Elementwise tanh.
    fn fast_tanh(x: Prim<Self>) -> Prim<Self>;

    /// tanh's backward pass from its output y: g·(1 − y²) = g − g·y·y, in tensor ops (which
    /// an autodiff backend records, so a level below can be differentiated again).
    fn tanh_backward(g: Prim<Self>, y: Prim<Self>) -> Prim<Self> {
        composed_tanh_backward::<Self>(g, y)
    }
}

/// g − g·y·y in tensor ops: the default of [`FastTanh::tanh_backward`] and flex's fallback.
fn composed_tanh_backward<B: Backend>(g: Prim<B>, y: Prim<B>) -> Prim<B> {
    let gy2 = B::float_mul(B::float_mul(g.clone(), y.clone()), y);
    B::float_sub(g, gy2)
}

impl FastTanh for Flex {
    fn fast_tanh(x: Prim<Self>) -> Prim<Self> {
        let Some(c) = contiguous(&x) else {
            return Flex::float_tanh(x);
        };
        Prim::<Self>::from_data(TensorData::new(mollify_kernels::tanh(slice(&c)), x.shape()))
    }

    /// One pass instead of three tensor ops, each allocating its output.
    fn tanh_backward(g: Prim<Self>, y: Prim<Self>) -> Prim<Self> {
        let (Some(gc), Some(yc)) = (contiguous(&g), contiguous(&y)) else {
            return composed_tanh_backward::<Flex>(g, y);
        };
        let dx = mollify_kernels::tanh_backward(slice(&gc), slice(&yc));
        Prim::<Self>::from_data(TensorData::new(dx, g.shape()))
    }
}

/// The autodiff node of tanh: its state is the output y.
#[derive(Debug)]
struct TanhNode;

impl<B: FastTanh> Backward<B, 1> for TanhNode {
    type State = Prim<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |g| B::tanh_backward(g, y));
    }
}

impl<M: FastTanh> FastTanh for Autodiff<M> {
    fn fast_tanh(x: Prim<Self>) -> Prim<Self> {
        let (inner, guard) = x.into_parts();
        let y = M::fast_tanh(inner);
        match TanhNode
            .prepare::<NoCheckpointing>([guard])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

/// tanh of a tensor: vectorised on the CPU (plain or autodiff), burn's own elsewhere.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if let Ok(p) = x.clone().try_into_primitive::<Autodiff<Flex>>() {
        return Tensor::from_primitive::<Autodiff<Flex>>(Autodiff::<Flex>::fast_tanh(p));
    }
    if let Ok(p) = x.clone().try_into_primitive::<Flex>() {
        return Tensor::from_primitive::<Flex>(Flex::fast_tanh(p));
    }
    x.tanh()
}

/// A flex tensor made contiguous, if it holds f32 (read with [`slice`]).
pub(super) fn contiguous(x: &Prim<Flex>) -> Option<Prim<Flex>> {
    (x.dtype() == DType::F32).then(|| x.clone().to_contiguous())
}

/// The values of a tensor from [`contiguous`], row-major.
pub(super) fn slice(x: &Prim<Flex>) -> &[f32] {
    x.as_slice::<f32>()
        .expect("a contiguous f32 tensor has a slice view")
}

/// The autodiff node of LayerNorm + tanh over x, γ and β.
#[derive(Debug)]
struct NormTanhNode;

/// What the backward pass needs: the output, x̂, 1/σ of each row and γ (contiguous).
#[derive(Debug, Clone)]
struct NormTanhState {
    y: Prim<Flex>,
    xhat: Vec<f32>,
    rstd: Vec<f32>,
    gamma: Prim<Flex>,
}

impl Backward<Flex, 3> for NormTanhNode {
    type State = NormTanhState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = contiguous(&grads.consume::<Flex>(&ops.node)).expect("an f32 gradient");
        let s = ops.state;
        let (dx, dgamma, dbeta) = mollify_kernels::norm_tanh_backward(
            slice(&dy),
            slice(&s.y),
            &s.xhat,
            &s.rstd,
            slice(&s.gamma),
        );
        let n = dgamma.len();
        for (node, grad, shape) in [
            (node_x, dx, s.y.shape()),
            (node_gamma, dgamma, [n].into()),
            (node_beta, dbeta, [n].into()),
        ] {
            if let Some(node) = node {
                let grad = Prim::<Flex>::from_data(TensorData::new(grad, shape));
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// tanh(LayerNorm(x)) with the layer's γ and β, as one kernel, for f32 tensors on flex or
/// `Autodiff<Flex>`; None elsewhere (the caller composes it from tensor ops).
pub fn layer_norm_tanh(
    x: &Tensor<2>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    eps: f64,
) -> Option<Tensor<2>> {
    let n = x.dims()[1];
    let kernel = |x: &Prim<Flex>, gamma: &Prim<Flex>, beta: &Prim<Flex>| {
        let (xc, gamma, beta) = (contiguous(x)?, contiguous(gamma)?, contiguous(beta)?);
        let out =
            mollify_kernels::norm_tanh(slice(&xc), n, slice(&gamma), slice(&beta), eps as f32);
        let y = Prim::<Flex>::from_data(TensorData::new(out.y, x.shape()));
        let state = NormTanhState {
            y: y.clone(),
            xhat: out.xhat,
            rstd: out.rstd,
            gamma,
        };
        Some((y, state))
    };
    fused3(NormTanhNode, x, &gamma, &beta, kernel)
}

/// Runs a fused CPU op of three inputs: `kernel` maps their flex primitives to the output and
/// the state its autodiff `node` keeps for the backward pass, recorded on `Autodiff<Flex>`.
/// None off flex, or where `kernel` declines (not f32).
pub(super) fn fused3<N, const A: usize, const B: usize, const C: usize>(
    node: N,
    a: &Tensor<A>,
    b: &Tensor<B>,
    c: &Tensor<C>,
    kernel: impl FnOnce(&Prim<Flex>, &Prim<Flex>, &Prim<Flex>) -> Option<(Prim<Flex>, N::State)>,
) -> Option<Tensor<2>>
where
    N: Backward<Flex, 3>,
{
    if let (Ok(a), Ok(b), Ok(c)) = (
        a.clone().try_into_primitive::<Autodiff<Flex>>(),
        b.clone().try_into_primitive::<Autodiff<Flex>>(),
        c.clone().try_into_primitive::<Autodiff<Flex>>(),
    ) {
        let ((a, ga), (b, gb), (c, gc)) = (a.into_parts(), b.into_parts(), c.into_parts());
        let (y, state) = kernel(&a, &b, &c)?;
        let y = match node
            .prepare::<NoCheckpointing>([ga, gb, gc])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(state, y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        };
        return Some(Tensor::from_primitive::<Autodiff<Flex>>(y));
    }
    let (a, b, c) = (
        a.clone().try_into_primitive::<Flex>().ok()?,
        b.clone().try_into_primitive::<Flex>().ok()?,
        c.clone().try_into_primitive::<Flex>().ok()?,
    );
    let (y, _) = kernel(&a, &b, &c)?;
    Some(Tensor::from_primitive::<Flex>(y))
}

/// A tensor's values as f32 (the fused ops' tests).
#[cfg(test)]
pub(super) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::LayerNormConfig;
    use burn::tensor::Device;

    use super::*;
    use crate::model::{Activation, LAYER_NORM_EPS, Signal};

    #[test]
    fn tanh_and_its_gradient_match_burns() {
        // 5 × 13 values (lane tails) across tanh's regimes; L = Σ w·tanh(x).
        let device = Device::flex().autodiff();
        let tensor = |f: fn(usize) -> f32| {
            let v: Vec<f32> = (0..5 * 13).map(f).collect();
            Tensor::<2>::from_data(TensorData::new(v, [5, 13]), &device)
        };
        let x = tensor(|i| (i as f32 * 0.37).sin() * (0.2 + 0.1 * i as f32)).require_grad();
        let w = tensor(|i| (i as f32 * 0.91).cos());
        let run = |y: Tensor<2>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            [values(y), values(x.grad(&grads).expect("a gradient"))]
        };
        let ours = run(tanh(x.clone()));
        let burns = run(x.clone().tanh());
        for (what, (a, b)) in ["y", "dx"].iter().zip(ours.iter().zip(&burns)) {
            assert_eq!(a.len(), b.len());
            for (a, b) in a.iter().zip(b) {
                assert!(
                    (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                    "{what}: {a} vs burn's {b}"
                );
            }
        }
    }

    /// A row width that is not a multiple of the kernel's 8 lanes.
    const N: usize = 13;
    const ROWS: usize = 5;

    #[test]
    fn fused_layer_norm_tanh_matches_the_composed_ops_and_their_gradients() {
        let device = Device::flex().autodiff();
        let tensor = |v: Vec<f32>, shape: Vec<usize>| {
            Tensor::<2>::from_data(TensorData::new(v, shape), &device)
        };
        let row = |f: fn(usize) -> f32| {
            Tensor::<1>::from_data(
                TensorData::new((0..N).map(f).collect::<Vec<_>>(), [N]),
                &device,
            )
        };
        let x = tensor(
            (0..ROWS * N)
                .map(|i| 2.0 + (i as f32 * 0.37).sin() * (1.0 + 0.1 * i as f32))
                .collect(),
            vec![ROWS, N],
        )
        .require_grad();
        let w = tensor(
            (0..ROWS * N).map(|i| (i as f32 * 0.91).cos()).collect(),
            vec![ROWS, N],
        );
        let mut layer = LayerNormConfig::new(N).init(&device);
        layer.gamma = Param::from_tensor(row(|j| 0.5 + 0.1 * j as f32));
        layer.beta = Some(Param::from_tensor(row(|j| 0.2 - 0.03 * j as f32)));
        let beta = || layer.beta.as_ref().expect("a shift").val();
        // L = Σ w·y: the output and the gradients of x, γ and β from each path.
        let run = |y: Tensor<2>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            let grad = |t: Tensor<1>| values(t.grad(&grads).expect("a gradient"));
            [
                values(y),
                values(x.grad(&grads).expect("a gradient")),
                grad(layer.gamma.val()),
                grad(beta()),
            ]
        };
        let fused = layer_norm_tanh(&x, layer.gamma.val(), beta(), LAYER_NORM_EPS)
            .expect("Autodiff<Flex> takes the fused kernel");
        let fused = run(fused);
        let composed = run(x.layer_norm(&layer).activate(Activation::Tanh));
        for (what, (f, c)) in ["y", "dx", "dγ", "dβ"]
            .iter()
            .zip(fused.iter().zip(&composed))
        {
            assert_eq!(f.len(), c.len());
            for (a, b) in f.iter().zip(c) {
                assert!(
                    (a - b).abs() <= 2e-5 * (1.0 + b.abs()),
                    "{what}: fused {a}, composed {b}"
                );
            }
        }
    }
}
