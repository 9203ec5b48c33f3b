//! The lightweight model of "基于DGCNN和概率图的轻量级信息抽取模型": character (+ position)
//! embeddings, a DGCNN stack, self-attention, subject pointers, and object pointers per predicate
//! conditioned on the subject's start and end vectors plus relative-position embeddings to both.
//!
//! The post's global gates are multiplied into the pointers: per-position entity gates `pn₁`,
//! `pn₂` (subject and object starts / ends), a per-sequence relation gate `pc` (which predicates
//! occur at all, from max pooling) and a per-position "has an object" gate `po`:
//! `ps₁ = σ(·)·pn₁`, `ps₂ = σ(·)·pn₂`, `po₁ = po·σ(·)·pc·pn₁`, `po₂ = po·σ(·)·pc·pn₂`.
//! Characters only: the post's optional word vectors are not used here.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig, PaddingConfig1d,
};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Bool, Device, Int, Tensor};
use nlp_core::attention::{AttentionInput, MultiHeadAttention, MultiHeadAttentionConfig};
use nlp_core::mask;
use nlp_models::dgcnn::{Dgcnn, DgcnnConfig};

use super::decoding::Thresholds;
use super::model::{TripleModel, gather_positions};

/// Configuration of [`DgcnnTriples`].
#[derive(Config, Debug)]
pub struct DgcnnTriplesConfig {
    /// Character vocabulary size (padding 0 and unknown 1 included).
    pub vocab_size: usize,
    /// Number of predicates.
    pub predicates: usize,
    /// Width of embeddings and DGCNN blocks.
    #[config(default = 128)]
    pub d_model: usize,
    /// Dilations of the DGCNN blocks.
    #[config(default = "vec![1, 2, 5, 1, 2, 5, 1, 2, 5, 1, 1, 1]")]
    pub dilations: Vec<usize>,
    /// Attention heads (of width `head_dim`).
    #[config(default = 8)]
    pub heads: usize,
    /// Width of an attention head.
    #[config(default = 16)]
    pub head_dim: usize,
    /// Absolute positions embedded (later ones share the last row).
    #[config(default = 512)]
    pub max_positions: usize,
    /// Relative distances to the subject are clipped to `±max_relative`.
    #[config(default = 128)]
    pub max_relative: usize,
    /// Dropout after the embeddings.
    #[config(default = 0.25)]
    pub embedding_dropout: f64,
    /// Dropout on the DGCNN gates.
    #[config(default = 0.1)]
    pub gate_dropout: f64,
}

/// Two dense layers `d → d (relu) → out (sigmoid)`.
#[derive(Module, Debug)]
pub struct Gate {
    /// Hidden layer.
    pub hidden: Linear,
    /// Output layer.
    pub out: Linear,
}

impl Gate {
    fn new(d: usize, out: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(d, d).init(device),
            out: LinearConfig::new(d, out).init(device),
        }
    }

    fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        sigmoid(self.out.forward(relu(self.hidden.forward(x))))
    }
}

/// The DGCNN extraction model.
#[derive(Module, Debug)]
pub struct DgcnnTriples {
    /// Character embedding.
    pub chars: Embedding,
    /// Absolute position embedding.
    pub positions: Embedding,
    /// Dropout after the embeddings.
    pub dropout: Dropout,
    /// The convolution stack.
    pub dgcnn: Dgcnn,
    /// Self-attention over the DGCNN output.
    pub attention: MultiHeadAttention,
    /// Entity-start gate `pn₁`.
    pub entity_start: Gate,
    /// Entity-end gate `pn₂`.
    pub entity_end: Gate,
    /// Relation gate `pc` (per predicate, from max pooling).
    pub relation: Gate,
    /// Subject convolution over `[t, attention]`.
    pub subject_conv: Conv1d,
    /// Subject start/end pointers.
    pub subject_head: Linear,
    /// Relative-position embedding (distance to the subject start and end).
    pub relative: Embedding,
    /// Object convolution over `[t, attention, rel_start, rel_end, subject]`.
    pub object_conv: Conv1d,
    /// "Has an object here" gate `po`.
    pub object_gate: Linear,
    /// Object start pointers per predicate.
    pub object_start: Linear,
    /// Object end pointers per predicate.
    pub object_end: Linear,
    /// Number of predicates.
    pub predicates: usize,
    /// Clip of relative distances.
    pub max_relative: usize,
    /// Number of absolute positions.
    pub max_positions: usize,
}

