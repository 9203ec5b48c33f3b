//! Tasks of bert4burn, built on `nlp-models` and `nlp-optim`.
//!
//! - [`ner`]: People's Daily 1998 loader (persons, places, organisations on characters), the
//!   entity-level metric, DGCNN + CRF and BERT + CRF taggers, and the shippable [`DgcnnTagger`](ner::DgcnnTagger)
//!   model directory (the bundled model of the `tag` example).
//!
//! - [`train`]: the training loop every task reuses (checkpoints, resume, EMA evaluation, curves).
//!
//! - [`triples`]: triple (relation) extraction with half-pointer heads, on BERT or DGCNN.
//!
//! - [`units`]: texts as model units (characters or word pieces) and padded id batches, shared
//!   by every task.
//!
//! - [`vqvae`]: VQ-VAE training on square grey images (reconstruction PSNR, codebook perplexity).
//!
//! - [`generate`]: the shared cached, batched decoder (greedy, beam, sampling, processors).
//!
//! - [`seq2seq`]: UniLM on BERT and the LSTM copy model as generators ([`seq2seq::Seq2SeqModel`]:
//!   loss and decoding), the title task on the shared loop, JSON-lines pairs, the
//!   chinese-poetry poem → title data, title metrics (ROUGE, BLEU) and baselines.
//!
//! - [`qa`]: reading-comprehension QA items (one question, several passages), the People's
//!   Daily cloze set, answer metrics and baselines.

mod error;
pub mod generate;
mod jsonl;
mod mlm;
pub mod ner;
pub mod qa;
pub mod seq2seq;
pub mod train;
pub mod triples;
pub mod units;
pub mod vqvae;

pub use error::{Error, Result};
