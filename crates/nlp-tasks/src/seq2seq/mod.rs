//! Sequence-to-sequence generation: models that plug into the shared decoder
//! ([`crate::generate`]).

mod unilm;

pub use unilm::{UnilmGenerator, UnilmState};
