//! New-word discovery checked against small cases computed by hand.

mod common;

use common::{cfg, tiny_cfg, write_file};
use hashbrown::{HashMap, HashSet};
use nlp_text::input::Source;
use nlp_text::newwords::{
    Params, Variant, back_check, cohesion, discover, filter_grams, presegment,
};
use nlp_text::ngram::key_of;

fn counts(pairs: &[(&str, u64)]) -> HashMap<u64, u64> {
    pairs.iter().map(|&(s, c)| (key_of::<u64>(s), c)).collect()
}

fn kept(words: &[&str]) -> HashSet<u64> {
    words.iter().map(|w| key_of::<u64>(w)).collect()
}

fn cut(piece: &str, k: &HashSet<u64>) -> Vec<String> {
    let mut v = Vec::new();
    presegment(piece, k, 4, |w| v.push(w.to_string()));
    v
}

#[test]
fn cohesion_is_min_over_splits() {
    // Corpus: "abc" x4, "ab" x2, "c" x10 -> a=6 b=6 c=14 (total 26), ab=6 bc=4 abc=4.
    let c = counts(&[
        ("a", 6),
        ("b", 6),
        ("c", 14),
        ("ab", 6),
        ("bc", 4),
        ("abc", 4),
    ]);
    // splits: a|bc: 26*4/(6*4) = 4.333..; ab|c: 26*4/(6*14) = 1.2380952..
    let got = cohesion(key_of::<u64>("abc"), 4, 26.0, &c).unwrap();
    assert!((got - 104.0 / 84.0).abs() < 1e-12, "{got}");
    // bigram ab: 26*6/(6*6) = 4.333..
    let got = cohesion(key_of::<u64>("ab"), 6, 26.0, &c).unwrap();
    assert!((got - 156.0 / 36.0).abs() < 1e-12, "{got}");
    assert!(cohesion(key_of::<u64>("a"), 6, 26.0, &c).is_none());
}

#[test]
fn log_thresholds_by_length_2019() {
    // a=8 b=8 (total 16), ab=6, ba=2: ln(16*6/64) = ln 1.5 = 0.405, ln(16*2/64) = ln 0.5 < 0.
    let c = counts(&[("a", 8), ("b", 8), ("ab", 6), ("ba", 2)]);
    let mut p = Params::v2019();
    p.thresholds = vec![0.0, 0.40, 9.0, 9.0];
    assert_eq!(filter_grams(&c, 16, &p), kept(&["ab"]));
    p.thresholds = vec![0.0, 0.41, 9.0, 9.0];
    assert!(filter_grams(&c, 16, &p).is_empty());
    p.thresholds = vec![0.0, -0.7, 9.0, 9.0]; // ln 0.5 = -0.693
    assert_eq!(filter_grams(&c, 16, &p), kept(&["ab", "ba"]));
}

#[test]
fn ratio_thresholds_are_strict_in_2017() {
    // ab: 16*6/64 = 1.5 exactly; 2017 keeps only ratio > threshold.
    let c = counts(&[("a", 8), ("b", 8), ("ab", 6)]);
    let mut p = Params::v2017();
    p.thresholds = vec![0.0, 1.5, 25.0, 125.0];
    assert!(filter_grams(&c, 16, &p).is_empty());
    p.thresholds = vec![0.0, 1.49, 25.0, 125.0];
    assert_eq!(filter_grams(&c, 16, &p), kept(&["ab"]));
}

#[test]
fn presegment_joins_characters_covered_by_a_kept_gram() {
    assert_eq!(cut("abcd", &kept(&["ab", "bc"])), ["abc", "d"]);
    assert_eq!(cut("abcd", &kept(&["ab", "cd"])), ["ab", "cd"]);
    assert_eq!(cut("xabcx", &kept(&["abc"])), ["x", "abc", "x"]);
    assert_eq!(cut("abcde", &kept(&["abcd"])), ["abcd", "e"]);
    assert_eq!(cut("abcdef", &kept(&["abcd", "cdef"])), ["abcdef"]);
    assert_eq!(cut("abc", &kept(&[])), ["a", "b", "c"]);
    assert_eq!(cut("中国人民", &kept(&["中国", "人民"])), ["中国", "人民"]);
}

