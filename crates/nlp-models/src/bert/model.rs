//! The whole model: embeddings → N encoder blocks → optional pooler, MLM and NSP heads,
//! with the attention mask chosen by [`BertMode`].

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use nlp_core::attention::KvCache;
use nlp_core::mask;

use super::embeddings::BertEmbeddings;
use super::heads::{BertMlmHead, BertNspHead, BertPooler};
use super::layer::BertLayer;
use super::{BertConfig, BertMode};
use crate::error::{Error, Result};

/// A BERT with its heads. Build with [`BertConfig::init`] (random) or
/// [`Bert::load`](crate::bert::Bert::load) (a checkpoint directory).
#[derive(Module, Debug)]
pub struct Bert {
    /// Input embeddings.
    pub embeddings: BertEmbeddings,
    /// Encoder blocks.
    pub layers: Vec<BertLayer>,
    /// Pooler, when built.
    pub pooler: Option<BertPooler>,
    /// Masked-LM head, when built.
    pub mlm: Option<BertMlmHead>,
    /// Next-sentence head, when built.
    pub nsp: Option<BertNspHead>,
    /// Masking mode.
    #[module(skip)]
    pub mode: BertMode,
    /// Padding id (default padding masks are `ids != pad_id`).
    pub pad_id: usize,
}

impl BertConfig {
    /// Build a randomly initialised model (BERT's normal(0, 0.02) init) on `device`.
    pub fn init(&self, device: &Device) -> Bert {
        Bert {
            embeddings: BertEmbeddings::new(self, device),
            layers: (0..self.num_hidden_layers)
                .map(|_| BertLayer::new(self, device))
                .collect(),
            pooler: (self.with_pool || self.with_nsp).then(|| BertPooler::new(self, device)),
            mlm: self.with_mlm.then(|| BertMlmHead::new(self, device)),
            nsp: self.with_nsp.then(|| BertNspHead::new(self, device)),
            mode: self.mode,
            pad_id: self.pad_token_id,
        }
    }
}

/// Inputs of [`Bert::forward`].
#[derive(Debug, Clone)]
pub struct BertInput {
    /// Token ids `[batch, len]`.
    pub input_ids: Tensor<2, Int>,
    /// Segment ids `[batch, len]`; zeros when absent. UniLM masks are built from them.
    pub token_type_ids: Option<Tensor<2, Int>>,
    /// Padding mask `[batch, len]` (`true` = real token); `ids != pad_id` when absent.
    pub padding: Option<Tensor<2, Bool>>,
    /// A caller's own attention mask `[batch, len, len]` (`true` = visible), used as given
    /// instead of the mode's.
    pub attention_mask: Option<Tensor<3, Bool>>,
    /// Position ids `[batch, len]`; `0..len` (after the cached positions, in
    /// [`Bert::forward_cached`]) when absent.
    pub position_ids: Option<Tensor<2, Int>>,
    /// Also return every block's output.
    pub output_hidden_states: bool,
    /// Also return the last block's output before its final LayerNorm.
    pub output_last_pre_norm: bool,
}

impl BertInput {
    /// Inputs from token ids alone.
    pub fn new(input_ids: Tensor<2, Int>) -> Self {
        Self {
            input_ids,
            token_type_ids: None,
            padding: None,
            attention_mask: None,
            position_ids: None,
            output_hidden_states: false,
            output_last_pre_norm: false,
        }
    }

    /// Set the segment ids.
    pub fn token_types(mut self, token_type_ids: Tensor<2, Int>) -> Self {
        self.token_type_ids = Some(token_type_ids);
        self
    }

    /// Set the padding mask.
    pub fn padding(mut self, padding: Tensor<2, Bool>) -> Self {
        self.padding = Some(padding);
        self
    }

    /// Use this attention mask instead of the mode's.
    pub fn mask(mut self, mask: Tensor<3, Bool>) -> Self {
        self.attention_mask = Some(mask);
        self
    }

    /// Set the position ids.
    pub fn positions(mut self, position_ids: Tensor<2, Int>) -> Self {
        self.position_ids = Some(position_ids);
        self
    }

    /// Return every block's output too.
    pub fn with_hidden_states(mut self) -> Self {
        self.output_hidden_states = true;
        self
    }

    /// Return the last block's output before its final LayerNorm too, for a head that
    /// normalises it its own way (bert4keras' conditional `layer_norm_cond`).
    pub fn with_last_pre_norm(mut self) -> Self {
        self.output_last_pre_norm = true;
        self
    }
}

