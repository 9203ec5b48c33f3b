//! Title metrics as bert4keras' seq2seq examples compute them: character-level ROUGE-1/2/L F1
//! (the Python `rouge` package on characters joined by spaces) and sentence BLEU with NLTK's
//! smoothing method 1, averaged over every test pair (an empty prediction scores zero).
//!
//! The formulas follow those packages exactly, including their quirks, so the figures compare
//! with published ones: ROUGE-N counts *distinct* n-grams (sets, `exclusive=True`), ROUGE-L is
//! the summary-level union LCS over distinct words, F = 2PR/(P+R+1e-8), and the text is split
//! into sentences at ASCII `.` before the words are taken.

use std::collections::{HashMap, HashSet};

/// ROUGE F1 scores of one hypothesis against one reference.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rouge {
    /// ROUGE-1 F1.
    pub rouge_1: f64,
    /// ROUGE-2 F1.
    pub rouge_2: f64,
    /// ROUGE-L F1 (summary level).
    pub rouge_l: f64,
}

/// Characters of `text` joined by spaces, then lower-cased: the form bert4keras scores.
pub fn spaced_chars(text: &str) -> String {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    chars.join(" ").to_lowercase()
}

/// The sentences of a `rouge` input: split at `.`, empty pieces dropped, runs of whitespace
/// collapsed; each sentence as its words (split at single spaces, as the package does).
fn sentences(text: &str) -> Vec<Vec<&str>> {
    text.split('.')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let words: Vec<&str> = piece.split_whitespace().collect();
            // `" ".join([])` is `""`, and `"".split(" ")` is `[""]`: one empty word.
            if words.is_empty() { vec![""] } else { words }
        })
        .collect()
}

/// F1 with the package's epsilon.
fn f1(precision: f64, recall: f64) -> f64 {
    2.0 * ((precision * recall) / (precision + recall + 1e-8))
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Distinct n-grams of a word sequence.
fn ngram_set<'a>(words: &[&'a str], n: usize) -> HashSet<Vec<&'a str>> {
    if words.len() < n {
        return HashSet::new();
    }
    words.windows(n).map(|w| w.to_vec()).collect()
}

fn rouge_n(hyp: &[&str], reference: &[&str], n: usize) -> f64 {
    let h = ngram_set(hyp, n);
    let r = ngram_set(reference, n);
    let overlap = h.intersection(&r).count();
    f1(ratio(overlap, h.len()), ratio(overlap, r.len()))
}

/// The words of the longest common subsequence of `x` (reference) and `y` (hypothesis), picked
/// the way the package's back-trace picks among equal-length ones.
fn lcs_words<'a>(x: &[&'a str], y: &[&str]) -> Vec<&'a str> {
    let (n, m) = (x.len(), y.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in 1..=n {
        for j in 1..=m {
            table[i][j] = if x[i - 1] == y[j - 1] {
                table[i - 1][j - 1] + 1
            } else {
                table[i - 1][j].max(table[i][j - 1])
            };
        }
    }
    let (mut i, mut j) = (n, m);
    let mut words = Vec::new();
    while i > 0 && j > 0 {
        if x[i - 1] == y[j - 1] {
            words.push(x[i - 1]);
            i -= 1;
            j -= 1;
        } else if table[i - 1][j] > table[i][j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    words
}

fn rouge_l(hyp: &[Vec<&str>], reference: &[Vec<&str>]) -> f64 {
    let distinct = |s: &[Vec<&str>]| s.iter().flatten().collect::<HashSet<_>>().len();
    let (m, n) = (distinct(reference), distinct(hyp));
    let mut union: HashSet<&str> = HashSet::new();
    for r in reference {
        for h in hyp {
            union.extend(lcs_words(r, h));
        }
    }
    f1(ratio(union.len(), n), ratio(union.len(), m))
}

fn flatten<'a>(sentences: &[Vec<&'a str>]) -> Vec<&'a str> {
    sentences.iter().flatten().copied().collect()
}

