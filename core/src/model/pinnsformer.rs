//! PINNsFormer (Zhao et al., 2023) as the paper configures it (App. B): every point becomes a
//! short pseudo-sequence of nearby points, a learned sinusoidal embedding, pre-LayerNorm
//! transformer encoder and decoder layers (multi-head attention, WaveAct feed-forward), and a
//! WaveAct output MLP. Written over [`Signal`] like the other networks, so every derivative
//! engine runs it; attention is spelled out with elementwise products, feature sums and exp so
//! that jets and nested autodiff carry it too.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::Signal;

/// PINNsFormer's hyper-parameters.
#[derive(Config, Debug)]
pub struct PinnsFormerConfig {
    /// Input coordinates.
    pub inputs: usize,
    /// Output heads.
    #[config(default = 2)]
    pub outputs: usize,
    /// Model dimension (the paper: 32 for heat and reaction–diffusion, 64 for Langevin).
    #[config(default = 32)]
    pub d_model: usize,
    /// Attention heads (must divide `d_model`).
    #[config(default = 1)]
    pub heads: usize,
    /// Encoder layers, and as many decoder layers.
    #[config(default = 1)]
    pub layers: usize,
    /// Pseudo-sequence length k (the authors: 5).
    #[config(default = 5)]
    pub sequence: usize,
    /// Step between pseudo-sequence points, in normalised coordinates (every coordinate is
    /// shifted: the steady problems have no time axis to shift alone).
    #[config(default = 1e-2)]
    pub step: f64,
}

/// WaveAct: w₁·sin(x) + w₂·cos(x) with learned scalars.
#[derive(Module, Debug)]
pub struct WaveAct {
    w1: Param<Tensor<2>>,
    w2: Param<Tensor<2>>,
}

impl WaveAct {
    fn new(device: &Device) -> Self {
        Self {
            w1: Param::from_tensor(Tensor::ones([1, 1], device)),
            w2: Param::from_tensor(Tensor::ones([1, 1], device)),
        }
    }

    fn forward<S: Signal>(&self, x: &S) -> S {
        x.sin()
            .mul_tensor(&self.w1.val())
            .add(&x.cos().mul_tensor(&self.w2.val()))
    }
}

/// Multi-head attention over a pseudo-sequence.
#[derive(Module, Debug)]
pub struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    #[module(skip)]
    heads: usize,
}

impl Attention {
    fn new(d: usize, heads: usize, device: &Device) -> Self {
        let lin = || LinearConfig::new(d, d).init(device);
        Self {
            query: lin(),
            key: lin(),
            value: lin(),
            out: lin(),
            heads,
        }
    }

    /// softmax(q·kᵀ/√d_h)·v per head, per sequence position of `queries`.
    fn forward<S: Signal>(&self, queries: &[S], memory: &[S]) -> Vec<S> {
        let q: Vec<S> = queries.iter().map(|x| x.linear(&self.query)).collect();
        let k: Vec<S> = memory.iter().map(|x| x.linear(&self.key)).collect();
        let v: Vec<S> = memory.iter().map(|x| x.linear(&self.value)).collect();
        let d = self.query.weight.dims()[1];
        let dh = d / self.heads;
        let device = queries[0].device();
        // Feature sums and broadcasts as products with constant ones: valid for every signal.
        let sum = Tensor::<2>::ones([dh, 1], &device);
        let spread = Tensor::<2>::ones([1, dh], &device);
        let scale = 1.0 / (dh as f64).sqrt();
        q.iter()
            .map(|qi| {
                let heads: Vec<S> = (0..self.heads)
                    .map(|h| {
                        let qh = qi.columns(h * dh, dh);
                        let e: Vec<S> = k
                            .iter()
                            .map(|kj| {
                                qh.mul(&kj.columns(h * dh, dh))
                                    .matmul(&sum)
                                    .scale(scale)
                                    .exp()
                            })
                            .collect();
                        let total = e[1..].iter().fold(e[0].clone(), |a, b| a.add(b));
                        let norm = total.recip();
                        let mixed = e
                            .iter()
                            .zip(&v)
                            .map(|(ej, vj)| {
                                ej.mul(&norm).matmul(&spread).mul(&vj.columns(h * dh, dh))
                            })
                            .collect::<Vec<_>>();
                        mixed[1..].iter().fold(mixed[0].clone(), |a, b| a.add(b))
                    })
                    .collect();
                S::cat(&heads).linear(&self.out)
            })
            .collect()
    }
}

/// Linear → WaveAct → Linear.
#[derive(Module, Debug)]
pub struct FeedForward {
    inner: Linear,
    act: WaveAct,
    outer: Linear,
}

