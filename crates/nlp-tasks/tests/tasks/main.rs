//! Checks of `nlp-tasks` (one test binary).

mod bert_ner;
mod generate;
mod kill;
mod ner;
mod seq2seq;
mod tagger;
mod titles;
mod train;
mod triples;
mod vqvae;

/// Burn's random generator is global to the process; training runs of different tests must not
/// interleave their draws.
pub static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
