//! Competition-style scoring: precision, recall and F1 over the sets of (subject, predicate,
//! object) triples of each text, summed over texts.

use std::collections::HashSet;

use super::data::Triple;
pub use crate::ner::Prf;

/// Accumulates triple matches over texts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TripleMetrics {
    counts: Prf,
}

impl TripleMetrics {
    /// Empty counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one text's gold and predicted triples (duplicates count once; strings must match
    /// exactly).
    pub fn update(&mut self, gold: &[Triple], predicted: &[Triple]) {
        let gold: HashSet<&Triple> = gold.iter().collect();
        let predicted: HashSet<&Triple> = predicted.iter().collect();
        self.counts.gold += gold.len();
        self.counts.predicted += predicted.len();
        self.counts.correct += predicted.intersection(&gold).count();
    }

    /// The counts so far.
    pub fn counts(&self) -> Prf {
        self.counts
    }
}
