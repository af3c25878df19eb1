//! tanh, the networks' activation, vectorised on the CPU.
//!
//! burn's `flex` backend maps each element through libm's scalar `tanhf`, and its autodiff op
//! recomputes tanh from the input in the backward pass: measured with `perf`, 41 % of a 3×64
//! mollifier step on 64² points went to `tanhf`/`expm1f`. Here a flex tensor goes through
//! an 8-lane rational tanh ([`tanh8`]), and the autodiff op keeps its output y for the backward pass
//! (dy = (1 − y²)·dx), so tanh is evaluated once per layer and level. Every level of the
//! recursive engine's nested-autodiff tower uses the same op, which is differentiable again
//! because the backward pass runs on the level below. Other devices (wgpu) keep burn's tanh.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata};
use burn::tensor::{DType, Tensor, TensorData};
use wide::f32x8;

/// Float primitive of a backend.
pub(crate) type Prim<B> = <B as burn::backend::BackendTypes>::FloatTensorPrimitive;

/// A backend whose tanh is vectorised (flex) or records the output-based backward (autodiff
/// over such a backend).
pub(crate) trait FastTanh: Backend {
    /// Elementwise tanh.
    fn fast_tanh(x: Prim<Self>) -> Prim<Self>;
}

impl FastTanh for Flex {
    fn fast_tanh(x: Prim<Self>) -> Prim<Self> {
        if x.dtype() != DType::F32 {
            return Flex::float_tanh(x);
        }
        let shape = x.shape();
        let x = x.to_contiguous();
        let src = x
            .as_slice::<f32>()
            .expect("a contiguous f32 tensor has a slice view");
        Prim::<Self>::from_data(TensorData::new(tanh_slice(src), shape))
    }
}

/// tanh of every element, eight lanes at a time (the tail padded).
fn tanh_slice(src: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(src.len());
    let mut chunks = src.chunks_exact(8);
    for c in &mut chunks {
        let lanes: [f32; 8] = c.try_into().expect("chunks of 8");
        out.extend_from_slice(&tanh8(f32x8::new(lanes)).to_array());
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut lanes = [0.0; 8];
        lanes[..rest.len()].copy_from_slice(rest);
        out.extend_from_slice(&tanh8(f32x8::new(lanes)).to_array()[..rest.len()]);
    }
    out
}

/// tanh as the rational minimax approximation p₁₃(x)/q₆(x) that Eigen and XLA's CPU backend
/// evaluate for f32 (JAX's tanh on the CPU is this one): a few ULP from libm, no exp, no branch.
/// `wide`'s own tanh goes through exp_m1 and measured 4× slower here than this.
fn tanh8(x: f32x8) -> f32x8 {
    // The fit holds on [−7.905, 7.905], where p/q reaches ±1 within f32 rounding; beyond it
    // tanh differs from ±1 by < 3·10⁻⁷ (within the test's 4 ε), so clamping costs nothing.
    const CLAMP: f32 = 7.905_311;
    const P: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const Q: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let nan = x.is_nan();
    let x = x
        .fast_max(f32x8::splat(-CLAMP))
        .fast_min(f32x8::splat(CLAMP));
    let x2 = x * x;
    let p = P[1..]
        .iter()
        .fold(f32x8::splat(P[0]), |acc, &c| acc * x2 + f32x8::splat(c));
    let q = Q[1..]
        .iter()
        .fold(f32x8::splat(Q[0]), |acc, &c| acc * x2 + f32x8::splat(c));
    // The clamp would turn NaN into a number; a diverging run must stay visible.
    nan.select(f32x8::splat(f32::NAN), p * x / q)
}

/// The autodiff node of tanh: its state is the output y.
#[derive(Debug)]
struct TanhNode;

impl<B: Backend> Backward<B, 1> for TanhNode {
    type State = Prim<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |g| {
            // g·(1 − y²) = g − g·y²
            let gy2 = B::float_mul(B::float_mul(g.clone(), y.clone()), y);
            B::float_sub(g, gy2)
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_match_libm_to_a_few_ulp() {
        // Every regime of the kernel: tiny (tanh x ≈ x), moderate, saturated, and a tail.
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.006_1).collect();
        let ys = tanh_slice(&xs);
        assert_eq!(ys.len(), xs.len());
        for (&x, &y) in xs.iter().zip(&ys) {
            let exact = (x as f64).tanh();
            assert!(
                (y as f64 - exact).abs() <= 4.0 * f32::EPSILON as f64 * exact.abs().max(1e-30),
                "tanh({x}) = {y}, libm {exact}"
            );
        }
        let odd = tanh_slice(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]);
        assert!(odd[0].is_nan());
        assert_eq!(&odd[1..], &[1.0, -1.0, 0.0, 0.0]);
    }
}