fn conv(d_in: usize, d_out: usize, device: &Device) -> Conv1d {
    Conv1dConfig::new(d_in, d_out, 3)
        .with_padding(PaddingConfig1d::Explicit(1, 1))
        .init(device)
}

impl DgcnnTriplesConfig {
    /// Build the model.
    pub fn init(&self, device: &Device) -> DgcnnTriples {
        let d = self.d_model;
        DgcnnTriples {
            chars: EmbeddingConfig::new(self.vocab_size, d).init(device),
            positions: EmbeddingConfig::new(self.max_positions.max(1), d).init(device),
            dropout: DropoutConfig::new(self.embedding_dropout).init(),
            dgcnn: DgcnnConfig::new(d)
                .with_dilations(self.dilations.clone())
                .with_gate_dropout(self.gate_dropout)
                .init(device),
            attention: MultiHeadAttentionConfig::new(d, self.heads)
                .with_head_dim(Some(self.head_dim))
                .init(device),
            entity_start: Gate::new(d, 1, device),
            entity_end: Gate::new(d, 1, device),
            relation: Gate::new(d, self.predicates, device),
            subject_conv: conv(2 * d, d, device),
            subject_head: LinearConfig::new(d, 2).init(device),
            relative: EmbeddingConfig::new(2 * self.max_relative + 1, d).init(device),
            object_conv: conv(6 * d, d, device),
            object_gate: LinearConfig::new(d, 1).init(device),
            object_start: LinearConfig::new(d, self.predicates).init(device),
            object_end: LinearConfig::new(d, self.predicates).init(device),
            predicates: self.predicates,
            max_relative: self.max_relative,
            max_positions: self.max_positions.max(1),
        }
    }
}

/// One encoder pass of [`DgcnnTriples`].
#[derive(Debug, Clone)]
pub struct DgcnnState {
    /// DGCNN output `[batch, len, d]` (zero on padding).
    pub t: Tensor<3>,
    /// Self-attention output `[batch, len, d]` (zero on padding).
    pub attended: Tensor<3>,
    /// Entity-start gate `[batch, len, 1]`.
    pub pn_start: Tensor<3>,
    /// Entity-end gate `[batch, len, 1]`.
    pub pn_end: Tensor<3>,
    /// Relation gate `[batch, 1, predicates]`.
    pub pc: Tensor<3>,
    /// Padding mask.
    pub padding: Tensor<2, Bool>,
}

fn zero_padding(x: Tensor<3>, padding: &Tensor<2, Bool>) -> Tensor<3> {
    let [b, l, d] = x.dims();
    x.mask_fill(
        padding
            .clone()
            .bool_not()
            .unsqueeze_dim::<3>(2)
            .expand([b, l, d]),
        0.0,
    )
}

fn conv_relu(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    relu(conv.forward(x.swap_dims(1, 2)).swap_dims(1, 2))
}

impl TripleModel for DgcnnTriples {
    type State = DgcnnState;

