//! Tasks of bert4burn, built on `nlp-models` and `nlp-optim`.
//!
//! Planned (see the issues): the shared training loop, entity extraction (DGCNN/BERT + CRF),
//! triple extraction (half-pointer heads), reading-comprehension QA (MLM, seq2seq, DGCNN) and
//! seq2seq generation with beam search. Nothing is implemented in this crate yet.
