//! Sequence-to-sequence generation: models that plug into the shared decoder
//! ([`crate::generate`]), the JSON-lines pair format, the poem → title data of chinese-poetry,
//! the title metrics (ROUGE, BLEU) and baselines.

mod baseline;
mod lstm;
mod metrics;
mod pairs;
mod poetry;
mod unilm;
mod unilm_loss;

pub use baseline::{TfidfIndex, first_line};
pub use lstm::LstmGenerator;
pub use metrics::{Rouge, TitleScores, rouge, sentence_bleu, spaced_chars};
pub use pairs::{Pair, load_pairs, save_pairs};
pub use poetry::{HELD_OUT, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, PoetrySplits, load_poetry};
pub use unilm::{UnilmGenerator, UnilmState};
pub use unilm_loss::{Seq2SeqExample, unilm_loss};
