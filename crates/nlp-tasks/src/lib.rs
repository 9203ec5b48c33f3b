//! Tasks of bert4burn, built on `nlp-models` and `nlp-optim`.
//!
//! - [`ner`]: People's Daily 1998 loader (persons, places, organisations on characters) and the
//!   entity-level metric.
//!
//! - [`train`]: the training loop every task reuses (checkpoints, resume, EMA evaluation, curves).
//!
//! Planned (see the issues): DGCNN/BERT + CRF entity extraction,
//! triple extraction (half-pointer heads), reading-comprehension QA (MLM, seq2seq, DGCNN) and
//! seq2seq generation with beam search.

pub mod ner;
pub mod train;
