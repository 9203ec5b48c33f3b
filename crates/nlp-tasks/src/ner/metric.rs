//! Entity-level precision, recall and F1: a predicted entity counts only if its span and type
//! both equal a gold entity's.

use std::collections::{BTreeMap, HashSet};

use nlp_core::decode::Span;

/// Precision, recall and F1 from counts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prf {
    /// Correct predictions.
    pub correct: usize,
    /// Predictions.
    pub predicted: usize,
    /// Gold entities.
    pub gold: usize,
}

impl Prf {
    /// `correct / predicted` (0 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }
    /// `correct / gold` (0 when there is no gold entity).
    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.gold)
    }
    /// Harmonic mean of precision and recall, `2·correct / (predicted + gold)`.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.correct, self.predicted + self.gold)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Accumulates entity matches over sentences, per type and overall.
#[derive(Debug, Clone, Default)]
pub struct EntityMetrics {
    per_type: BTreeMap<String, Prf>,
    overall: Prf,
}

impl EntityMetrics {
    /// Empty counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one sentence's gold and predicted entities (duplicates count once).
    pub fn update(&mut self, gold: &[Span], predicted: &[Span]) {
        let gold: HashSet<&Span> = gold.iter().collect();
        let predicted: HashSet<&Span> = predicted.iter().collect();
        for span in &gold {
            self.per_type.entry(span.label.clone()).or_default().gold += 1;
            self.overall.gold += 1;
        }
        for span in &predicted {
            let entry = self.per_type.entry(span.label.clone()).or_default();
            entry.predicted += 1;
            self.overall.predicted += 1;
            if gold.contains(span) {
                entry.correct += 1;
                self.overall.correct += 1;
            }
        }
    }

    /// Counts over all types.
    pub fn overall(&self) -> Prf {
        self.overall
    }

    /// Counts per type, sorted by type name.
    pub fn per_type(&self) -> &BTreeMap<String, Prf> {
        &self.per_type
    }
}
