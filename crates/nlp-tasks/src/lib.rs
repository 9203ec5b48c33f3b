//! Tasks of bert4burn, built on `nlp-models` and `nlp-optim`.
//!
//! - [`ner`]: People's Daily 1998 loader (persons, places, organisations on characters) and the
//!   entity-level metric.
//!
//! - [`train`]: the training loop every task reuses (checkpoints, resume, EMA evaluation, curves).
//!
//! - [`triples`]: triple (relation) extraction with half-pointer heads, on BERT or DGCNN.
//!
//! Planned (see the issues): DGCNN/BERT + CRF entity extraction,
//! reading-comprehension QA (MLM, seq2seq, DGCNN) and
//! seq2seq generation with beam search.

pub mod ner;
pub mod train;
pub mod triples;
