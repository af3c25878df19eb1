//! The network's forward pass on a level of the autodiff tower: [`Nested`] implements the
//! networks' `Signal` with the level's primitive ops, so one forward definition serves jets,
//! tensors and nested autodiff alike.

use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Shape, Slice, Tensor};

use super::{Base, Level, Prim};
use crate::model::{Activation, LAYER_NORM_EPS, Signal};

/// A signal on level `L`: what the networks' forward code runs on for this engine.
#[derive(Debug, Clone)]
pub(crate) struct Nested<L: Level> {
    pub(super) t: Prim<L>,
    pub(super) device: Device,
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
            Activation::Tanh => L::fast_tanh(self.t.clone()),
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
