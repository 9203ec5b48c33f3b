//! Multi-head attention with boolean masks, additive biases, rotary positions and a key/value
//! cache for incremental decoding.
//!
//! `softmax(Q·Kᵀ/√d + bias, masked) · V` per head. Masked keys get exactly zero probability, and a
//! query whose keys are all masked attends to nothing (a zero context vector, never NaN).
//! Masks follow the workspace convention of [`crate::mask`]: `[batch, q, k]`, `true` = visible.
//!
//! Every call takes a fused attention kernel ([`crate::kernels::attention`]: this crate's
//! streaming kernel on `flex`, the backend's own elsewhere) unless the probabilities are asked
//! for ([`AttentionInput::return_probs`]) or probability dropout is active (training), and the
//! four projections run through [`crate::kernels::linear`]: users of the layer get the fast path
//! without asking for it.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, DType, Tensor};

use crate::kernels;
use crate::position::apply_rotary;

/// Configuration of [`MultiHeadAttention`].
#[derive(Config, Debug)]
pub struct MultiHeadAttentionConfig {
    /// Width of the input and output vectors.
    pub d_model: usize,
    /// Number of heads.
    pub n_heads: usize,
    /// Width of each head; `d_model / n_heads` when absent.
    #[config(default = "None")]
    pub head_dim: Option<usize>,
    /// Dropout on the attention probabilities (training only).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Whether the four projections have biases.
    #[config(default = true)]
    pub bias: bool,
    /// Apply rotary position embeddings (RoFormer, interleaved pairs) to queries and keys.
    #[config(default = false)]
    pub rotary: bool,
    /// Base of the rotary frequencies.
    #[config(default = 10000.0)]
    pub rotary_base: f64,
    /// Initialiser of the projection weights (BERT uses a truncated normal with std 0.02).
    #[config(default = "Initializer::Normal { mean: 0.0, std: 0.02 }")]
    pub initializer: Initializer,
}

/// Multi-head attention: query/key/value projections, scaled dot product, output projection.
#[derive(Module, Debug)]
pub struct MultiHeadAttention {
    /// Query projection `d_model → n_heads·head_dim`.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Output projection `n_heads·head_dim → d_model`.
    pub output: Linear,
    /// Dropout on the probabilities.
    pub dropout: Dropout,
    /// Number of heads.
    pub n_heads: usize,
    /// Width of a head.
    pub head_dim: usize,
    /// Whether rotary position embeddings are applied.
    pub rotary: bool,
    /// Base of the rotary frequencies.
    pub rotary_base: f64,
}

impl MultiHeadAttentionConfig {
    /// Build the layer on `device`.
    ///
    /// # Panics
    /// Panics if `head_dim` is absent and `d_model` is not divisible by `n_heads`, or if rotary
    /// embeddings are asked for with an odd `head_dim`.
    pub fn init(&self, device: &burn::tensor::Device) -> MultiHeadAttention {
        let head_dim = self.head_dim.unwrap_or_else(|| {
            assert!(
                self.d_model.is_multiple_of(self.n_heads),
                "d_model {} is not divisible by n_heads {}",
                self.d_model,
                self.n_heads
            );
            self.d_model / self.n_heads
        });
        assert!(
            !self.rotary || head_dim.is_multiple_of(2),
            "rotary needs an even head_dim, got {head_dim}"
        );
        let inner = self.n_heads * head_dim;
        let linear = |d_in, d_out| {
            LinearConfig::new(d_in, d_out)
                .with_bias(self.bias)
                .with_initializer(self.initializer.clone())
                .init(device)
        };
        MultiHeadAttention {
            query: linear(self.d_model, inner),
            key: linear(self.d_model, inner),
            value: linear(self.d_model, inner),
            output: linear(inner, self.d_model),
            dropout: DropoutConfig::new(self.dropout).init(),
            n_heads: self.n_heads,
            head_dim,
            rotary: self.rotary,
            rotary_base: self.rotary_base,
        }
    }
}

/// Inputs of one attention call, built with [`AttentionInput::self_attn`] or [`AttentionInput::new`].
#[derive(Debug, Clone)]
pub struct AttentionInput {
    query: Tensor<3>,
    key: Tensor<3>,
    value: Tensor<3>,
    mask: Option<Tensor<3, Bool>>,
    bias: Option<Tensor<4>>,
    return_probs: bool,
}

