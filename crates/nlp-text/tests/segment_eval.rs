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

#[test]
fn numbers_latin_and_punctuation_runs_stay_whole() {
    // The lexicon is folded like newwords output; the input keeps its full-width forms.
    let seg = LexiconSegmenter::new([("1998年", 10), ("新年", 10), ("19", 50), ("年", 5)]);
    assert_eq!(
        seg.cut("１９９８年新年——增长１２．３％"),
        ["１９９８年", "新年", "——", "增", "长", "１２．３％"]
    );
    // "19" never cuts into the number 1997; ＣＤ—ＲＯＭ is a Latin run, a dash, a Latin run.
    assert_eq!(
        seg.cut("１９９７年ＣＤ—ＲＯＭ"),
        ["１９９７", "年", "ＣＤ", "—", "ＲＯＭ"]
    );
    // Plain mode is Python jieba's lcut(HMM=False): no folding, every full-width character
    // alone; ASCII digits are cut by the lexicon ("19") and rejoined by jieba's English-run rule.
    let plain = LexiconSegmenter::new_plain([("19", 50), ("年", 5)]);
    assert_eq!(plain.cut("１９——"), ["１", "９", "—", "—"]);
    assert_eq!(plain.cut("1997年"), ["19", "97", "年"]);
    // On Chinese-only text the two modes agree.
    let lex = [("北京", 5), ("京天", 100), ("天安门", 5)];
    let (a, b) = (LexiconSegmenter::new(lex), LexiconSegmenter::new_plain(lex));
    assert_eq!(a.cut("我爱北京天安门"), b.cut("我爱北京天安门"));
}