impl FeedForward {
    fn new(d_in: usize, hidden: usize, d_out: usize, device: &Device) -> Self {
        Self {
            inner: LinearConfig::new(d_in, hidden).init(device),
            act: WaveAct::new(device),
            outer: LinearConfig::new(hidden, d_out).init(device),
        }
    }

    fn forward<S: Signal>(&self, x: &S) -> S {
        self.act.forward(&x.linear(&self.inner)).linear(&self.outer)
    }
}

/// One pre-LayerNorm transformer layer: x ← x + attn(LN(x), memory); x ← x + ff(LN(x)).
/// An encoder layer attends to its own input; a decoder layer to the encoder's output.
#[derive(Module, Debug)]
pub struct TransformerLayer {
    norm_attn: LayerNorm,
    attn: Attention,
    norm_ff: LayerNorm,
    ff: FeedForward,
}

impl TransformerLayer {
    fn new(d: usize, heads: usize, device: &Device) -> Self {
        Self {
            norm_attn: LayerNormConfig::new(d).init(device),
            attn: Attention::new(d, heads, device),
            norm_ff: LayerNormConfig::new(d).init(device),
            ff: FeedForward::new(d, d, d, device),
        }
    }

    fn forward<S: Signal>(&self, x: &[S], memory: Option<&[S]>) -> Vec<S> {
        let normed: Vec<S> = x.iter().map(|s| s.layer_norm(&self.norm_attn)).collect();
        let attended = self.attn.forward(&normed, memory.unwrap_or(&normed));
        x.iter()
            .zip(attended)
            .map(|(s, a)| {
                let h = s.add(&a);
                h.add(&self.ff.forward(&h.layer_norm(&self.norm_ff)))
            })
            .collect()
    }
}

/// The PINNsFormer module.
#[derive(Module, Debug)]
pub struct PinnsFormer {
    embed: Linear,
    encoder: Vec<TransformerLayer>,
    decoder: Vec<TransformerLayer>,
    encoder_act: WaveAct,
    decoder_act: WaveAct,
    head: FeedForward,
    #[module(skip)]
    sequence: usize,
    #[module(skip)]
    step: f64,
}

impl PinnsFormerConfig {
    /// Builds the network with parameters on `device`.
    pub fn init(&self, device: &Device) -> PinnsFormer {
        assert!(
            self.heads > 0 && self.d_model.is_multiple_of(self.heads),
            "PINNsFormer: {} heads do not divide d_model = {}",
            self.heads,
            self.d_model
        );
        let d = self.d_model;
        let layers = |n: usize| -> Vec<_> {
            (0..n)
                .map(|_| TransformerLayer::new(d, self.heads, device))
                .collect()
        };
        PinnsFormer {
            embed: LinearConfig::new(self.inputs, d).init(device),
            encoder: layers(self.layers),
            decoder: layers(self.layers),
            encoder_act: WaveAct::new(device),
            decoder_act: WaveAct::new(device),
            head: FeedForward::new(d, d, self.outputs, device),
            sequence: self.sequence.max(1),
            step: self.step,
        }
    }
}

impl PinnsFormer {
    /// Forward pass on normalised coordinates; returns [batch, outputs] at the sequence's first
    /// point (the point asked for; the others are its context).
    pub fn forward<S: Signal>(&self, coords: &[S]) -> S {
        self.forward_encoded(&self.encode(coords))
    }

    /// Its encoding is learned: the coordinates side by side.
    pub fn encode<S: Signal>(&self, coords: &[S]) -> S {
        S::cat(coords)
    }

    /// Forward pass on [`PinnsFormer::encode`]'s coordinates ([batch, inputs]).
    pub fn forward_encoded<S: Signal>(&self, coords: &S) -> S {
        // Pseudo-sequence (every coordinate shifted by the same step) and learned sinusoidal
        // embedding sin(W·x + b).
        let embedded: Vec<S> = (0..self.sequence)
            .map(|i| {
                coords
                    .affine(1.0, i as f64 * self.step)
                    .linear(&self.embed)
                    .sin()
            })
            .collect();
        let mut enc = embedded.clone();
        for layer in &self.encoder {
            enc = layer.forward(&enc, None);
        }
        let enc: Vec<S> = enc.iter().map(|s| self.encoder_act.forward(s)).collect();
        let mut dec = embedded;
        for layer in &self.decoder {
            dec = layer.forward(&dec, Some(&enc));
        }
        self.head.forward(&self.decoder_act.forward(&dec[0]))
    }
}