impl AttentionInput {
    /// Self-attention: queries, keys and values all come from `x: [batch, len, d_model]`.
    pub fn self_attn(x: Tensor<3>) -> Self {
        Self::new(x.clone(), x.clone(), x)
    }

    /// Attention of `query: [batch, q, d_model]` over `key`, `value: [batch, k, d_model]`.
    pub fn new(query: Tensor<3>, key: Tensor<3>, value: Tensor<3>) -> Self {
        Self {
            query,
            key,
            value,
            mask: None,
            bias: None,
            return_probs: false,
        }
    }

    /// Attention mask `[batch, q, k]`, `true` = visible. With a cache, `k` counts cached keys too.
    pub fn mask(mut self, mask: Tensor<3, Bool>) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Additive bias on the scores, broadcastable to `[batch, heads, q, k]`
    /// (e.g. relative positions, ALiBi, or a float mask).
    pub fn bias(mut self, bias: Tensor<4>) -> Self {
        self.bias = Some(bias);
        self
    }

    /// Also return the attention probabilities `[batch, heads, q, k]`.
    pub fn return_probs(mut self) -> Self {
        self.return_probs = true;
        self
    }
}

/// Result of an attention call.
#[derive(Debug, Clone)]
pub struct AttentionOutput {
    /// `[batch, q, d_model]`.
    pub context: Tensor<3>,
    /// `[batch, heads, q, k]` when asked for with [`AttentionInput::return_probs`].
    pub probs: Option<Tensor<4>>,
}

/// Projected keys and values of the positions seen so far, for incremental decoding.
///
/// Each call of [`MultiHeadAttention::forward_cached`] appends the new positions; a decoder
/// that feeds one token at a time gets the same outputs as a full forward pass with a causal
/// (or UniLM) mask.
///
/// The keys and values live in buffers with room to spare (`[batch, heads, capacity,
/// head_dim]`) that grow by doubling, so appending a token writes only that token in place
/// instead of copying the whole cache (a clone of the cache shares the buffers until one of
/// the two is written; the write then copies, so clones stay independent).
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    key: Option<Tensor<4>>,
    value: Option<Tensor<4>>,
    len: usize,
}

/// The least room a cache buffer is given beyond what it holds.
const KV_SPARE: usize = 32;

impl KvCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keep (and reorder, or repeat) batch rows by `indices`: used by beam search when beams
    /// are re-ranked.
    pub fn select_batch(&mut self, indices: Tensor<1, burn::tensor::Int>) {
        self.key = self.key.take().map(|k| k.select(0, indices.clone()));
        self.value = self.value.take().map(|v| v.select(0, indices));
    }

    /// Write the new positions after the cached ones; returns the keys and values of all
    /// positions (views of the buffers).
    fn append(&mut self, key: Tensor<4>, value: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [batch, heads, new, head_dim] = key.dims();
        let end = self.len + new;
        let room = self.key.as_ref().map_or(0, |k| k.dims()[2]);
        if end > room {
            let capacity = end.max(2 * room).max(end + KV_SPARE);
            self.key = Some(grow(self.key.take(), self.len, capacity, &key));
            self.value = Some(grow(self.value.take(), self.len, capacity, &value));
        }
        let place = [0..batch, 0..heads, self.len..end, 0..head_dim];
        let keys = self.key.take().map(|k| k.slice_assign(place.clone(), key));
        let values = self.value.take().map(|v| v.slice_assign(place, value));
        let (keys, values) = (keys.expect("grown above"), values.expect("grown above"));
        self.key = Some(keys.clone());
        self.value = Some(values.clone());
        self.len = end;
        (keys.slice_dim(2, 0..end), values.slice_dim(2, 0..end))
    }
}

/// A buffer of `capacity` positions holding the first `len` positions of `old` (if any),
/// shaped like `like` otherwise.
fn grow(old: Option<Tensor<4>>, len: usize, capacity: usize, like: &Tensor<4>) -> Tensor<4> {
    let [batch, heads, _, head_dim] = like.dims();
    let buffer = Tensor::zeros(
        [batch, heads, capacity, head_dim],
        (&like.device(), like.dtype()),
    );
    match old {
        Some(old) if len > 0 => buffer.slice_assign(
            [0..batch, 0..heads, 0..len, 0..head_dim],
            old.slice_dim(2, 0..len),
        ),
        _ => buffer,
    }
}

