//! BERT's input layer: token + segment + learned position embeddings, LayerNorm, dropout.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor};
use nlp_core::norm::{LayerNorm, LayerNormConfig};
use nlp_core::position::{LearnedPositionEmbedding, LearnedPositionEmbeddingConfig};

use super::BertConfig;

/// Token, segment and position embeddings, summed and normalised.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// `[vocab, H]`, also the MLM decoder (tied).
    pub word_embeddings: Embedding,
    /// `[max_position_embeddings, H]`.
    pub position_embeddings: LearnedPositionEmbedding,
    /// `[type_vocab_size, H]`.
    pub token_type_embeddings: Embedding,
    /// LayerNorm over the sum.
    pub layer_norm: LayerNorm,
    /// Dropout after the LayerNorm.
    pub dropout: Dropout,
}

impl BertEmbeddings {
    /// Build with BERT's initialisation (normal, std 0.02) on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        let init = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        let table = |rows, cols| {
            EmbeddingConfig::new(rows, cols)
                .with_initializer(init.clone())
                .init(device)
        };
        Self {
            word_embeddings: table(config.vocab_size, config.hidden_size),
            position_embeddings: LearnedPositionEmbeddingConfig::new(
                config.max_position_embeddings,
                config.hidden_size,
            )
            .init(device),
            token_type_embeddings: table(config.type_vocab_size, config.hidden_size),
            layer_norm: LayerNormConfig::new(config.hidden_size)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
        }
    }

    /// Embed `input_ids: [batch, len]` with segment ids (zeros when absent) at positions
    /// `start..start+len` → `[batch, len, H]`.
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
        start: usize,
    ) -> Tensor<3> {
        let [batch, len] = input_ids.dims();
        let positions = self.position_embeddings.forward(batch, len, start);
        self.embed(input_ids, token_type_ids, positions)
    }

    /// Embed at explicit `position_ids: [batch, len]` (rows of different source lengths
    /// decoded together each continue at their own position).
    pub fn forward_at(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
        position_ids: Tensor<2, Int>,
    ) -> Tensor<3> {
        let positions = self.position_embeddings.forward_ids(position_ids);
        self.embed(input_ids, token_type_ids, positions)
    }

    fn embed(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
        positions: Tensor<3>,
    ) -> Tensor<3> {
        let [batch, len] = input_ids.dims();
        let device = input_ids.device();
        let token_type_ids = token_type_ids.unwrap_or_else(|| Tensor::zeros([batch, len], &device));
        let x = self
            .word_embeddings
            .forward(input_ids)
            .add(self.token_type_embeddings.forward(token_type_ids))
            .add(positions);
        self.dropout.forward(self.layer_norm.forward(x))
    }
}
