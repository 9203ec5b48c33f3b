//! Sequence-to-sequence generation: models that plug into the shared decoder
//! ([`crate::generate`]), their losses and the title task on the shared loop, the JSON-lines
//! pair format, the poem → title data of chinese-poetry, the title metrics (ROUGE, BLEU) and
//! baselines.

mod baseline;
mod codec;
mod loss;
mod lstm;
mod metrics;
mod pairs;
mod poetry;
mod task;
mod unilm;

pub use baseline::{TfidfIndex, first_line};
pub use codec::{BERT_SPECIAL_TOKENS, TitleCodec, char_vocab_txt};
pub use loss::{Seq2SeqExample, lstm_loss, unilm_loss};
pub use lstm::LstmGenerator;
pub use metrics::{Rouge, TitleScores, rouge, sentence_bleu, spaced_chars};
pub use pairs::{Pair, load_pairs, save_pairs};
pub use poetry::{HELD_OUT, MAX_SOURCE_CHARS, MAX_TITLE_CHARS, PoetrySplits, load_poetry};
pub use task::{Seq2SeqModel, TitleTask, generate_titles, score_first, score_titles};
pub use unilm::{UnilmGenerator, UnilmState};
