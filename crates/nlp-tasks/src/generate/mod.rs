//! Autoregressive generation shared by every generator (seq2seq titles, QA answers, samples).
//!
//! A model implements [`StepModel`]: encode the sources once, then one step per new token for
//! all live rows together, and keep or reorder rows when hypotheses are chosen. The search
//! ([`generate`]) runs greedy decoding, beam search with a pool of finished hypotheses and a
//! length penalty, or seeded sampling (temperature, top-k, top-p), on many sources of different
//! lengths at once. Logit processors (repetition penalty, no repeated n-grams, banned tokens,
//! a minimum length that hides the end tokens, an allowed-tokens hook) run before every choice,
//! and a merge hook may turn the rows of several sources into one distribution per step (one
//! answer decoded from several passages).

mod model;
mod process;
mod search;

pub use model::StepModel;
pub use process::{Allowed, Constraints, Merge, merge_squares};
pub use search::{
    BeamSettings, EarlyStopping, GenerationConfig, Hypothesis, SampleSettings, Strategy, generate,
};
