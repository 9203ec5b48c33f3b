//! Masked-LM logits at chosen positions of a padded batch and the mean token NLL: shared by
//! the UniLM title loss and the MLM reading-comprehension reader, which both predict tokens
//! with BERT's MLM head at a few positions of long sequences.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::bert::{Bert, BertInput};

/// A right-padded batch of BERT inputs, row-major `[rows, len]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenRows {
    pub ids: Vec<i64>,
    pub types: Vec<i64>,
    /// 1 on real tokens, 0 on padding.
    pub real: Vec<i64>,
    pub rows: usize,
    pub len: usize,
}

impl TokenRows {
    /// `seqs` (ids with their segment ids) right-padded with `pad` to the longest.
    pub fn pad(seqs: &[(&[usize], &[i64])], pad: usize) -> Self {
        let len = seqs.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
        let mut out = Self {
            rows: seqs.len(),
            len,
            ..Default::default()
        };
        for (ids, types) in seqs {
            for i in 0..len {
                out.ids.push(ids.get(i).map_or(pad as i64, |&t| t as i64));
                out.types.push(types.get(i).copied().unwrap_or(0));
                out.real.push(i64::from(i < ids.len()));
            }
        }
        out
    }

    /// `seqs` all in segment 0, right-padded with `pad`.
    pub fn pad_one_segment<'a>(seqs: impl Iterator<Item = &'a [usize]>, pad: usize) -> Self {
        let seqs: Vec<&[usize]> = seqs.collect();
        let zeros = vec![0; seqs.iter().map(|s| s.len()).max().unwrap_or(0)];
        let pairs: Vec<(&[usize], &[i64])> = seqs.iter().map(|s| (*s, &zeros[..])).collect();
        Self::pad(&pairs, pad)
    }
}

/// MLM logits `[1, positions, vocab]` of `bert` (its MLM head, decoder tied to the token
/// embedding) at the flat positions `r · len + i` of `batch`. The head, a vocabulary-wide
/// product, runs on those positions only.
///
/// # Panics
/// Panics when `bert` has no MLM head.
pub(crate) fn mlm_logits_at(bert: &Bert, batch: &TokenRows, positions: Vec<i64>) -> Tensor<3> {
    let device = bert.embeddings.word_embeddings.weight.device();
    let (rows, len) = (batch.rows, batch.len);
    let mut encoder = bert.clone();
    let head = encoder.mlm.take().expect("this model needs the MLM head");
    encoder.pooler = None;
    encoder.nsp = None;
    let ints =
        |v: &[i64]| Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [rows, len]), &device);
    let hidden = encoder
        .forward(
            BertInput::new(ints(&batch.ids))
                .token_types(ints(&batch.types))
                .padding(ints(&batch.real).greater_elem(0)),
        )
        .last_hidden_state;
    let width = hidden.dims()[2];
    let count = positions.len();
    let index = Tensor::<1, Int>::from_data(TensorData::new(positions, [count]), &device);
    let picked = hidden
        .reshape([rows * len, width])
        .select(0, index)
        .reshape([1, count, width]);
    head.forward(picked, bert.embeddings.word_embeddings.weight.val())
}

/// Mean of `−log p(label)` over the positions with a label: `logits` `[rows, len, V]`,
/// `labels[r · len + i]` the wanted token at position `i` of row `r` or `None`.
pub(crate) fn mean_token_nll(
    logits: Tensor<3>,
    labels: &[Option<usize>],
    device: &Device,
) -> Tensor<1> {
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