/// ROUGE-1/2/L F1 of `hyp` against `reference`, both already in the scored form (words
/// separated by spaces, e.g. [`spaced_chars`]). A side without words scores zero (the package
/// raises an error there).
pub fn rouge(hyp: &str, reference: &str) -> Rouge {
    let (h, r) = (sentences(hyp), sentences(reference));
    if h.is_empty() || r.is_empty() {
        return Rouge::default();
    }
    let (hw, rw) = (flatten(&h), flatten(&r));
    Rouge {
        rouge_1: rouge_n(&hw, &rw, 1),
        rouge_2: rouge_n(&hw, &rw, 2),
        rouge_l: rouge_l(&h, &r),
    }
}

/// How often each n-gram occurs.
fn ngram_counts<'a>(words: &[&'a str], n: usize) -> HashMap<Vec<&'a str>, usize> {
    let mut counts = HashMap::new();
    if words.len() >= n {
        for w in words.windows(n) {
            *counts.entry(w.to_vec()).or_default() += 1;
        }
    }
    counts
}

/// NLTK's `sentence_bleu([reference], hyp, smoothing_function=method1)`: uniform weights over
/// 1- to 4-grams, clipped counts, zero-count precisions replaced by 0.1 / count, brevity
/// penalty against the reference length; zero when no unigram matches.
pub fn sentence_bleu(hyp: &[&str], reference: &[&str]) -> f64 {
    let mut log_sum = 0.0;
    for n in 1..=4 {
        let h = ngram_counts(hyp, n);
        let r = ngram_counts(reference, n);
        let matched: usize = h
            .iter()
            .map(|(g, &c)| c.min(r.get(g).copied().unwrap_or(0)))
            .sum();
        let total = h.values().sum::<usize>().max(1);
        if n == 1 && matched == 0 {
            return 0.0;
        }
        let precision = if matched == 0 {
            0.1 / total as f64
        } else {
            matched as f64 / total as f64
        };
        log_sum += 0.25 * precision.ln();
    }
    let (c, r) = (hyp.len(), reference.len());
    let brevity = if c > r {
        1.0
    } else {
        (1.0 - r as f64 / c as f64).exp()
    };
    brevity * log_sum.exp()
}

/// The averages over a test set of [`rouge`] and [`sentence_bleu`] on characters, as
/// bert4keras' title examples report them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TitleScores {
    /// Mean ROUGE-1 F1.
    pub rouge_1: f64,
    /// Mean ROUGE-2 F1.
    pub rouge_2: f64,
    /// Mean ROUGE-L F1.
    pub rouge_l: f64,
    /// Mean sentence BLEU.
    pub bleu: f64,
    /// Pairs scored.
    pub count: usize,
}

impl TitleScores {
    /// Scores `(prediction, reference)` pairs; a blank prediction counts as zero on every metric.
    pub fn score<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut s = Self::default();
        for (prediction, reference) in pairs {
            s.count += 1;
            let (hyp, reference) = (spaced_chars(prediction), spaced_chars(reference));
            if hyp.trim().is_empty() {
                continue;
            }
            let r = rouge(&hyp, &reference);
            s.rouge_1 += r.rouge_1;
            s.rouge_2 += r.rouge_2;
            s.rouge_l += r.rouge_l;
            let hyp_words: Vec<&str> = hyp.split(' ').collect();
            let reference_words: Vec<&str> = reference.split(' ').collect();
            s.bleu += sentence_bleu(&hyp_words, &reference_words);
        }
        let n = s.count.max(1) as f64;
        s.rouge_1 /= n;
        s.rouge_2 /= n;
        s.rouge_l /= n;
        s.bleu /= n;
        s
    }
}

impl std::fmt::Display for TitleScores {
    /// `rouge-1=… rouge-2=… rouge-l=… bleu=…`, the figures of `eval`'s last line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rouge-1={:.4} rouge-2={:.4} rouge-l={:.4} bleu={:.4}",
            self.rouge_1, self.rouge_2, self.rouge_l, self.bleu
        )
    }
}
