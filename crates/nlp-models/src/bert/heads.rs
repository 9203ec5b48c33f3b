//! Heads on top of the encoder: pooler, masked-LM, next-sentence prediction.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use nlp_core::activation::Activation;
use nlp_core::kernels;
use nlp_core::norm::{LayerNorm, LayerNormConfig};

use super::BertConfig;

fn dense(d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        })
        .init(device)
}

/// `tanh(W·h[CLS] + b)`.
#[derive(Module, Debug)]
pub struct BertPooler {
    /// `H → H`.
    pub dense: Linear,
}

impl BertPooler {
    /// Build on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        Self {
            dense: dense(config.hidden_size, config.hidden_size, device),
        }
    }

    /// `hidden: [batch, len, H]` → `[batch, H]` from the first position.
    pub fn forward(&self, hidden: Tensor<3>) -> Tensor<2> {
        let [batch, _, h] = hidden.dims();
        let cls = hidden.slice_dim(1, 0..1).reshape([batch, h]);
        kernels::linear(&self.dense, cls).tanh()
    }
}

/// Masked-LM head: dense → activation → LayerNorm → `· Eᵀ + bias` with the token embedding `E`.
#[derive(Module, Debug)]
pub struct BertMlmHead {
    /// `H → H` transform.
    pub dense: Linear,
    /// LayerNorm after the activation.
    pub layer_norm: LayerNorm,
    /// Output bias `[vocab]`.
    pub bias: Param<Tensor<1>>,
    /// Transform activation.
    #[module(skip)]
    pub activation: Activation,
}

impl BertMlmHead {
    /// Build on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        Self {
            dense: dense(config.hidden_size, config.hidden_size, device),
            layer_norm: LayerNormConfig::new(config.hidden_size)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            bias: Initializer::Zeros.init([config.vocab_size], device),
            activation: config.hidden_act,
        }
    }

    /// `hidden: [batch, len, H]`, `embedding: [vocab, H]` → logits `[batch, len, vocab]`.
    pub fn forward(&self, hidden: Tensor<3>, embedding: Tensor<2>) -> Tensor<3> {
        let h = self.layer_norm.forward(
            self.activation
                .forward(kernels::linear(&self.dense, hidden)),
        );
        kernels::affine(h, embedding.transpose(), Some(self.bias.val()))
    }
}

/// Next-sentence prediction: `H → 2` on the pooled output.
#[derive(Module, Debug)]
pub struct BertNspHead {
    /// `H → 2`.
    pub dense: Linear,
}

impl BertNspHead {
    /// Build on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        Self {
            dense: dense(config.hidden_size, 2, device),
        }
    }

    /// `pooled: [batch, H]` → `[batch, 2]`.
    pub fn forward(&self, pooled: Tensor<2>) -> Tensor<2> {
        self.dense.forward(pooled)
    }
}