#[test]
fn back_check_2019_and_2017() {
    let p19 = Params::v2019();
    let k = kept(&["ab", "bc"]);
    assert!(back_check("ab", &k, &p19)); // length < 3 always passes
    assert!(!back_check("abc", &k, &p19)); // joined from two bigrams, not itself kept
    let k = kept(&["abcd", "bcde"]);
    assert!(back_check("abcde", &k, &p19)); // every 4-window kept
    assert!(!back_check("abcde", &kept(&["abcd"]), &p19));
    assert!(back_check("abcd", &kept(&["abcd"]), &p19));
    // 2017: every window of 3..=4 characters must be kept.
    let p17 = Params::v2017();
    assert!(!back_check("abcd", &kept(&["abcd"]), &p17));
    assert!(back_check("abcd", &kept(&["abc", "bcd", "abcd"]), &p17));
    assert!(back_check("abc", &kept(&["abc"]), &p17));
}

fn run(text: &str, params: &Params, cfg: &nlp_text::RunConfig) -> Vec<(String, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "in.txt", text.as_bytes());
    let (words, _) = discover(vec![Source::File(p)], params, cfg).unwrap();
    words
        .into_iter()
        .map(|r| (r.word.into_string(), r.count))
        .collect()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(w, c)| (w.to_string(), *c)).collect()
}

#[test]
fn end_to_end_small_corpus() {
    // Three lines "ab cd ab" (space separates pieces): a=6 b=6 c=3 d=3, total 18;
    // ab=6: ln(18*6/36) = ln 3 = 1.0986; cd=3: ln(18*3/9) = ln 6 = 1.7918.
    let text = "ab cd ab\nab cd ab\nab,cd;ab\n";
    let mut p = Params::v2019();
    p.min_count = 3;
    p.thresholds = vec![0.0, 1.5, 4.0, 6.0];
    // Only cd is kept: pieces a 6, b 6, cd 3.
    assert_eq!(
        run(text, &p, &cfg(2)),
        pairs(&[("a", 6), ("b", 6), ("cd", 3)])
    );
    p.thresholds = vec![0.0, 1.0, 4.0, 6.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("ab", 6), ("cd", 3)]));
    // min_count 4: c, d, cd are rare; ab is frequent but ln 3 < 1.5; pieces a 6 b 6 c 3 d 3.
    p.min_count = 4;
    p.thresholds = vec![0.0, 1.5, 4.0, 6.0];
    assert_eq!(run(text, &p, &cfg(2)), pairs(&[("a", 6), ("b", 6)]));
}

#[test]
fn total_differs_between_variants() {
    // Same corpus, min_count 4. 2019: total = all 18 characters, ab ratio = 18*6/36 = 3.
    // 2017: total = frequent unigrams only (a + b = 12), ab ratio = 12*6/36 = 2.
    let text = "ab cd ab\nab cd ab\nab cd ab\n";
    let mut p = Params::v2017();
    p.min_count = 4;
    p.thresholds = vec![0.0, 2.5, 25.0, 125.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("a", 6), ("b", 6)])); // 2 < 2.5
    p.thresholds = vec![0.0, 1.9, 25.0, 125.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("ab", 6)])); // 2 > 1.9
    let mut p = Params::v2019();
    p.min_count = 4;
    p.thresholds = vec![0.0, 3f64.ln() - 1e-9, 4.0, 6.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("ab", 6)]));
    assert_eq!(p.variant, Variant::V2019);
}

#[test]
fn spilled_discovery_equals_in_memory_discovery() {
    let text = std::fs::read_to_string(common::fixture("wordfreq_input.txt")).unwrap();
    let mut p = Params::v2019();
    p.min_count = 4;
    let a = run(&text, &p, &cfg(2));
    assert!(a.len() > 500, "{}", a.len());
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "in.txt", text.as_bytes());
    let (words, report) = discover(vec![Source::File(path)], &p, &tiny_cfg(2, 2048)).unwrap();
    assert!(report.spilled_runs > 2, "{report:?}");
    let b: Vec<(String, u64)> = words
        .into_iter()
        .map(|r| (r.word.into_string(), r.count))
        .collect();
    assert_eq!(a, b);
}

#[test]
fn full_width_forms_are_folded_unless_disabled() {
    // "１２ab" x3 and "12" x1: folded, the pieces are 12ab x3 and 12 x1 (same characters), so
    // 1=4 2=4 a=3 b=3 (total 14); 12 = 4: ln(14*4/16) = 1.25; 2a = 3: ln(14*3/12) = 1.25;
    // ab = 3: ln(14*3/9) = 1.54. Threshold 1.0 keeps them all; the 3- and 4-grams need 9.
    let text = "１２ab\n１２ab\n１２ab\n12\n";
    let mut p = Params::v2019();
    p.min_count = 3;
    p.thresholds = vec![0.0, 1.0, 9.0, 9.0];
    // Pre-segmentation joins 1-2-a-b (every neighbour pair kept) into 12ab (x3), and 12 (x1);
    // 12ab fails the back-check (a 4-piece must be a kept gram), 12 is below min_count.
    assert!(run(text, &p, &cfg(1)).is_empty());
    p.thresholds = vec![0.0, 1.0, 0.0, 0.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("12ab", 3)]));
    // Unfolded, full-width digits are separators: pieces ab x3 and 12 x1, a=3 b=3 1=1 2=1
    // (total 8), ab: ln(8*3/9) = 0.98.
    p.fold_width = false;
    p.thresholds = vec![0.0, 0.9, 0.0, 0.0];
    assert_eq!(run(text, &p, &cfg(1)), pairs(&[("ab", 3)]));
}

