use std::path::PathBuf;

use nlp_core::decode::Span;
use nlp_tasks::Error;
use nlp_tasks::ner::{EntityMetrics, Split, load, parse_line};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/199801_head200.txt")
}

#[test]
fn consecutive_person_tokens_merge_and_offsets_are_characters() {
    let (text, entities) =
        parse_line("中共中央/nt  总书记/n  、/w  国家/n  主席/n  江/nr  泽民/nr")
            .unwrap()
            .unwrap();
    assert_eq!(text, "中共中央总书记、国家主席江泽民");
    assert_eq!(
        entities,
        vec![Span::new("ORG", 0, 4), Span::new("PER", 12, 15)]
    );
    // Person, place, person separated by other tokens stay apart.
    let (_, e) = parse_line("邓/nr  小平/nr  同志/n  在/p  北京/ns  会见/v  李/nr  鹏/nr")
        .unwrap()
        .unwrap();
    assert_eq!(
        e,
        vec![
            Span::new("PER", 0, 3),
            Span::new("LOC", 6, 8),
            Span::new("PER", 10, 12)
        ]
    );
    // A place right after a person is not merged into it.
    let (_, e) = parse_line("张/nr  三/nr  上海/ns").unwrap().unwrap();
    assert_eq!(e, vec![Span::new("PER", 0, 2), Span::new("LOC", 2, 4)]);
    assert_eq!(parse_line("   ").unwrap(), None);
    assert_eq!(parse_line("好/a  坏").unwrap_err(), "坏");
}

#[test]
fn bio_tags_of_a_sentence() {
    let corpus = load(&fixture()).unwrap();
    let s = corpus.train.iter().find(|s| s.line == 1).unwrap();
    let tags = s.bio_tags();
    assert_eq!(&tags[..5], &["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]);
    assert_eq!(&tags[12..15], &["B-PER", "I-PER", "I-PER"]);
    assert_eq!(tags.len(), s.text.chars().count());
}

#[test]
fn split_by_line_number() {
    assert_eq!(Split::of_line(8), Split::Dev);
    assert_eq!(Split::of_line(19), Split::Test);
    assert_eq!(Split::of_line(20), Split::Train);
    let corpus = load(&fixture()).unwrap();
    let raw = std::fs::read_to_string(fixture()).unwrap();
    let nonblank = |r: usize| {
        raw.lines()
            .enumerate()
            .filter(|(i, l)| i % 10 == r && !l.trim().is_empty())
            .count()
    };
    assert_eq!(corpus.dev.len(), nonblank(8));
    assert_eq!(corpus.test.len(), nonblank(9));
    assert!(corpus.dev.iter().all(|s| s.line % 10 == 8));
    assert!(corpus.test.iter().all(|s| s.line % 10 == 9));
    assert_eq!(
        corpus.train.len() + corpus.dev.len() + corpus.test.len(),
        raw.lines().filter(|l| !l.trim().is_empty()).count()
    );
}

#[test]
fn bad_files_name_file_and_line() {
    let dir = std::env::temp_dir().join(format!("nlp-tasks-ner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "好/a\n坏了\n").unwrap();
    let err = load(&bad).unwrap_err();
    assert!(
        matches!(err, Error::Line { line: 2, ref message, .. } if message.contains("坏了")),
        "{err}"
    );
    assert!(err.to_string().contains("bad.txt:2"), "{err}");
    std::fs::write(&bad, "\n\n").unwrap();
    assert!(matches!(load(&bad).unwrap_err(), Error::Empty { .. }));
    std::fs::write(&bad, b"\xff\xfe/n\n").unwrap();
    assert!(matches!(
        load(&bad).unwrap_err(),
        Error::Line { line: 1, ref message, .. } if message.contains("UTF-8")
    ));
    assert!(matches!(
        load(&dir.join("missing.txt")).unwrap_err(),
        Error::Io { .. }
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn entity_metric_by_hand() {
    let mut m = EntityMetrics::new();
    let gold = [Span::new("PER", 0, 2), Span::new("LOC", 3, 5)];
    let pred = [
        Span::new("PER", 0, 2),
        Span::new("LOC", 3, 4),
        Span::new("ORG", 6, 8),
    ];
    m.update(&gold, &pred);
    let all = m.overall();
    assert_eq!((all.correct, all.predicted, all.gold), (1, 3, 2));
    assert!((all.precision() - 1.0 / 3.0).abs() < 1e-12);
    assert!((all.recall() - 0.5).abs() < 1e-12);
    assert!((all.f1() - 0.4).abs() < 1e-12);
    assert_eq!(m.per_type()["PER"].f1(), 1.0);
    assert_eq!(m.per_type()["LOC"].f1(), 0.0);
    assert_eq!(m.per_type()["ORG"].precision(), 0.0);
    // A second sentence with a perfect prediction accumulates.
    m.update(&[Span::new("ORG", 0, 4)], &[Span::new("ORG", 0, 4)]);
    assert_eq!(
        (m.overall().correct, m.overall().predicted, m.overall().gold),
        (2, 4, 3)
    );
    // Nothing predicted, nothing gold: zeros, not NaN.
    assert_eq!(EntityMetrics::new().overall().f1(), 0.0);
}
