//! The paper's upgraded PINN (App. A.1): Fourier features, residual connections, LayerNorm.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::Device;

use super::{Activation, Signal};

/// γ(x) = [x, sin(ωⱼx), cos(ωⱼx)] per input coordinate, ωⱼ equally spaced in (0, ω_max].
pub(crate) fn fourier<S: Signal>(inputs: &[S], omegas: &[f64]) -> S {
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

/// Highest Fourier frequency of the PINN's coordinate encoding when neither the run nor the
/// problem names one.
pub const FOURIER_MAX: f64 = 6.0;

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
    /// Highest Fourier frequency, in radians per unit of the normalised coordinate ([−1, 1]);
    /// 0 disables the features too.
    #[config(default = "FOURIER_MAX")]
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
    /// Builds the network with parameters on `device` (inside [`super::seeded`] to make them reproducible).
    pub fn init(&self, device: &Device) -> Pinn {
        let bands = if self.fourier_max > 0.0 {
            self.fourier
        } else {
            0
        };
        let omegas: Vec<f64> = (1..=bands)
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
    /// The Fourier features of normalised coordinates (each a [batch, 1] signal).
    pub fn encode<S: Signal>(&self, coords: &[S]) -> S {
        fourier(coords, &self.omegas)
    }

    /// Forward pass on normalised coordinates (each a [batch, 1] signal); returns [batch, outputs].
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        self.forward_encoded(&self.encode(coords))
    }

    /// Forward pass on [`Pinn::encode`]'s features.
    pub fn forward_encoded<S: Signal>(&self, features: &S) -> S {
        let mut h = features.linear(&self.input).activate(self.activation);
        for (layer, norm) in self.hidden.iter().zip(&self.norms) {
            h = h.add(&h.linear(layer).norm_activate(norm, self.activation));
        }
        h.linear(&self.output)
    }
}
