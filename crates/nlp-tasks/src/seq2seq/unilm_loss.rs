//! The UniLM training loss (bert4keras' title example): `[CLS] source [SEP] target [SEP]`,
//! segment 1 on `target [SEP]`, and cross-entropy of every target token and the final `[SEP]`
//! from the MLM logits of the position before it.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use nlp_models::bert::{Bert, BertInput};

/// A training pair as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seq2SeqExample {
    /// `[CLS] source [SEP]`.
    pub source: Vec<usize>,
    /// `target [SEP]`: every token here is predicted.
    pub target: Vec<usize>,
}

impl Seq2SeqExample {
    /// Tokens in all.
    pub fn len(&self) -> usize {
        self.source.len() + self.target.len()
    }

    /// Whether both parts are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Mean cross-entropy per target token of a batch under a UniLM `bert` with its MLM head,
/// `[1]`. Sequences are right-padded with the model's padding id.
///
/// # Panics
/// Panics when `bert` has no MLM head or the batch is empty.
pub fn unilm_loss(bert: &Bert, batch: &[&Seq2SeqExample]) -> Tensor<1> {
    let device = bert.embeddings.word_embeddings.weight.device();
    let rows = batch.len();
    let len = batch.iter().map(|e| e.len()).max().unwrap_or(0);
    let pad = bert.pad_id as i64;
    let (mut ids, mut types, mut real) = (Vec::new(), Vec::new(), Vec::new());
    let (mut labels, mut weights) = (Vec::new(), Vec::new());
    for e in batch {
        let seq: Vec<usize> = e.source.iter().chain(&e.target).copied().collect();
        let source = e.source.len();
        for i in 0..len {
            ids.push(seq.get(i).map_or(pad, |&t| t as i64));
            types.push(i64::from(i >= source && i < seq.len()));
            real.push(i64::from(i < seq.len()));
            // Position i predicts token i + 1 when that token is part of the target.
            let predicts = i + 1 >= source && i + 1 < seq.len();
            labels.push(if predicts { seq[i + 1] as i64 } else { 0 });
            weights.push(if predicts { 1.0f32 } else { 0.0 });
        }
    }
    let ints = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [rows, len]), &device);
    let out = bert.forward(
        BertInput::new(ints(ids))
            .token_types(ints(types))
            .padding(ints(real).greater_elem(0)),
    );
    let logits = out.mlm_logits.expect("UniLM training needs the MLM head");
    let picked = log_softmax(logits, 2)
        .gather(2, ints(labels).unsqueeze_dim::<3>(2))
        .reshape([rows, len]);
    let weights = Tensor::<2>::from_data(TensorData::new(weights, [rows, len]), &device);
    let count: usize = batch.iter().map(|e| e.target.len()).sum();
    picked
        .mul(weights)
        .sum()
        .div_scalar(count.max(1) as f64)
        .neg()
}
