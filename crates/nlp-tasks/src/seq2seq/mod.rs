//! Sequence-to-sequence generation: models that plug into the shared decoder
//! ([`crate::generate`]).

mod unilm;
mod unilm_loss;

pub use unilm::{UnilmGenerator, UnilmState};
pub use unilm_loss::{Seq2SeqExample, unilm_loss};
