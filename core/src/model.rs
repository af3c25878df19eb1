//! Networks, written once over [`Signal`]: the same forward code runs on plain tensors (the
//! mollifier and finite-difference engines evaluate the network on grid points) and on
//! Taylor-mode [`Jet`]s (the autodiff baseline propagates derivatives through every layer).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::jet::Jet;

/// LayerNorm's ε, shared by the tensor and jet paths so both compute the same function.
const LAYER_NORM_EPS: f64 = 1e-5;

/// What a layer's input can be: a [batch, features] tensor or a jet of such tensors.
pub trait Signal: Clone {
    /// x·W + b.
    fn linear(&self, layer: &Linear) -> Self;
    /// Elementwise activation.
    fn activate(&self, a: Activation) -> Self;
    /// sin
    fn sin(&self) -> Self;
    /// cos
    fn cos(&self) -> Self;
    /// Sum.
    fn add(&self, other: &Self) -> Self;
    /// Product by a constant.
    fn scale(&self, s: f64) -> Self;
    /// LayerNorm over features with the layer's learned scale and shift.
    fn layer_norm(&self, layer: &LayerNorm) -> Self;
    /// Concatenation along features.
    fn cat(parts: &[Self]) -> Self;
    /// Feature column `j` as a [batch, 1] signal (an output head).
    fn column(&self, j: usize) -> Self;
}

/// Activation functions of the paper's networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// tanh (heat, reaction–diffusion).
    #[default]
    Tanh,
    /// sin (SIREN-like).
    Sin,
    /// ReLU (the paper's Langevin PINN); its second and higher derivatives vanish.
    Relu,
}

impl Signal for Tensor<2> {
    fn linear(&self, layer: &Linear) -> Self {
        layer.forward(self.clone())
    }

    fn activate(&self, a: Activation) -> Self {
        match a {
            Activation::Tanh => self.clone().tanh(),
            Activation::Sin => self.clone().sin(),
            Activation::Relu => self.clone().clamp_min(0.0),
        }
    }

    fn sin(&self) -> Self {
        self.clone().sin()
    }

    fn cos(&self) -> Self {
        self.clone().cos()
    }

    fn add(&self, other: &Self) -> Self {
        self.clone() + other.clone()
    }

    fn scale(&self, s: f64) -> Self {
        self.clone() * s
    }

    fn layer_norm(&self, layer: &LayerNorm) -> Self {
        let centred = self.clone() - self.clone().mean_dim(1);
        let var = (centred.clone() * centred.clone()).mean_dim(1);
        let normed = centred / (var + LAYER_NORM_EPS).sqrt();
        let out = normed * layer.gamma.val().unsqueeze();
        match &layer.beta {
            Some(b) => out + b.val().unsqueeze(),
            None => out,
        }
    }

    fn cat(parts: &[Self]) -> Self {
        Tensor::cat(parts.to_vec(), 1)
    }

    fn column(&self, j: usize) -> Self {
        self.clone().narrow(1, j, 1)
    }
}

impl Signal for Jet<2> {
    fn linear(&self, layer: &Linear) -> Self {
        Jet::linear(
            self,
            &layer.weight.val(),
            layer.bias.as_ref().map(|b| b.val()).as_ref(),
        )
    }

    fn activate(&self, a: Activation) -> Self {
        match a {
            Activation::Tanh => self.tanh(),
            Activation::Sin => Jet::sin(self),
            Activation::Relu => self.relu(),
        }
    }

    fn sin(&self) -> Self {
        Jet::sin(self)
    }

    fn cos(&self) -> Self {
        Jet::cos(self)
    }

    fn add(&self, other: &Self) -> Self {
        Jet::add(self, other)
    }

    fn scale(&self, s: f64) -> Self {
        Jet::scale(self, s)
    }

    fn layer_norm(&self, layer: &LayerNorm) -> Self {
        let gamma: Tensor<2> = layer.gamma.val().unsqueeze();
        let normed = self
            .normalize(LAYER_NORM_EPS)
            .map_linear(|c| c * gamma.clone(), |c| c);
        match &layer.beta {
            Some(b) => normed.map_linear(|c| c, |c| c + b.val().unsqueeze()),
            None => normed,
        }
    }

    fn cat(parts: &[Self]) -> Self {
        Jet::cat(parts)
    }

    fn column(&self, j: usize) -> Self {
        self.map_linear(|c| c.narrow(1, j, 1), |c| c)
    }
}

/// γ(x) = [x, sin(ωⱼx), cos(ωⱼx)] per input coordinate, ωⱼ equally spaced in (0, ω_max].
fn fourier<S: Signal>(inputs: &[S], omegas: &[f64]) -> S {
    let mut parts = Vec::with_capacity(inputs.len() * (1 + 2 * omegas.len()));
    for x in inputs {
        parts.push(x.clone());
        for &w in omegas {
            let wx = x.scale(w);
            parts.push(wx.sin());
            parts.push(wx.cos());
        }
    }
    S::cat(&parts)
}

/// The paper's upgraded PINN: Fourier features, then residual blocks h ← h + σ(LN(W·h + b)).
#[derive(Config, Debug)]
pub struct PinnConfig {
    /// Input coordinates (1 for time, 2 for the plane).
    pub inputs: usize,
    /// Output heads: the solution field (u, or g for the mollifier engine) and the parameter.
    #[config(default = 2)]
    pub outputs: usize,
    /// Hidden layers (the input layer included).
    #[config(default = 4)]
    pub depth: usize,
    /// Hidden width.
    #[config(default = 64)]
    pub width: usize,
    /// Activation.
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Fourier frequencies per coordinate (0 disables the features).
    #[config(default = 6)]
    pub fourier: usize,
    /// Highest Fourier frequency, in radians per unit of the normalised coordinate ([−1, 1]).
    #[config(default = 6.0)]
    pub fourier_max: f64,
}

/// The PINN module.
#[derive(Module, Debug)]
pub struct Pinn {
    input: Linear,
    hidden: Vec<Linear>,
    norms: Vec<LayerNorm>,
    output: Linear,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    omegas: Vec<f64>,
}

impl PinnConfig {
    /// Builds the network with parameters on `device` (seed it with `device.seed` first).
    pub fn init(&self, device: &Device) -> Pinn {
        let omegas: Vec<f64> = (1..=self.fourier)
            .map(|j| self.fourier_max * j as f64 / self.fourier as f64)
            .collect();
        let features = self.inputs * (1 + 2 * omegas.len());
        Pinn {
            input: LinearConfig::new(features, self.width).init(device),
            hidden: (1..self.depth)
                .map(|_| LinearConfig::new(self.width, self.width).init(device))
                .collect(),
            norms: (1..self.depth)
                .map(|_| LayerNormConfig::new(self.width).init(device))
                .collect(),
            output: LinearConfig::new(self.width, self.outputs).init(device),
            activation: self.activation,
            omegas,
        }
    }
}

impl Pinn {
    /// Forward pass on normalised coordinates (each a [batch, 1] signal); returns [batch, outputs].
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        let mut h = fourier(coords, &self.omegas)
            .linear(&self.input)
            .activate(self.activation);
        for (layer, norm) in self.hidden.iter().zip(&self.norms) {
            h = h.add(&h.linear(layer).layer_norm(norm).activate(self.activation));
        }
        h.linear(&self.output)
    }
}
