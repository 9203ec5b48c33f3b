//! Span decoding: half-pointer start/end probabilities and BIO/BIOES tag sequences.
//!
//! Spans are half-open token (or character) ranges `start..end`, with a label.

use std::ops::Range;

use crate::error::{Error, Result};

/// A labelled half-open span `start..end`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Entity type or predicate.
    pub label: String,
    /// First position.
    pub start: usize,
    /// One past the last position.
    pub end: usize,
}

impl Span {
    /// A span `start..end` labelled `label`.
    pub fn new(label: impl Into<String>, start: usize, end: usize) -> Self {
        Self {
            label: label.into(),
            start,
            end,
        }
    }

    /// The positions as a range.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Half-pointer decoding of one type: every position with `start[i] > start_threshold` is paired
/// with the nearest position `j >= i` with `end[j] > end_threshold`; starts with no such end are
/// dropped. Returns half-open ranges `i..j+1` in order of their start.
pub fn half_pointer(
    start: &[f32],
    end: &[f32],
    start_threshold: f32,
    end_threshold: f32,
) -> Vec<Range<usize>> {
    let ends: Vec<usize> = (0..end.len()).filter(|&j| end[j] > end_threshold).collect();
    (0..start.len())
        .filter(|&i| start[i] > start_threshold)
        .filter_map(|i| {
            let k = ends.partition_point(|&j| j < i);
            ends.get(k).map(|&j| i..j + 1)
        })
        .collect()
}

/// Half-pointer decoding of several types at once: `start` and `end` are `[len, num_types]`
/// row-major; an end must have the same type as its start. Returns `(type, range)` pairs sorted
/// by start then type.
pub fn half_pointer_typed(
    start: &[f32],
    end: &[f32],
    num_types: usize,
    start_threshold: f32,
    end_threshold: f32,
) -> Vec<(usize, Range<usize>)> {
    assert_eq!(
        start.len(),
        end.len(),
        "start and end probabilities differ in size"
    );
    assert!(
        num_types > 0 && start.len().is_multiple_of(num_types),
        "length not a multiple of num_types"
    );
    let len = start.len() / num_types;
    let column =
        |p: &[f32], c: usize| -> Vec<f32> { (0..len).map(|t| p[t * num_types + c]).collect() };
    let mut out: Vec<(usize, Range<usize>)> = (0..num_types)
        .flat_map(|c| {
            half_pointer(
                &column(start, c),
                &column(end, c),
                start_threshold,
                end_threshold,
            )
            .into_iter()
            .map(move |r| (c, r))
        })
        .collect();
    out.sort_by_key(|(c, r)| (r.start, *c, r.end));
    out
}

fn split_tag(tag: &str) -> (char, &str) {
    match tag.split_once('-') {
        Some((prefix, label)) if prefix.chars().count() == 1 => {
            (prefix.chars().next().unwrap_or('O'), label)
        }
        _ => (
            if tag == "O" {
                'O'
            } else {
                tag.chars().next().unwrap_or('O')
            },
            "",
        ),
    }
}

/// BIO tags (`O`, `B-X`, `I-X`) → spans. Lenient like conlleval: an `I-X` that does not continue
/// a span of type `X` starts a new one.
pub fn bio_to_spans<S: AsRef<str>>(tags: &[S]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut open: Option<Span> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, label) = split_tag(tag.as_ref());
        let continues = prefix == 'I' && open.as_ref().is_some_and(|s| s.label == label);
        if continues {
            if let Some(s) = open.as_mut() {
                s.end = i + 1;
            }
            continue;
        }
        spans.extend(open.take());
        if prefix == 'B' || prefix == 'I' {
            open = Some(Span::new(label, i, i + 1));
        }
    }
    spans.extend(open);
    spans
}

/// BIOES tags (`O`, `B-X`, `I-X`, `E-X`, `S-X`) → spans. `S-X` is a one-token span; `B-X (I-X)* E-X`
/// a longer one; a run broken off before its `E-X` is kept up to where it stopped.
pub fn bioes_to_spans<S: AsRef<str>>(tags: &[S]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut open: Option<Span> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, label) = split_tag(tag.as_ref());
        let continues =
            matches!(prefix, 'I' | 'E') && open.as_ref().is_some_and(|s| s.label == label);
        if continues {
            if let Some(s) = open.as_mut() {
                s.end = i + 1;
            }
            if prefix == 'E' {
                spans.extend(open.take());
            }
            continue;
        }
        spans.extend(open.take());
        match prefix {
            'S' | 'E' => spans.push(Span::new(label, i, i + 1)),
            'B' | 'I' => open = Some(Span::new(label, i, i + 1)),
            _ => {}
        }
    }
    spans.extend(open);
    spans
}

fn check_spans(len: usize, spans: &[Span]) -> Result<Vec<Span>> {
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|s| (s.start, s.end));
    for s in &sorted {
        if s.start >= s.end || s.end > len {
            return Err(Error::SpanOutOfRange {
                span: s.clone(),
                len,
            });
        }
    }
    for w in sorted.windows(2) {
        if w[1].start < w[0].end {
            return Err(Error::SpanOverlap {
                a: w[0].clone(),
                b: w[1].clone(),
            });
        }
    }
    Ok(sorted)
}

/// Spans → BIO tags of length `len`.
pub fn spans_to_bio(len: usize, spans: &[Span]) -> Result<Vec<String>> {
    let mut tags = vec!["O".to_string(); len];
    for s in check_spans(len, spans)? {
        tags[s.start] = format!("B-{}", s.label);
        for tag in &mut tags[s.start + 1..s.end] {
            *tag = format!("I-{}", s.label);
        }
    }
    Ok(tags)
}

/// Spans → BIOES tags of length `len`.
pub fn spans_to_bioes(len: usize, spans: &[Span]) -> Result<Vec<String>> {
    let mut tags = vec!["O".to_string(); len];
    for s in check_spans(len, spans)? {
        if s.end - s.start == 1 {
            tags[s.start] = format!("S-{}", s.label);
            continue;
        }
        tags[s.start] = format!("B-{}", s.label);
        for tag in &mut tags[s.start + 1..s.end - 1] {
            *tag = format!("I-{}", s.label);
        }
        tags[s.end - 1] = format!("E-{}", s.label);
    }
    Ok(tags)
}
