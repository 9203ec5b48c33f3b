//! Decoding pointer probabilities into spans and triples, and triples on units back to text.

use nlp_core::decode::half_pointer;

use super::data::{Schema, Triple};
use super::unit_triples::UnitTriple;
use crate::units::Units;

/// Thresholds on start and end probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A start needs a probability above this.
    pub start: f32,
    /// An end needs a probability above this.
    pub end: f32,
}

/// Subjects from `probs: [len, 2]` row-major (start, end) over the first `len` units: each start
/// above the threshold is paired with the nearest end at or after it. Inclusive unit spans.
pub fn decode_subjects(probs: &[f32], len: usize, th: Thresholds) -> Vec<(usize, usize)> {
    let start: Vec<f32> = (0..len).map(|i| probs[i * 2]).collect();
    let end: Vec<f32> = (0..len).map(|i| probs[i * 2 + 1]).collect();
    half_pointer(&start, &end, th.start, th.end)
        .into_iter()
        .map(|r| (r.start, r.end - 1))
        .collect()
}

/// Objects of one subject from `probs: [len, predicates, 2]` row-major, decoded per predicate
/// like [`decode_subjects`]. Returns `(predicate, (first, last))`.
pub fn decode_objects(
    probs: &[f32],
    len: usize,
    predicates: usize,
    th: Thresholds,
) -> Vec<(usize, (usize, usize))> {
    let mut out = Vec::new();
    for p in 0..predicates {
        let column = |k: usize| -> Vec<f32> {
            (0..len)
                .map(|i| probs[(i * predicates + p) * 2 + k])
                .collect()
        };
        for r in half_pointer(&column(0), &column(1), th.start, th.end) {
            out.push((p, (r.start, r.end - 1)));
        }
    }
    out
}

/// Triples on units → string triples of `text` (spans touching special tokens are dropped;
/// duplicates are kept once, in order).
pub fn to_text(text: &str, units: &Units, triples: &[UnitTriple], schema: &Schema) -> Vec<Triple> {
    let chars: Vec<char> = text.chars().collect();
    let piece = |(a, b): (usize, usize)| {
        units
            .char_span(a, b)
            .filter(|r| r.end <= chars.len())
            .map(|r| chars[r].iter().collect::<String>())
    };
    let mut out: Vec<Triple> = Vec::new();
    for t in triples {
        if let (Some(s), Some(o)) = (piece(t.subject), piece(t.object)) {
            let triple = Triple::new(s, schema.name(t.predicate), o);
            if !out.contains(&triple) {
                out.push(triple);
            }
        }
    }
    out
}
