//! The BERT model of "用bert4keras做三元组抽取": subject pointers on the encoder output (sigmoid
//! squared), and object pointers per predicate (sigmoid to the fourth) on the last block's output
//! *before* its final LayerNorm, normalised instead by a Conditional LayerNorm whose condition is
//! `concat(h[start], h[end])` of the subject taken from that same pre-norm output.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Int, Tensor};
use nlp_core::mask;
use nlp_core::norm::{ConditionalLayerNorm, ConditionalLayerNormConfig};
use nlp_models::bert::{Bert, BertInput};

use super::decoding::Thresholds;
use super::model::{TripleModel, gather_positions};

/// Exponent on the subject sigmoids (the post's pⁿ trick against class imbalance).
pub const SUBJECT_POWER: i32 = 2;
/// Exponent on the object sigmoids.
pub const OBJECT_POWER: i32 = 4;

/// BERT with half-pointer subject and object heads.
#[derive(Module, Debug)]
pub struct BertTriples {
    /// The encoder, asked for its last block's pre-norm output too.
    pub bert: Bert,
    /// Subject start/end logits.
    pub subject_head: Linear,
    /// Conditional LayerNorm on the subject vector.
    pub cln: ConditionalLayerNorm,
    /// Object start/end logits for every predicate (`2 · predicates`).
    pub object_head: Linear,
    /// Number of predicates.
    pub predicates: usize,
}

impl BertTriples {
    /// Heads around a (usually pre-trained) `bert` with at least one block.
    ///
    /// # Panics
    /// Panics if `bert` has no encoder block.
    pub fn new(bert: Bert, predicates: usize) -> Self {
        assert!(!bert.layers.is_empty(), "BERT has no encoder block");
        let h = bert.hidden_size();
        let device = bert.devices().into_iter().next().unwrap_or_default();
        let dense = |d_out| {
            LinearConfig::new(h, d_out)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.02,
                })
                .init(&device)
        };
        Self {
            subject_head: dense(2),
            cln: ConditionalLayerNormConfig::new(h, 2 * h).init(&device),
            object_head: dense(2 * predicates),
            predicates,
            bert,
        }
    }
}

/// One encoder pass of [`BertTriples`].
#[derive(Debug, Clone)]
pub struct BertState {
    /// The last block's output before its final LayerNorm `[batch, len, H]`.
    pub pre_norm: Tensor<3>,
    /// The encoder output `[batch, len, H]`.
    pub hidden: Tensor<3>,
    /// Padding mask.
    pub padding: Tensor<2, Bool>,
}

impl TripleModel for BertTriples {
    type State = BertState;

    fn encode(&self, ids: Tensor<2, Int>) -> BertState {
        let padding = mask::padding_from_ids(ids.clone(), self.bert.pad_id as i64);
        let output = self.bert.forward(
            BertInput::new(ids)
                .padding(padding.clone())
                .with_last_pre_norm(),
        );
        BertState {
            pre_norm: output
                .last_pre_norm
                .expect("BertTriples::new checked that BERT has a block"),
            hidden: output.last_hidden_state,
            padding,
        }
    }

    fn padding(&self, state: &BertState) -> Tensor<2, Bool> {
        state.padding.clone()
    }

    fn subject_probs(&self, state: &BertState) -> Tensor<3> {
        sigmoid(self.subject_head.forward(state.hidden.clone())).powi_scalar(SUBJECT_POWER)
    }

    fn object_probs(
        &self,
        state: &BertState,
        rows: Tensor<1, Int>,
        subjects: Tensor<2, Int>,
    ) -> Tensor<4> {
        let [n, _] = subjects.dims();
        let x = state.pre_norm.clone().select(0, rows);
        let [_, len, _] = x.dims();
        let start = gather_positions(x.clone(), subjects.clone().slice_dim(1, 0..1).reshape([n]));
        let end = gather_positions(x.clone(), subjects.slice_dim(1, 1..2).reshape([n]));
        let cond = Tensor::cat(vec![start, end], 1);
        let h = self.cln.forward(x, cond);
        sigmoid(self.object_head.forward(h))
            .powi_scalar(OBJECT_POWER)
            .reshape([n, len, self.predicates, 2])
    }

    fn num_predicates(&self) -> usize {
        self.predicates
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            start: 0.6,
            end: 0.5,
        }
    }
}
