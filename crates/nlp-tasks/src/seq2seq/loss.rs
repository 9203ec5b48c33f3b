//! Training losses of the two title models, both mean cross-entropy per target token.
//!
//! UniLM (bert4keras' title example): `[CLS] source [SEP] target [SEP]`, segment 1 on
//! `target [SEP]`, every target token and the final `[SEP]` predicted from the MLM logits of
//! the position before it. LSTM (teacher forcing): the decoder reads `START target` and
//! predicts `target END`.

use burn::tensor::Tensor;
use nlp_core::padding::{PadOptions, pad_to_tensor};
use nlp_models::bert::Bert;
use nlp_models::lstm_seq2seq::{LstmSeq2Seq, PAD, START};

use crate::mlm::{TokenRows, mean_token_nll, mlm_logits_at};

/// A training pair as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seq2SeqExample {
    /// The source: `[CLS] source [SEP]` for UniLM, the characters for the LSTM.
    pub source: Vec<usize>,
    /// The target with its end token (`[SEP]`, `END`): every token here is predicted.
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
    let seqs: Vec<(Vec<usize>, Vec<i64>)> = batch
        .iter()
        .map(|e| {
            let seq = e.source.iter().chain(&e.target).copied().collect();
            let types = (0..e.len())
                .map(|i| i64::from(i >= e.source.len()))
                .collect();
            (seq, types)
        })
        .collect();
    let refs: Vec<(&[usize], &[i64])> = seqs.iter().map(|(s, t)| (&s[..], &t[..])).collect();
    let rows = TokenRows::pad(&refs, bert.pad_id);
    let (mut predicting, mut labels) = (Vec::new(), Vec::new());
    for (r, (e, (seq, _))) in batch.iter().zip(&seqs).enumerate() {
        // Position i predicts token i + 1 when that token is part of the target.
        for i in e.source.len().saturating_sub(1)..seq.len() - 1 {
            predicting.push((r * rows.len + i) as i64);
            labels.push(Some(seq[i + 1]));
        }
    }
    mean_token_nll(mlm_logits_at(bert, &rows, predicting), &labels, &device)
}

/// Mean cross-entropy per target token of a batch under the LSTM copy model, teacher forced,
/// `[1]`. Sources are the characters alone; targets end with `END`.
///
/// # Panics
/// Panics when the batch is empty or a source is empty.
pub fn lstm_loss(model: &LstmSeq2Seq, batch: &[&Seq2SeqExample]) -> Tensor<1> {
    let device = model.prior_bias.val().device();
    let ids = |v: &[usize]| v.iter().map(|&t| t as i64).collect::<Vec<i64>>();
    let pad = PadOptions::default().value(PAD as i64);
    let sources: Vec<Vec<i64>> = batch.iter().map(|e| ids(&e.source)).collect();
    let lengths: Vec<usize> = batch.iter().map(|e| e.source.len()).collect();
    let mut memory = model.encode(pad_to_tensor(&sources, pad, &device), &lengths);
    // The decoder reads START and every target token but the last (END).
    let inputs: Vec<Vec<i64>> = batch
        .iter()
        .map(|e| {
            let mut input = vec![START as i64];
            input.extend(ids(&e.target[..e.target.len().saturating_sub(1)]));
            input
        })
        .collect();
    let steps = inputs.iter().map(Vec::len).max().unwrap_or(0);
    let logits = model.decode(&mut memory, pad_to_tensor(&inputs, pad, &device));
    let labels: Vec<Option<usize>> = batch
        .iter()
        .flat_map(|e| (0..steps).map(move |i| e.target.get(i).copied()))
        .collect();
    mean_token_nll(logits, &labels, &device)
}
