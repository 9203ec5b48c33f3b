//! Lexicon segmentation and span-based evaluation on hand-worked examples.

use nlp_text::segeval::{GoldFormat, Scores, detect_format, evaluate, pd_word, words_of};
use nlp_text::segment::LexiconSegmenter;

#[test]
fn max_probability_path_over_the_lexicon() {
    // total = 110. 北京|天安门: ln5+ln5-2ln110 = -6.18; 北|京天|安|门: ln1+ln100+ln1+ln1-4ln110 = -14.2.
    let seg = LexiconSegmenter::new([("北京", 5), ("京天", 100), ("天安门", 5)]);
    assert_eq!(seg.cut("我爱北京天安门"), ["我", "爱", "北京", "天安门"]);
    // With 京天 frequent enough the other path wins: ln(f) > 2 ln 5 + 2 ln T ... use f = 10^9.
    let seg = LexiconSegmenter::new([("北京", 5), ("京天", 1_000_000_000), ("天安门", 5)]);
    // total ≈ 1e9: 北京|天安门 = 2 ln5 - 2 lnT = -38.2; 北|京天|安|门 = ln1e9 - 4 lnT = -62.2.
    assert_eq!(seg.cut("北京天安门"), ["北京", "天安门"]);
    // Characters outside the lexicon stay single; spaces are not words.
    assert_eq!(seg.cut("新 词"), ["新", "词"]);
}

#[test]
fn span_scores_by_hand() {
    let mut s = Scores::default();
    s.add(1, &["我", "爱", "北京"], &["我爱", "北京"]);
    assert_eq!((s.gold, s.pred, s.correct), (3, 2, 1));
    assert!((s.precision() - 0.5).abs() < 1e-12);
    assert!((s.recall() - 1.0 / 3.0).abs() < 1e-12);
    assert!((s.f1() - 0.4).abs() < 1e-12);
    // Equal ends but different starts do not match.
    let mut s = Scores::default();
    s.add(1, &["ab", "c"], &["a", "bc"]);
    assert_eq!(s.correct, 0);
    s.add(2, &["ab"], &["ac"]);
    assert_eq!((s.mismatched, s.first_mismatch), (1, Some(2)));
}

#[test]
fn peoples_daily_gold_format() {
    assert_eq!(pd_word("迈向/v"), "迈向");
    assert_eq!(pd_word("[中央/n"), "中央");
    assert_eq!(pd_word("电台/n]nt"), "电台");
    assert_eq!(pd_word("１/２/m"), "１/２");
    let line = "[中央/n  人民/n  广播/vn  电台/n]nt  １２月/t";
    assert_eq!(detect_format([line]), GoldFormat::PeoplesDaily);
    assert_eq!(
        words_of(line, GoldFormat::PeoplesDaily),
        ["中央", "人民", "广播", "电台", "１２月"]
    );
    assert_eq!(detect_format(["中央 人民 广播"]), GoldFormat::Plain);
    let s = evaluate("中央/n  人民/n\n", "中央 人民\n", GoldFormat::Auto).unwrap();
    assert_eq!((s.gold, s.correct), (2, 2));
    assert!(evaluate("a b\nc\n", "a b\n", GoldFormat::Plain).is_err());
}
