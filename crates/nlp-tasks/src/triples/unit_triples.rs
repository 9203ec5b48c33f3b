//! Triples located on model units (the training targets of the pointer heads).

use super::data::{CharTriple, Located};
use crate::units::Units;

/// A triple on units: inclusive `(first, last)` unit spans and the predicate id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitTriple {
    /// Subject units.
    pub subject: (usize, usize),
    /// Predicate id.
    pub predicate: usize,
    /// Object units.
    pub object: (usize, usize),
}

/// One training example: unit ids and the located triples on units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripleExample {
    /// Unit ids.
    pub ids: Vec<i64>,
    /// Triples (unique).
    pub triples: Vec<UnitTriple>,
}

/// Map located character triples onto units; triples not aligned to unit boundaries (or cut off
/// by truncation) are returned as the second value.
pub fn to_units(units: &Units, located: &Located) -> (Vec<UnitTriple>, Vec<CharTriple>) {
    let mut kept = Vec::new();
    let mut lost = Vec::new();
    for t in &located.triples {
        match (units.unit_span(&t.subject), units.unit_span(&t.object)) {
            (Some(subject), Some(object)) => {
                let u = UnitTriple {
                    subject,
                    predicate: t.predicate,
                    object,
                };
                if !kept.contains(&u) {
                    kept.push(u);
                }
            }
            _ => lost.push(t.clone()),
        }
    }
    (kept, lost)
}