impl MultiHeadAttention {
    /// Attention over the given keys and values.
    pub fn forward(&self, input: AttentionInput) -> AttentionOutput {
        let q = self.split_heads(kernels::linear(&self.query, input.query));
        let k = self.split_heads(kernels::linear(&self.key, input.key));
        let v = self.split_heads(kernels::linear(&self.value, input.value));
        let (q, k) = self.rotate(q, k, 0, 0);
        self.attend(q, k, v, input.mask, input.bias, input.return_probs)
    }

    /// Self- or cross-attention whose keys and values are appended to `cache` first; queries
    /// are the new positions. Rotary positions continue from the cached length.
    pub fn forward_cached(&self, input: AttentionInput, cache: &mut KvCache) -> AttentionOutput {
        let start = cache.len();
        let q = self.split_heads(kernels::linear(&self.query, input.query));
        let k = self.split_heads(kernels::linear(&self.key, input.key));
        let v = self.split_heads(kernels::linear(&self.value, input.value));
        let (q, k) = self.rotate(q, k, start, start);
        let (k, v) = cache.append(k, v);
        self.attend(q, k, v, input.mask, input.bias, input.return_probs)
    }

    fn rotate(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        q_start: usize,
        k_start: usize,
    ) -> (Tensor<4>, Tensor<4>) {
        if !self.rotary {
            return (q, k);
        }
        (
            apply_rotary(q, q_start, self.rotary_base),
            apply_rotary(k, k_start, self.rotary_base),
        )
    }

    /// `[batch, len, heads·head_dim]` → `[batch, heads, len, head_dim]`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [batch, len, _] = x.dims();
        x.reshape([batch, len, self.n_heads, self.head_dim])
            .swap_dims(1, 2)
    }

    /// Probability dropout does nothing here (frozen or eval-mode layer, inference device, or
    /// p = 0), so the fused kernel, which has no dropout, computes the same thing.
    fn dropout_is_inactive(&self, x: &Tensor<4>) -> bool {
        !self.dropout.training.is_enabled() || !x.device().is_autodiff() || self.dropout.prob == 0.0
    }

    fn attend(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mask: Option<Tensor<3, Bool>>,
        bias: Option<Tensor<4>>,
        return_probs: bool,
    ) -> AttentionOutput {
        let [batch, heads, len_q, head_dim] = q.dims();
        let (context, probs) = if !return_probs && self.dropout_is_inactive(&q) {
            (kernels::attention(q, k, v, mask, bias), None)
        } else {
            let probs = self.probabilities(q, k, mask, bias);
            (probs.clone().matmul(v), return_probs.then_some(probs))
        };
        let context = context
            .swap_dims(1, 2)
            .reshape([batch, len_q, heads * head_dim]);
        AttentionOutput {
            context: kernels::linear(&self.output, context),
            probs,
        }
    }

    /// The explicit path: `dropout(softmax(Q·Kᵀ/√d + bias, masked))`, kept when the
    /// probabilities are asked for or dropout is active.
    fn probabilities(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        mask: Option<Tensor<3, Bool>>,
        bias: Option<Tensor<4>>,
    ) -> Tensor<4> {
        let head_dim = q.dims()[3];
        let scale = 1.0 / (head_dim as f64).sqrt();
        let mut scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
        if let Some(bias) = bias {
            scores = scores.add(bias);
        }
        let probs = match mask {
            Some(mask) => masked_softmax(scores, mask),
            None => softmax(scores, 3),
        };
        self.dropout.forward(probs)
    }
}

/// Softmax over the last axis of `scores: [batch, heads, q, k]` restricted to visible keys
/// (`mask: [batch, q, k]`, `true` = visible). Masked keys get exactly 0; rows with no visible key
/// are all zeros.
pub fn masked_softmax(scores: Tensor<4>, mask: Tensor<3, Bool>) -> Tensor<4> {
    let [batch, heads, len_q, len_k] = scores.dims();
    let hidden = mask
        .bool_not()
        .unsqueeze_dim::<4>(1)
        .expand([batch, heads, len_q, len_k]);
    // A large finite value rather than -inf: a fully masked row then gives a uniform softmax
    // (no NaN, also in the backward pass), which the second fill turns into zeros.
    let very_negative = match scores.dtype() {
        DType::F16 => -6.0e4,
        _ => -1.0e30,
    };
    let probs = softmax(scores.mask_fill(hidden.clone(), very_negative), 3);
    probs.mask_fill(hidden, 0.0)
}
