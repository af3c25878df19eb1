//! A dense layer y = x·W + b on the CPU as one op each way.
//!
//! burn's `Linear` is a matmul and a broadcast add forward, and backward two matmuls, a
//! reduction and the add's bookkeeping; flex allocates every matmul output as zeroed bytes and
//! then copies them into an aligned buffer, which `perf` put at a tenth of a 3×64 network's
//! step. [`linear`] writes the bias into its output and accumulates the product onto it (one
//! gemm), and its backward pass computes dx, dW and db in one node from the transposes read in
//! place. Like [`super::tanh::layer_norm_tanh`] its backward pass is not differentiable again;
//! the recursive engine has its own layers.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::{Tensor, TensorData};

use super::tanh::{Prim, contiguous, fused3, slice};

/// The autodiff node of a dense layer over x, W and b.
#[derive(Debug)]
struct LinearNode;

/// What the backward pass needs: the input and the weight (contiguous).
#[derive(Debug, Clone)]
struct LinearState {
    x: Prim<Flex>,
    weight: Prim<Flex>,
}

impl Backward<Flex, 3> for LinearNode {
    type State = LinearState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = contiguous(&grads.consume::<Flex>(&ops.node)).expect("an f32 gradient");
        let LinearState { x, weight } = ops.state;
        let (n, shapes) = (weight.shape()[1], [x.shape(), weight.shape()]);
        let (dx, dw, db) = mollify_kernels::linear_backward(
            slice(&dy),
            slice(&x),
            slice(&weight),
            n,
            node_x.is_some(),
        );
        let [x_shape, w_shape] = shapes;
        for (node, grad, shape) in [
            (node_x, dx, x_shape),
            (node_w, Some(dw), w_shape),
            (node_b, Some(db), [n].into()),
        ] {
            if let (Some(node), Some(grad)) = (node, grad) {
                let grad = Prim::<Flex>::from_data(TensorData::new(grad, shape));
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// x·W + b for x [rows, k], W [k, n] and b [n] as one kernel, for f32 tensors on flex or
/// `Autodiff<Flex>`; None elsewhere (the caller uses burn's `Linear`).
pub fn linear(x: &Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Option<Tensor<2>> {
    let rows = x.dims()[0];
    let n = weight.dims()[1];
    let kernel = |x: &Prim<Flex>, w: &Prim<Flex>, b: &Prim<Flex>| {
        let (x, weight, b) = (contiguous(x)?, contiguous(w)?, contiguous(b)?);
        let y = mollify_kernels::linear(slice(&x), rows, slice(&weight), n, Some(slice(&b)));
        let y = Prim::<Flex>::from_data(TensorData::new(y, [rows, n]));
        Some((y, LinearState { x, weight }))
    };
    fused3(LinearNode, x, &weight, &bias, kernel)
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    use super::super::tanh::values;
    use super::*;

    /// Sizes off every lane and block multiple.
    const ROWS: usize = 37;
    const K: usize = 13;
    const N: usize = 5;

    #[test]
    fn fused_linear_matches_burns_layer_and_its_gradients() {
        let device = Device::flex().autodiff();
        let tensor = |f: fn(usize) -> f32, shape: [usize; 2]| {
            let v: Vec<f32> = (0..shape[0] * shape[1]).map(f).collect();
            Tensor::<2>::from_data(TensorData::new(v, shape), &device)
        };
        let x = tensor(|i| (i as f32 * 0.37).sin() * 1.5, [ROWS, K]).require_grad();
        let w = tensor(|i| (i as f32 * 0.91).cos(), [ROWS, N]);
        let mut layer = LinearConfig::new(K, N).init(&device);
        layer.weight = Param::from_tensor(tensor(|i| 0.3 - 0.05 * (i % 11) as f32, [K, N]));
        let bias = || layer.bias.as_ref().expect("a bias").val();
        // L = Σ w·y: the output and the gradients of x, W and b from each path.
        let run = |y: Tensor<2>| {
            let grads = (y.clone() * w.clone()).sum().backward();
            [
                values(y),
                values(x.grad(&grads).expect("a gradient")),
                values(layer.weight.val().grad(&grads).expect("a gradient")),
                values(bias().grad(&grads).expect("a gradient")),
            ]
        };
        let fused = run(linear(&x, layer.weight.val(), bias()).expect("Autodiff<Flex> fuses"));
        let burn = run(layer.forward(x.clone()));
        for (what, (f, b)) in ["y", "dx", "dW", "db"].iter().zip(fused.iter().zip(&burn)) {
            assert_eq!(f.len(), b.len(), "{what}");
            for (a, b) in f.iter().zip(b) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{what}: fused {a}, burn {b}"
                );
            }
        }
    }
}
