//! Networks, written once over [`Signal`]: the same forward code runs on plain tensors (the
//! mollifier and finite-difference engines evaluate the network on grid points) and on
//! Taylor-mode [`Jet`]s (the autodiff baseline propagates derivatives through every layer).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
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
    /// Elementwise product (gates).
    fn mul(&self, other: &Self) -> Self;
    /// a·x + b elementwise.
    fn affine(&self, a: f64, b: f64) -> Self;
    /// Product with a [1, features] or [1, 1] tensor broadcast over the batch.
    fn mul_tensor(&self, t: &Tensor<2>) -> Self;
    /// x·M for a constant (untrained) matrix M of shape [in, out].
    fn matmul(&self, m: &Tensor<2>) -> Self;
    /// The device the signal lives on.
    fn device(&self) -> Device;
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

    fn mul(&self, other: &Self) -> Self {
        self.clone() * other.clone()
    }

    fn affine(&self, a: f64, b: f64) -> Self {
        self.clone() * a + b
    }

    fn mul_tensor(&self, t: &Tensor<2>) -> Self {
        self.clone() * t.clone()
    }

    fn matmul(&self, m: &Tensor<2>) -> Self {
        self.clone().matmul(m.clone())
    }

    fn device(&self) -> Device {
        Tensor::device(self)
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

    fn mul(&self, other: &Self) -> Self {
        Jet::mul(self, other)
    }

    fn affine(&self, a: f64, b: f64) -> Self {
        self.map_linear(|c| c * a, |c| c + b)
    }

    fn mul_tensor(&self, t: &Tensor<2>) -> Self {
        self.map_linear(|c| c * t.clone(), |c| c)
    }

    fn matmul(&self, m: &Tensor<2>) -> Self {
        Jet::linear(self, m, None)
    }

    fn device(&self) -> Device {
        self.value().device()
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

/// PirateNet (Wang et al., 2024): random Fourier embedding, gates U = σ(W_u·Φ), V = σ(W_v·Φ),
/// and blocks of three dense layers mixed by the gates with a trainable skip weight α
/// (initialised at 0, so every block starts as the identity).
#[derive(Config, Debug)]
pub struct PirateNetConfig {
    /// Input coordinates.
    pub inputs: usize,
    /// Output heads.
    #[config(default = 2)]
    pub outputs: usize,
    /// Number of residual blocks.
    #[config(default = 2)]
    pub blocks: usize,
    /// Width of the embedding and of every layer.
    #[config(default = 64)]
    pub width: usize,
    /// Standard deviation of the random Fourier frequencies (the authors: 2).
    #[config(default = 2.0)]
    pub fourier_scale: f64,
    /// Seed of the random Fourier frequencies.
    #[config(default = 0)]
    pub seed: u64,
}

/// One PI-modified bottleneck block.
#[derive(Module, Debug)]
pub struct PirateBlock {
    dense: Vec<Linear>,
    alpha: Param<Tensor<1>>,
}

/// The PirateNet module.
#[derive(Module, Debug)]
pub struct PirateNet {
    gate_u: Linear,
    gate_v: Linear,
    blocks: Vec<PirateBlock>,
    output: Linear,
    /// Random Fourier frequencies B (inputs × width/2), fixed: not trained.
    #[module(skip)]
    frequencies: Vec<f64>,
    #[module(skip)]
    shape: [usize; 2],
}

impl PirateNetConfig {
    /// Builds the network with parameters on `device`.
    pub fn init(&self, device: &Device) -> PirateNet {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let half = (self.width / 2).max(1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.seed);
        let normal = Normal::new(0.0, self.fourier_scale).expect("finite scale");
        let frequencies = (0..self.inputs * half)
            .map(|_| normal.sample(&mut rng))
            .collect();
        let w = 2 * half;
        PirateNet {
            gate_u: LinearConfig::new(w, w).init(device),
            gate_v: LinearConfig::new(w, w).init(device),
            blocks: (0..self.blocks)
                .map(|_| PirateBlock {
                    dense: (0..3)
                        .map(|_| LinearConfig::new(w, w).init(device))
                        .collect(),
                    alpha: Param::from_tensor(Tensor::zeros([1], device)),
                })
                .collect(),
            output: LinearConfig::new(w, self.outputs).init(device),
            frequencies,
            shape: [self.inputs, half],
        }
    }
}

impl PirateNet {
    /// Forward pass on normalised coordinates; returns [batch, outputs].
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        let device = coords[0].device();
        let b = Tensor::<2>::from_data(
            TensorData::new(self.frequencies.clone(), self.shape),
            &device,
        );
        let bx = S::cat(coords).matmul(&b);
        let phi = S::cat(&[bx.cos(), bx.sin()]);
        let u = phi.linear(&self.gate_u).activate(Activation::Tanh);
        let v = phi.linear(&self.gate_v).activate(Activation::Tanh);
        // z = f⊙U + (1 − f)⊙V
        let mix = |f: &S| f.mul(&u).add(&f.affine(-1.0, 1.0).mul(&v));
        let mut x = phi;
        for block in &self.blocks {
            let f = x.linear(&block.dense[0]).activate(Activation::Tanh);
            let z1 = mix(&f);
            let g = z1.linear(&block.dense[1]).activate(Activation::Tanh);
            let z2 = mix(&g);
            let h = z2.linear(&block.dense[2]).activate(Activation::Tanh);
            let alpha: Tensor<2> = block.alpha.val().unsqueeze();
            // x ← α·h + (1 − α)·x
            x = h.mul_tensor(&alpha).add(&x.mul_tensor(&(-alpha + 1.0)));
        }
        x.linear(&self.output)
    }
}

/// Which network a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// The upgraded PINN.
    #[default]
    Pinn,
    /// PirateNet.
    PirateNet,
}

impl Arch {
    /// Name for reports and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pinn => "pinn",
            Self::PirateNet => "piratenet",
        }
    }
}

impl std::str::FromStr for Arch {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pinn" => Ok(Self::Pinn),
            "piratenet" => Ok(Self::PirateNet),
            _ => Err(crate::error::Error::Invalid(format!(
                "unknown architecture '{s}' (expected pinn or piratenet)"
            ))),
        }
    }
}

/// A network of any architecture.
#[derive(Module, Debug)]
pub enum Network {
    /// The upgraded PINN.
    Pinn(Pinn),
    /// PirateNet.
    PirateNet(PirateNet),
}

impl Network {
    /// Builds `arch` for `inputs` coordinates and two heads; `depth` counts hidden layers for
    /// the PINN and blocks (of three layers) for PirateNet.
    pub fn new(
        arch: Arch,
        inputs: usize,
        width: usize,
        depth: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        match arch {
            Arch::Pinn => Self::Pinn(
                PinnConfig::new(inputs)
                    .with_width(width)
                    .with_depth(depth)
                    .init(device),
            ),
            Arch::PirateNet => Self::PirateNet(
                PirateNetConfig::new(inputs)
                    .with_width(width)
                    .with_blocks(depth.div_ceil(3).max(1))
                    .with_seed(seed)
                    .init(device),
            ),
        }
    }

    /// Forward pass on normalised coordinates.
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        match self {
            Self::Pinn(m) => m.forward(coords),
            Self::PirateNet(m) => m.forward(coords),
        }
    }
}
