//! The step interface a generator model implements.

use crate::error::Result;

/// A model the search can drive one token at a time.
///
/// Rows are independent sequences decoded together. After [`prefill`](Self::prefill) there is
/// one row per source, in order; [`select`](Self::select) then builds the rows the search
/// needs (several hypotheses of a source share its encoded state, which is computed once).
pub trait StepModel {
    /// What the model keeps between steps (key/value caches, hidden states, token history).
    type State;

    /// Vocabulary size V: the width of every logits row.
    fn vocab_size(&self) -> usize;

    /// Encode `sources` (token ids, any lengths) once. Returns the state with one row per
    /// source and the logits of each row's first target token, `[sources × V]` row-major.
    fn prefill(&self, sources: &[Vec<usize>]) -> Result<(Self::State, Vec<f32>)>;

    /// Append `tokens[r]` to row `r` of `state` (one token for every row) and return the
    /// logits of each row's next token, `[rows × V]`.
    fn step(&self, state: &mut Self::State, tokens: &[usize]) -> Result<Vec<f32>>;

    /// Keep the rows `rows` of `state`, in that order; an index may repeat (a row copied for
    /// two hypotheses) and rows not named are dropped.
    fn select(&self, state: &mut Self::State, rows: &[usize]) -> Result<()>;
}