/// Outputs of [`Bert::forward`].
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// `[batch, len, H]`.
    pub last_hidden_state: Tensor<3>,
    /// The embedding output then each block's output, when asked for.
    pub hidden_states: Option<Vec<Tensor<3>>>,
    /// `[batch, len, H]`: the last block before its final LayerNorm, when asked for (and the
    /// model has a block); `last_hidden_state` is that LayerNorm of it.
    pub last_pre_norm: Option<Tensor<3>>,
    /// `[batch, H]` when the pooler is built.
    pub pooler_output: Option<Tensor<2>>,
    /// `[batch, len, vocab]` when the MLM head is built.
    pub mlm_logits: Option<Tensor<3>>,
    /// `[batch, 2]` when the NSP head is built.
    pub nsp_logits: Option<Tensor<2>>,
}

/// Per-layer key/value caches plus the segment ids and padding seen so far, for
/// [`Bert::forward_cached`].
#[derive(Debug, Clone, Default)]
pub struct BertCache {
    layers: Vec<KvCache>,
    token_types: Option<Tensor<2, Int>>,
    /// 1 = real token. Kept as integers: Flex stores boolean tensors from different ops
    /// (comparisons, `full`, `select`) as different element types, which `cat` refuses.
    padding: Option<Tensor<2, Int>>,
}

impl BertCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of positions seen.
    pub fn len(&self) -> usize {
        self.padding.as_ref().map_or(0, |p| p.dims()[1])
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keep or reorder batch rows (beam search).
    pub fn select_batch(&mut self, indices: Tensor<1, Int>) {
        for layer in &mut self.layers {
            layer.select_batch(indices.clone());
        }
        self.token_types = self
            .token_types
            .take()
            .map(|t| t.select(0, indices.clone()));
        self.padding = self.padding.take().map(|p| p.select(0, indices));
    }
}

/// The optional outputs a [`BertInput`] asks for.
#[derive(Debug, Clone, Copy)]
struct Asked {
    hidden_states: bool,
    last_pre_norm: bool,
}

impl From<&BertInput> for Asked {
    fn from(input: &BertInput) -> Self {
        Self {
            hidden_states: input.output_hidden_states,
            last_pre_norm: input.output_last_pre_norm,
        }
    }
}

fn cat_int(old: Option<Tensor<2, Int>>, new: Tensor<2, Int>) -> Tensor<2, Int> {
    match old {
        Some(old) => Tensor::cat(vec![old, new], 1),
        None => new,
    }
}

