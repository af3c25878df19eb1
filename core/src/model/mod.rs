//! Networks, written once over [`Signal`]: the same forward code runs on plain tensors (the
//! mollifier and finite-difference engines evaluate the network on grid points) and on
//! Taylor-mode [`Jet`]s (the autodiff baseline propagates derivatives through every layer)
//! and on nested autodiff primitives ([`crate::engine::recursive`], the paper's recursive baseline).
//! One module per architecture: [`Pinn`], [`PirateNet`], [`PinnsFormer`].

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::numerics::jet::Jet;

/// LayerNorm's ε, shared by the tensor and jet paths so both compute the same function.
pub(crate) const LAYER_NORM_EPS: f64 = 1e-5;

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
    /// The activation of the LayerNorm: one fused kernel where a signal type has one.
    fn norm_activate(&self, layer: &LayerNorm, a: Activation) -> Self {
        self.layer_norm(layer).activate(a)
    }
    /// Concatenation along features.
    fn cat(parts: &[Self]) -> Self;
    /// Feature columns `start..start + len` (an output head, an attention head).
    fn columns(&self, start: usize, len: usize) -> Self;
    /// exp (softmax).
    fn exp(&self) -> Self;
    /// 1/x (softmax's normaliser).
    fn recip(&self) -> Self;
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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
        let fused = layer
            .bias
            .as_ref()
            .and_then(|b| crate::numerics::dense::linear(self, layer.weight.val(), b.val()));
        fused.unwrap_or_else(|| layer.forward(self.clone()))
    }

    fn activate(&self, a: Activation) -> Self {
        match a {
            Activation::Tanh => crate::numerics::tanh::tanh(self.clone()),
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

    fn norm_activate(&self, layer: &LayerNorm, a: Activation) -> Self {
        let gamma = layer.gamma.val();
        let beta = match &layer.beta {
            Some(b) => b.val(),
            None => gamma.zeros_like(),
        };
        let fused = (a == Activation::Tanh)
            .then(|| crate::numerics::tanh::layer_norm_tanh(self, gamma, beta, LAYER_NORM_EPS))
            .flatten();
        fused.unwrap_or_else(|| self.layer_norm(layer).activate(a))
    }

    fn cat(parts: &[Self]) -> Self {
        Tensor::cat(parts.to_vec(), 1)
    }

    fn columns(&self, start: usize, len: usize) -> Self {
        self.clone().narrow(1, start, len)
    }

    fn exp(&self) -> Self {
        self.clone().exp()
    }

    fn recip(&self) -> Self {
        self.clone().recip()
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

    fn columns(&self, start: usize, len: usize) -> Self {
        self.map_linear(|c| c.narrow(1, start, len), |c| c)
    }

    fn exp(&self) -> Self {
        Jet::exp(self)
    }

    fn recip(&self) -> Self {
        Jet::recip(self)
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

mod pinn;
mod pinnsformer;
mod piratenet;

pub use pinn::{FOURIER_MAX, Pinn, PinnConfig};
pub use pinnsformer::{
    Attention, FeedForward, PinnsFormer, PinnsFormerConfig, TransformerLayer, WaveAct,
};
pub use piratenet::{PirateBlock, PirateNet, PirateNetConfig};

/// Which network a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Arch {
    /// The upgraded PINN.
    #[default]
    Pinn,
    /// PirateNet.
    #[cfg_attr(feature = "clap", value(name = "piratenet"))]
    PirateNet,
    /// PINNsFormer.
    #[cfg_attr(feature = "clap", value(name = "pinnsformer"))]
    PinnsFormer,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 3] = [Self::Pinn, Self::PirateNet, Self::PinnsFormer];

    /// Name for reports and the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pinn => "pinn",
            Self::PirateNet => "piratenet",
            Self::PinnsFormer => "pinnsformer",
        }
    }
}

impl std::str::FromStr for Arch {
    type Err = crate::error::Error;
    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "pinn" => Ok(Self::Pinn),
            "piratenet" => Ok(Self::PirateNet),
            "pinnsformer" => Ok(Self::PinnsFormer),
            _ => Err(crate::error::Error::Invalid(format!(
                "unknown architecture '{s}' (expected pinn, piratenet or pinnsformer)"
            ))),
        }
    }
}

