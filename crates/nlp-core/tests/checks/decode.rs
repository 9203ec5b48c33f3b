use nlp_core::decode::{
    Span, bio_to_spans, bioes_to_spans, half_pointer, half_pointer_typed, spans_to_bio,
    spans_to_bioes,
};

#[test]
fn half_pointer_pairs_each_start_with_nearest_end() {
    let start = [0.9, 0.1, 0.7, 0.2, 0.0, 0.8];
    let end = [0.1, 0.6, 0.2, 0.9, 0.3, 0.2];
    // Starts at 0, 2, 5; ends at 1, 3. Start 5 has no end ≥ 5.
    assert_eq!(half_pointer(&start, &end, 0.6, 0.5), vec![0..2, 2..4]);
    // Thresholds are strict: 0.6 does not pass 0.6.
    assert!(half_pointer(&[0.6], &[0.9], 0.6, 0.5).is_empty());
    // A start can share its end with an earlier start (nested subjects).
    assert_eq!(
        half_pointer(&[0.9, 0.9, 0.0], &[0.0, 0.0, 0.9], 0.5, 0.5),
        vec![0..3, 1..3]
    );
}

#[test]
fn typed_half_pointer_needs_matching_types() {
    // Two types, length 3, row-major [len, types].
    let start = [0.9, 0.0, 0.0, 0.9, 0.0, 0.0];
    let end = [0.0, 0.0, 0.9, 0.0, 0.0, 0.9];
    // Type 0 starts at 0 and ends at 1; type 1 starts at 1 and ends at 2.
    assert_eq!(
        half_pointer_typed(&start, &end, 2, 0.5, 0.5),
        vec![(0, 0..2), (1, 1..3)]
    );
}

#[test]
fn bio_round_trip_and_leniency() {
    let tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O"];
    let spans = bio_to_spans(&tags);
    assert_eq!(
        spans,
        vec![
            Span::new("PER", 0, 2),
            Span::new("LOC", 3, 4),
            Span::new("LOC", 4, 6)
        ]
    );
    assert_eq!(
        spans_to_bio(7, &spans).unwrap(),
        tags.map(String::from).to_vec()
    );
    // A stray I- starts a span; an I- of another type too.
    assert_eq!(
        bio_to_spans(&["O", "I-ORG", "I-PER"]),
        vec![Span::new("ORG", 1, 2), Span::new("PER", 2, 3)]
    );
}

#[test]
fn bioes_round_trip() {
    let tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"];
    let spans = bioes_to_spans(&tags);
    assert_eq!(
        spans,
        vec![
            Span::new("PER", 0, 1),
            Span::new("LOC", 1, 4),
            Span::new("ORG", 5, 7)
        ]
    );
    assert_eq!(
        spans_to_bioes(7, &spans).unwrap(),
        tags.map(String::from).to_vec()
    );
}

#[test]
fn overlapping_spans_are_an_error() {
    let err = spans_to_bio(5, &[Span::new("A", 0, 3), Span::new("B", 2, 4)]).unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
    assert!(spans_to_bio(3, &[Span::new("A", 2, 4)]).is_err());
}
