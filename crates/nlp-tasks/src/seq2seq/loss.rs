//! Training losses of the two title models, both mean cross-entropy per target token.
//!
//! UniLM (bert4keras' title example): `[CLS] source [SEP] target [SEP]`, segment 1 on
//! `target [SEP]`, every target token and the final `[SEP]` predicted from the MLM logits of
//! the position before it. LSTM (teacher forcing): the decoder reads `START target` and
//! predicts `target END`.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::padding::{PadOptions, pad_to_tensor};
use nlp_models::bert::{Bert, BertInput};
use nlp_models::lstm_seq2seq::{LstmSeq2Seq, PAD, START};

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

/// Mean of `−log p(label)` over the positions with a label: `logits` `[rows, len, V]`,
/// `labels[r · len + i]` the wanted token at position `i` of row `r` or `None`.
fn mean_token_nll(logits: Tensor<3>, labels: &[Option<usize>], device: &Device) -> Tensor<1> {
    let [rows, len, _] = logits.dims();
    let ids = labels.iter().map(|l| l.unwrap_or(0) as i64).collect();
    let weights = labels.iter().map(|l| f32::from(u8::from(l.is_some())));
    let count = labels.iter().flatten().count().max(1);
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, len]), device);
    let weights = Tensor::<2>::from_data(TensorData::new(weights.collect(), [rows, len]), device);
    log_softmax(logits, 2)
        .gather(2, ids.unsqueeze_dim::<3>(2))
        .reshape([rows, len])
        .mul(weights)
        .sum()
        .div_scalar(count as f64)
        .neg()
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
    let (mut predicting, mut labels) = (Vec::new(), Vec::new());
    for (r, e) in batch.iter().enumerate() {
        let seq: Vec<usize> = e.source.iter().chain(&e.target).copied().collect();
        let source = e.source.len();
        for i in 0..len {
            ids.push(seq.get(i).map_or(pad, |&t| t as i64));
            types.push(i64::from(i >= source && i < seq.len()));
            real.push(i64::from(i < seq.len()));
            // Position i predicts token i + 1 when that token is part of the target.
            if i + 1 >= source && i + 1 < seq.len() {
                predicting.push((r * len + i) as i64);
                labels.push(Some(seq[i + 1]));
            }
        }
    }
    // The MLM head (a vocabulary-wide product) runs on the predicting positions only.
    let mut encoder = bert.clone();
    let head = encoder
        .mlm
        .take()
        .expect("UniLM training needs the MLM head");
    encoder.pooler = None;
    encoder.nsp = None;
    let ints = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [rows, len]), &device);
    let hidden = encoder
        .forward(
            BertInput::new(ints(ids))
                .token_types(ints(types))
                .padding(ints(real).greater_elem(0)),
        )
        .last_hidden_state;
    let width = hidden.dims()[2];
    let count = predicting.len();
    let index = Tensor::<1, Int>::from_data(TensorData::new(predicting, [count]), &device);
    let picked = hidden
        .reshape([rows * len, width])
        .select(0, index)
        .reshape([1, count, width]);
    let logits = head.forward(picked, bert.embeddings.word_embeddings.weight.val());
    mean_token_nll(logits, &labels, &device)
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
