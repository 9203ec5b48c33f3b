//! Models of bert4burn, built on `nlp-core`.
//!
//! - [`bert`]: BERT that loads real checkpoints (Hugging Face safetensors or
//!   `pytorch_model.bin`, and Google TF checkpoints, read natively) in `encoder`, `lm` and `unilm` modes, with MLM/NSP heads,
//!   `keep_tokens` and incremental decoding; saves back to Hugging Face safetensors.
//! - [`tokenizer`]: BERT WordPiece tokenization with character offsets (bert4keras' `rematch`).
//! - [`checkpoint`]: the checkpoint readers.
//!
//! - [`dgcnn`]: gated dilated residual convolutions, attention pooling, char + word embedding.
//!
//! - [`lstm_seq2seq`]: the LSTM seq2seq of the title post, with the copy prior.
//!
//! - [`vqvae`]: the VQ-VAE vector quantiser (nearest code, straight-through, codebook and
//!   commitment losses, moving-average codebook, dead-code restarts).
//!
//! Planned (see the issues): the VQ-VAE encoder, decoder and prior.

pub mod bert;
pub mod checkpoint;
pub mod dgcnn;
pub mod error;
pub mod lstm_seq2seq;
pub mod tokenizer;
pub mod vqvae;

pub use error::{Error, Result};
