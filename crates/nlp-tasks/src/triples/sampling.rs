//! Training targets: the subject pointer labels, the one subject sampled per text, and the object
//! pointer labels given that subject.
//!
//! Sampling follows the seed posts: a start uniformly among the distinct subject starts, then an
//! end uniformly among the distinct subject ends at or after that start. The pair need not be a
//! real subject; its object labels are then all zero.

use super::unit_triples::UnitTriple;

fn distinct_sorted(mut v: Vec<usize>) -> Vec<usize> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Pick `(start, end)` from `triples`' subjects with two uniform numbers in `[0, 1)`;
/// `None` when there is no subject.
pub fn sample_subject(triples: &[UnitTriple], u_start: f64, u_end: f64) -> Option<(usize, usize)> {
    let pick = |v: &[usize], u: f64| v[((u * v.len() as f64) as usize).min(v.len() - 1)];
    let starts = distinct_sorted(triples.iter().map(|t| t.subject.0).collect());
    if starts.is_empty() {
        return None;
    }
    let start = pick(&starts, u_start);
    let ends = distinct_sorted(
        triples
            .iter()
            .map(|t| t.subject.1)
            .filter(|&e| e >= start)
            .collect(),
    );
    Some((start, pick(&ends, u_end)))
}

/// Subject pointer labels `[len, 2]` row-major: 1 at every subject start (column 0) and end
/// (column 1).
pub fn subject_labels(len: usize, triples: &[UnitTriple]) -> Vec<f32> {
    let mut out = vec![0.0; len * 2];
    for t in triples {
        out[t.subject.0 * 2] = 1.0;
        out[t.subject.1 * 2 + 1] = 1.0;
    }
    out
}

/// Object pointer labels `[len, predicates, 2]` row-major for the objects of `subject`.
pub fn object_labels(
    len: usize,
    predicates: usize,
    triples: &[UnitTriple],
    subject: (usize, usize),
) -> Vec<f32> {
    let mut out = vec![0.0; len * predicates * 2];
    for t in triples.iter().filter(|t| t.subject == subject) {
        out[(t.object.0 * predicates + t.predicate) * 2] = 1.0;
        out[(t.object.1 * predicates + t.predicate) * 2 + 1] = 1.0;
    }
    out
}
