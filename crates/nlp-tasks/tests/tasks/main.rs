//! Checks of `nlp-tasks` (one test binary).

mod ner;
mod train;
mod triples;