    fn encode(&self, ids: Tensor<2, Int>) -> DgcnnState {
        let [b, len] = ids.dims();
        let device = ids.device();
        let padding = mask::padding_from_ids(ids.clone(), crate::units::PAD);
        let positions = Tensor::<1, Int>::arange(0..len as i64, &device)
            .clamp_max(self.max_positions as i64 - 1)
            .reshape([1, len])
            .expand([b, len]);
        let x = self
            .chars
            .forward(ids)
            .add(self.positions.forward(positions));
        let x = zero_padding(self.dropout.forward(x), &padding);
        let t = self.dgcnn.forward(x, &padding);
        let attended = self
            .attention
            .forward(
                AttentionInput::self_attn(t.clone()).mask(mask::key_padding(padding.clone(), len)),
            )
            .context;
        let attended = zero_padding(attended, &padding);
        let [_, _, d] = t.dims();
        let hidden = padding
            .clone()
            .bool_not()
            .unsqueeze_dim::<3>(2)
            .expand([b, len, d]);
        let pooled = t.clone().mask_fill(hidden, -1.0e9).max_dim(1);
        DgcnnState {
            pn_start: self.entity_start.forward(t.clone()),
            pn_end: self.entity_end.forward(t.clone()),
            pc: self.relation.forward(pooled),
            t,
            attended,
            padding,
        }
    }

    fn padding(&self, state: &DgcnnState) -> Tensor<2, Bool> {
        state.padding.clone()
    }

    fn subject_probs(&self, s: &DgcnnState) -> Tensor<3> {
        let h = Tensor::cat(vec![s.t.clone(), s.attended.clone()], 2);
        let h = conv_relu(&self.subject_conv, h);
        let p = sigmoid(self.subject_head.forward(h));
        let [b, l, _] = p.dims();
        let gates = Tensor::cat(vec![s.pn_start.clone(), s.pn_end.clone()], 2);
        p.mul(gates).reshape([b, l, 2])
    }

    fn object_probs(
        &self,
        s: &DgcnnState,
        rows: Tensor<1, Int>,
        subjects: Tensor<2, Int>,
    ) -> Tensor<4> {
        let [n, _] = subjects.dims();
        let pick = |x: &Tensor<3>| x.clone().select(0, rows.clone());
        let (t, attended) = (pick(&s.t), pick(&s.attended));
        let (pn_start, pn_end, pc) = (pick(&s.pn_start), pick(&s.pn_end), pick(&s.pc));
        // Selecting rows of a Bool tensor yields a plain u8 tensor on Flex; go through Int.
        let padding = s
            .padding
            .clone()
            .int()
            .select(0, rows.clone())
            .equal_elem(1);
        let [_, len, d] = t.dims();
        let device = t.device();
        let start = subjects.clone().slice_dim(1, 0..1).reshape([n]);
        let end = subjects.slice_dim(1, 1..2).reshape([n]);
        let subject = Tensor::cat(
            vec![
                gather_positions(t.clone(), start.clone()),
                gather_positions(t.clone(), end.clone()),
            ],
            1,
        )
        .reshape([n, 1, 2 * d])
        .expand([n, len, 2 * d]);
        let r = self.max_relative as i64;
        let relative = |at: Tensor<1, Int>| {
            let pos = Tensor::<1, Int>::arange(0..len as i64, &device)
                .reshape([1, len])
                .expand([n, len]);
            let offsets = pos
                .sub(at.reshape([n, 1]).expand([n, len]))
                .clamp(-r, r)
                .add_scalar(r);
            self.relative.forward(offsets)
        };
        let h = Tensor::cat(
            vec![t, attended, relative(start), relative(end), subject],
            2,
        );
        let h = conv_relu(&self.object_conv, zero_padding(h, &padding));
        let po = sigmoid(self.object_gate.forward(h.clone()));
        let p = self.predicates;
        let gate = |pn: Tensor<3>| po.clone().mul(pc.clone()).mul(pn);
        let o_start = sigmoid(self.object_start.forward(h.clone())).mul(gate(pn_start));
        let o_end = sigmoid(self.object_end.forward(h)).mul(gate(pn_end));
        Tensor::cat(
            vec![
                o_start.reshape([n, len, p, 1]),
                o_end.reshape([n, len, p, 1]),
            ],
            3,
        )
    }

    fn num_predicates(&self) -> usize {
        self.predicates
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            start: 0.5,
            end: 0.4,
        }
    }
}