#[test]
fn auto_min_count_scales_with_corpus_size() {
    use nlp_text::newwords::auto_min_count;
    // 32 * chars / 7.3e8, rounded, clamped to 2..=32.
    assert_eq!(auto_min_count(Variant::V2019, 1_606_385), 2);
    assert_eq!(auto_min_count(Variant::V2019, 100_000_000), 4); // 4.38
    assert_eq!(auto_min_count(Variant::V2019, 365_000_000), 16);
    assert_eq!(auto_min_count(Variant::V2019, 10_000_000_000), 32);
    assert_eq!(auto_min_count(Variant::V2017, 365_000_000), 64);
    // The discovery reports the count it used: 3 lines of "ab" = 6 characters -> 2.
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "in.txt", b"ab\nab\nab\n");
    let mut p = Params::v2019();
    p.auto_min_count = true;
    let (_, report) = discover(vec![Source::File(path)], &p, &cfg(1)).unwrap();
    assert_eq!(report.min_count, 2);
}

#[test]
fn prefix_table_presegmentation_equals_the_plain_one() {
    use nlp_text::newwords::{KeptPrefixes, presegment_codes, presegment_prefixed};
    use nlp_text::ngram::{pieces, word_code};
    // Kept grams: every 2..4-gram of a few real phrases (overlapping, with shared prefixes).
    let mut k = HashSet::new();
    for phrase in [
        "中国人民",
        "人民日报",
        "中国共产党",
        "新华社",
        "记者",
        "经济发展",
    ] {
        let codes: Vec<u16> = phrase.chars().map(|c| word_code(c, true)).collect();
        for i in 0..codes.len() {
            for len in 2..=4.min(codes.len() - i) {
                let key = codes[i..i + len]
                    .iter()
                    .fold(0u64, |k, &c| (k << 15) | c as u64);
                if (i + len) % 2 == 0 {
                    k.insert(key);
                }
            }
        }
    }
    let table = KeptPrefixes::new(&k);
    let text = std::fs::read_to_string(common::fixture("wordfreq_input.txt")).unwrap();
    let (mut n, mut joined) = (0, 0);
    for piece in pieces(&text) {
        let codes: Vec<u16> = piece.chars().map(|c| word_code(c, true)).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        presegment_codes(&codes, &k, 4, |s, e| a.push((s, e)));
        presegment_prefixed(&codes, &table, 4, |s, e| b.push((s, e)));
        assert_eq!(a, b, "{piece}");
        n += a.len();
        joined += a.iter().filter(|(s, e)| e - s > 1).count();
    }
    assert!(n > 10_000 && joined > 100, "{n} {joined}");
}

#[test]
fn pruned_counting_gives_the_words_of_counting_all_grams() {
    let text = std::fs::read_to_string(common::fixture("wordfreq_input.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "in.txt", text.as_bytes());
    for (variant, min_count) in [
        (Params::v2019(), 4),
        (Params::v2019(), 2),
        (Params::v2017(), 3),
    ] {
        let mut p = variant;
        p.min_count = min_count;
        let (pruned, rp) = discover(vec![Source::File(path.clone())], &p, &cfg(2)).unwrap();
        p.all_grams = true;
        let (all, ra) = discover(vec![Source::File(path.clone())], &p, &cfg(2)).unwrap();
        assert!(all.len() > 300, "{}", all.len());
        assert_eq!(pruned, all);
        assert_eq!((rp.frequent_grams, rp.total), (ra.frequent_grams, ra.total));
        assert!(rp.distinct_grams < ra.distinct_grams);
        // Spilled on a tiny budget, the pruned counts are still exact.
        p.all_grams = false;
        let (spilled, rs) =
            discover(vec![Source::File(path.clone())], &p, &tiny_cfg(2, 4096)).unwrap();
        assert!(rs.spilled_runs > 2);
        assert_eq!(spilled, all);
    }
}