/// The network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Architecture.
    pub arch: Arch,
    /// Depth (PINN: hidden layers; PirateNet: one block per three; PINNsFormer: one layer
    /// pair per four).
    pub depth: usize,
    /// Width (PINNsFormer: model dimension).
    pub width: usize,
    /// Activation of the PINN's hidden layers (PirateNet and PINNsFormer fix their own).
    pub activation: Activation,
    /// Highest frequency of the PINN's Fourier features, in radians per unit of the
    /// normalised coordinate ([−1, 1]); 0 feeds the raw coordinates. Unset: the problem's own
    /// ([`crate::problems::Problem::fourier_max`]), which a PINN run saves; the other
    /// architectures have encodings of their own. The encoding's bandwidth
    /// is the network's prior on how fast the fields vary, and it decides a smooth problem's
    /// accuracy: heat at 5 % noise went from k correlation 0.93 at 6 to 0.96–0.97 at 3 or 0
    /// (every engine alike), while chromatin's droplets need 6.
    pub fourier_max: Option<f64>,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            arch: Arch::Pinn,
            depth: 4,
            width: 64,
            activation: Activation::Tanh,
            fourier_max: None,
            seed: 0,
        }
    }
}

/// Serialises seeded initialisations: burn's CPU backend draws every random tensor from one
/// process-wide generator, so two threads seeding and initialising at once interleave their
/// draws (tests running in parallel did: the same seed gave two different networks).
static SEEDED: Mutex<()> = Mutex::new(());

/// Runs `init` with `device`'s generator seeded by `seed` and draws every parameter of the
/// module it builds, no other seeded initialisation interleaving: the same seed gives the same
/// parameters whatever else the process runs.
pub fn seeded<M: Module>(device: &Device, seed: u64, init: impl FnOnce() -> M) -> M {
    let _only = SEEDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    let module = init();
    module.visit(&mut Materialise);
    module
}

/// Draws every float parameter now: burn initialises parameters lazily, at first use, which
/// would draw from the generator outside [`seeded`]'s lock.
#[derive(Debug)]
struct Materialise;

impl ModuleVisitor for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

impl ModelConfig {
    /// The network for `inputs` coordinates, two heads (solution, parameter), its parameters
    /// drawn from `seed` (see [`seeded`]).
    pub fn init(&self, inputs: usize, device: &Device) -> Network {
        seeded(device, self.seed, || self.build(inputs, device))
    }

    fn build(&self, inputs: usize, device: &Device) -> Network {
        match self.arch {
            Arch::Pinn => Network::Pinn(
                PinnConfig::new(inputs)
                    .with_width(self.width)
                    .with_depth(self.depth)
                    .with_activation(self.activation)
                    .with_fourier_max(self.fourier_max.unwrap_or(FOURIER_MAX))
                    .init(device),
            ),
            Arch::PirateNet => Network::PirateNet(
                PirateNetConfig::new(inputs)
                    .with_width(self.width)
                    .with_blocks(self.depth.div_ceil(3).max(1))
                    .with_seed(self.seed)
                    .init(device),
            ),
            Arch::PinnsFormer => Network::PinnsFormer(
                PinnsFormerConfig::new(inputs)
                    .with_d_model(self.width)
                    .with_layers(self.depth.div_ceil(4).max(1))
                    .init(device),
            ),
        }
    }
}

/// A network of any architecture.
// One network per run, moved rarely: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// The upgraded PINN.
    Pinn(Pinn),
    /// PirateNet.
    PirateNet(PirateNet),
    /// PINNsFormer.
    PinnsFormer(PinnsFormer),
}

impl Network {
    /// Builds `arch` for `inputs` coordinates and two heads; `depth` counts hidden layers for
    /// the PINN, blocks (of three layers) for PirateNet and encoder/decoder layer pairs (of
    /// about four layers each) for PINNsFormer, whose width is its model dimension.
    pub fn new(
        arch: Arch,
        inputs: usize,
        width: usize,
        depth: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        ModelConfig {
            arch,
            depth,
            width,
            seed,
            activation: Activation::Tanh,
            fourier_max: None,
        }
        .init(inputs, device)
    }

    /// Forward pass on normalised coordinates.
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        self.forward_encoded(&self.encode(coords))
    }

    /// The network's fixed encoding of normalised coordinates ([batch, 1] each): Fourier
    /// features, or the coordinates side by side where the encoding is learned. A function of
    /// the points alone, so callers evaluating the same points every step keep it.
    pub fn encode<S: Signal>(&self, coords: &[S]) -> S {
        match self {
            Self::Pinn(m) => m.encode(coords),
            Self::PirateNet(m) => m.encode(coords),
            Self::PinnsFormer(m) => m.encode(coords),
        }
    }

    /// Forward pass on [`Network::encode`]'s output; returns [batch, outputs].
    pub fn forward_encoded<S: Signal>(&self, x: &S) -> S {
        match self {
            Self::Pinn(m) => m.forward_encoded(x),
            Self::PirateNet(m) => m.forward_encoded(x),
            Self::PinnsFormer(m) => m.forward_encoded(x),
        }
    }
}