impl Bert {
    /// Width `H`.
    pub fn hidden_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[1]
    }

    /// Rows of the token embedding.
    pub fn vocab_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[0]
    }

    /// The mode's attention mask `[batch, len, len]` for segment ids and padding `[batch, len]`.
    pub fn mode_mask(
        &self,
        token_type_ids: Tensor<2, Int>,
        padding: Tensor<2, Bool>,
    ) -> Tensor<3, Bool> {
        let len = padding.dims()[1];
        self.mode_mask_rows(token_type_ids, padding, 0..len)
    }

    /// The query rows `queries` of [`mode_mask`](Self::mode_mask), `[batch, queries.len(),
    /// len]`: an incremental step builds only the rows of its new positions.
    pub fn mode_mask_rows(
        &self,
        token_type_ids: Tensor<2, Int>,
        padding: Tensor<2, Bool>,
        queries: std::ops::Range<usize>,
    ) -> Tensor<3, Bool> {
        let [batch, len] = padding.dims();
        let rows = queries.len();
        match self.mode {
            BertMode::Encoder => mask::key_padding(padding, rows),
            BertMode::Lm => {
                // Rows start..len of the causal mask, then the first `rows` of them.
                let causal =
                    mask::causal_with_offset(batch, len - queries.start, len, &padding.device())
                        .slice_dim(1, 0..rows);
                mask::and(causal, mask::key_padding(padding, rows))
            }
            BertMode::Unilm => mask::unilm_rows(token_type_ids, padding, queries),
        }
    }

    /// Full forward pass.
    pub fn forward(&self, input: BertInput) -> BertOutput {
        let asked = Asked::from(&input);
        let [batch, len] = input.input_ids.dims();
        let device = input.input_ids.device();
        let token_types = input
            .token_type_ids
            .unwrap_or_else(|| Tensor::zeros([batch, len], &device));
        let padding = input
            .padding
            .unwrap_or_else(|| mask::padding_from_ids(input.input_ids.clone(), self.pad_id as i64));
        let attention_mask = input
            .attention_mask
            .unwrap_or_else(|| self.mode_mask(token_types.clone(), padding));

        let x = self.embed(input.input_ids, token_types, input.position_ids, 0);
        self.encode(x, attention_mask, None, asked)
    }

    /// The one layer loop: every block over the embedded `x` (with its key/value cache when
    /// given), then the heads.
    fn encode(
        &self,
        mut x: Tensor<3>,
        mask: Tensor<3, Bool>,
        mut caches: Option<&mut [KvCache]>,
        asked: Asked,
    ) -> BertOutput {
        let mut hidden_states = asked.hidden_states.then(|| vec![x.clone()]);
        let mut last_pre_norm = None;
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let cache = caches.as_deref_mut().map(|caches| &mut caches[i]);
            let pre_norm = layer.forward_pre_norm(x, Some(mask.clone()), cache);
            if asked.last_pre_norm && i == last {
                last_pre_norm = Some(pre_norm.clone());
            }
            x = layer.output_norm.forward(pre_norm);
            if let Some(states) = hidden_states.as_mut() {
                states.push(x.clone());
            }
        }
        let mut output = self.heads(x);
        output.hidden_states = hidden_states;
        output.last_pre_norm = last_pre_norm;
        output
    }

    fn heads(&self, x: Tensor<3>) -> BertOutput {
        let pooler_output = self.pooler.as_ref().map(|p| p.forward(x.clone()));
        let nsp_logits = match (&self.nsp, &pooler_output) {
            (Some(nsp), Some(pooled)) => Some(nsp.forward(pooled.clone())),
            _ => None,
        };
        let mlm_logits = self
            .mlm
            .as_ref()
            .map(|mlm| mlm.forward(x.clone(), self.embeddings.word_embeddings.weight.val()));
        BertOutput {
            last_hidden_state: x,
            hidden_states: None,
            last_pre_norm: None,
            pooler_output,
            mlm_logits,
            nsp_logits,
        }
    }

    /// Incremental forward: feed the next positions `input_ids: [batch, new]` (with their
    /// segment ids and padding) after those already in `cache`. The mask is the mode's mask
    /// over all positions seen, restricted to the new queries, so feeding a sequence piece by
    /// piece gives the same outputs as one [`forward`](Self::forward) call. A caller's own
    /// `attention_mask` must be `[batch, new, cached + new]`.
    pub fn forward_cached(&self, input: BertInput, cache: &mut BertCache) -> BertOutput {
        let asked = Asked::from(&input);
        let [batch, new] = input.input_ids.dims();
        let device = input.input_ids.device();
        let start = cache.len();
        let token_types = input
            .token_type_ids
            .unwrap_or_else(|| Tensor::zeros([batch, new], &device));
        let padding = input
            .padding
            .unwrap_or_else(|| mask::padding_from_ids(input.input_ids.clone(), self.pad_id as i64));
        let all_types = cat_int(cache.token_types.take(), token_types.clone());
        let all_padding = cat_int(cache.padding.take(), padding.int());
        cache.token_types = Some(all_types.clone());
        cache.padding = Some(all_padding.clone());
        let all_padding = all_padding.greater_elem(0);
        let total = start + new;
        let attention_mask = input
            .attention_mask
            .unwrap_or_else(|| self.mode_mask_rows(all_types, all_padding, start..total));
        if cache.layers.len() != self.layers.len() {
            cache.layers = vec![KvCache::new(); self.layers.len()];
        }

        let x = self.embed(input.input_ids, token_types, input.position_ids, start);
        self.encode(x, attention_mask, Some(&mut cache.layers), asked)
    }

    /// The embeddings at the given position ids, or at `start..`.
    fn embed(
        &self,
        ids: Tensor<2, Int>,
        token_types: Tensor<2, Int>,
        positions: Option<Tensor<2, Int>>,
        start: usize,
    ) -> Tensor<3> {
        match positions {
            Some(p) => self.embeddings.forward_at(ids, Some(token_types), p),
            None => self.embeddings.forward(ids, Some(token_types), start),
        }
    }

    /// Keep only the vocabulary rows `keep` (bert4keras' `keep_tokens`): new id `i` is old id
    /// `keep[i]`, in the token embedding (hence the tied MLM decoder) and the MLM bias.
    pub fn keep_tokens(mut self, keep: &[usize]) -> Result<Self> {
        let vocab = self.vocab_size();
        if let Some(&bad) = keep.iter().find(|&&id| id >= vocab) {
            return Err(Error::Invalid(format!(
                "keep_tokens: id {bad} is outside the vocabulary of {vocab} tokens"
            )));
        }
        if keep.is_empty() {
            return Err(Error::Invalid("keep_tokens: the list is empty".to_string()));
        }
        let device = self.embeddings.word_embeddings.weight.device();
        let ids: Vec<i64> = keep.iter().map(|&id| id as i64).collect();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [keep.len()]), &device);
        let weight = self
            .embeddings
            .word_embeddings
            .weight
            .val()
            .select(0, ids.clone());
        self.embeddings.word_embeddings.weight = Param::from_tensor(weight);
        if let Some(mlm) = self.mlm.as_mut() {
            mlm.bias = Param::from_tensor(mlm.bias.val().select(0, ids));
        }
        Ok(self)
    }

    /// Switch the masking mode (the weights are the same in every mode).
    pub fn with_mode(mut self, mode: BertMode) -> Self {
        self.mode = mode;
        self
    }
}
