//! What every task feeds its model: a text as units (characters through a [`CharVocab`], or
//! word pieces through a BERT tokenizer, each with its character range), and padded id batches.

mod encoder;
mod vocab;

pub use encoder::{UnitEncoder, Units, spare_token_ids};
pub use vocab::{CharVocab, PAD, UNK};

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::padding::{PadOptions, pad_sequences};

/// Right-pad id sequences with [`PAD`] into one `[batch, longest]` tensor.
pub fn ids_tensor(seqs: &[&[i64]], device: &Device) -> Tensor<2, Int> {
    let (values, shape) = pad_sequences(seqs, PadOptions::default());
    Tensor::from_data(TensorData::new(values, shape), device)
}
