//! PirateNet (Wang et al., 2024) as the paper uses it (App. A.2).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::{Activation, Signal};

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
    /// The random Fourier embedding [cos(B·x), sin(B·x)] of normalised coordinates.
    pub fn encode<S: Signal>(&self, coords: &[S]) -> S {
        let device = coords[0].device();
        let b = Tensor::<2>::from_data(
            TensorData::new(self.frequencies.clone(), self.shape),
            &device,
        );
        let bx = S::cat(coords).matmul(&b);
        S::cat(&[bx.cos(), bx.sin()])
    }

    /// Forward pass on normalised coordinates; returns [batch, outputs].
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        self.forward_encoded(&self.encode(coords))
    }

    /// Forward pass on [`PirateNet::encode`]'s embedding.
    pub fn forward_encoded<S: Signal>(&self, phi: &S) -> S {
        let phi = phi.clone();
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
