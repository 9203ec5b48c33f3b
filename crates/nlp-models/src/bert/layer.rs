//! One post-LN encoder block: `x = LN(x + Attn(x))`, `x = LN(x + W₂·act(W₁·x))`.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor};
use nlp_core::activation::Activation;
use nlp_core::attention::{AttentionInput, KvCache, MultiHeadAttention, MultiHeadAttentionConfig};
use nlp_core::kernels;
use nlp_core::norm::{LayerNorm, LayerNormConfig};

use super::BertConfig;

/// A BERT encoder block.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Self-attention (query/key/value/output projections).
    pub attention: MultiHeadAttention,
    /// LayerNorm after the attention residual.
    pub attention_norm: LayerNorm,
    /// Feed-forward expansion `H → intermediate`.
    pub intermediate: Linear,
    /// Feed-forward projection `intermediate → H`.
    pub output: Linear,
    /// LayerNorm after the feed-forward residual.
    pub output_norm: LayerNorm,
    /// Dropout on both residual branches.
    pub dropout: Dropout,
    /// Feed-forward activation.
    #[module(skip)]
    pub activation: Activation,
}

impl BertLayer {
    /// Build with BERT's initialisation on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        let norm = || {
            LayerNormConfig::new(config.hidden_size)
                .with_epsilon(config.layer_norm_eps)
                .init(device)
        };
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_initializer(init.clone())
                .init(device)
        };
        Self {
            attention: MultiHeadAttentionConfig::new(
                config.hidden_size,
                config.num_attention_heads,
            )
            .with_dropout(config.attention_probs_dropout_prob)
            .init(device),
            attention_norm: norm(),
            intermediate: linear(config.hidden_size, config.intermediate_size),
            output: linear(config.intermediate_size, config.hidden_size),
            output_norm: norm(),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            activation: config.hidden_act,
        }
    }

    /// `x: [batch, len, H]`, `mask: [batch, len, len]` (`true` = visible).
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<3, Bool>>) -> Tensor<3> {
        self.output_norm
            .forward(self.forward_pre_norm(x, mask, None))
    }

    /// Like [`forward`](Self::forward) for new positions `x: [batch, new, H]` whose keys and
    /// values are appended to `cache`; `mask: [batch, new, cached + new]`.
    pub fn forward_cached(
        &self,
        x: Tensor<3>,
        mask: Option<Tensor<3, Bool>>,
        cache: &mut KvCache,
    ) -> Tensor<3> {
        self.output_norm
            .forward(self.forward_pre_norm(x, mask, Some(cache)))
    }

    /// The block up to, not including, its final LayerNorm: `x' + FFN(x')` with
    /// `x' = LN(x + Attn(x))`. Models that normalise the last block their own way (the
    /// triples model's Conditional LayerNorm) start from here; `output_norm` finishes the block.
    pub fn forward_pre_norm(
        &self,
        x: Tensor<3>,
        mask: Option<Tensor<3, Bool>>,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let mut input = AttentionInput::self_attn(x.clone());
        if let Some(mask) = mask {
            input = input.mask(mask);
        }
        let context = match cache {
            Some(cache) => self.attention.forward_cached(input, cache),
            None => self.attention.forward(input),
        }
        .context;
        let x = self
            .attention_norm
            .forward(x.add(self.dropout.forward(context)));
        let h = kernels::linear(
            &self.output,
            self.activation
                .forward(kernels::linear(&self.intermediate, x.clone())),
        );
        x.add(self.dropout.forward(h))
    }
}
