//! Answer metrics of the reading-comprehension posts: accuracy is exact match after
//! normalisation (full-width → half-width, lower case, punctuation and spaces removed), F1 is
//! character-level (the characters in common as multisets, as SQuAD's F1 counts words), each
//! the maximum over the acceptable answers; final = (accuracy + F1) / 2.

use std::collections::HashMap;

use nlp_text::width::fold_width;

use super::items::QaItem;

/// Whether `c` (already width-folded) is punctuation or a symbol mark: ASCII punctuation,
/// Latin-1 marks (`·`, `«`, …), general punctuation (`“”‘’—…`), CJK symbols and punctuation
/// (`。、《》「」【】`), CJK compatibility and small forms, half-width CJK marks.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c as u32,
            0x00A1..=0x00BF
                | 0x00D7
                | 0x00F7
                | 0x2000..=0x206F
                | 0x3000..=0x303F
                | 0x30FB
                | 0xFE10..=0xFE1F
                | 0xFE30..=0xFE6F
                | 0xFF5F..=0xFF65
        )
}

/// The normal form answers are compared in: width-folded, lower-cased, without punctuation or
/// whitespace.
pub fn normalize_answer(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .flat_map(char::to_lowercase)
        .filter(|&c| !c.is_whitespace() && !is_punctuation(c))
        .collect()
}

/// Character F1 of a normalised prediction against a normalised answer.
fn char_f1(prediction: &str, answer: &str) -> f64 {
    let mut counts: HashMap<char, isize> = HashMap::new();
    for c in answer.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let mut common = 0usize;
    for c in prediction.chars() {
        if let Some(n) = counts.get_mut(&c)
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / prediction.chars().count() as f64;
    let recall = common as f64 / answer.chars().count() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Accuracy and F1 summed over items.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QaScores {
    /// Items scored.
    pub count: usize,
    /// Sum of exact matches.
    pub exact: f64,
    /// Sum of F1.
    pub f1_sum: f64,
}

impl QaScores {
    /// Add one prediction against its acceptable answers (an empty prediction, or none, scores
    /// zero).
    pub fn add(&mut self, prediction: &str, answers: &[&str]) {
        let prediction = normalize_answer(prediction);
        let answers: Vec<String> = answers.iter().map(|a| normalize_answer(a)).collect();
        self.count += 1;
        if !prediction.is_empty() {
            self.exact += f64::from(u8::from(answers.contains(&prediction)));
            self.f1_sum += answers
                .iter()
                .map(|a| char_f1(&prediction, a))
                .fold(0.0, f64::max);
        }
    }

    /// Scores of `(prediction, acceptable answers)` pairs.
    pub fn score<'a>(pairs: impl IntoIterator<Item = (&'a str, Vec<&'a str>)>) -> Self {
        let mut scores = Self::default();
        for (prediction, answers) in pairs {
            scores.add(prediction, &answers);
        }
        scores
    }

    /// Share of exact matches.
    pub fn accuracy(&self) -> f64 {
        self.exact / self.count.max(1) as f64
    }

    /// Mean character F1.
    pub fn f1(&self) -> f64 {
        self.f1_sum / self.count.max(1) as f64
    }

    /// (accuracy + F1) / 2, the posts' final score.
    pub fn final_score(&self) -> f64 {
        (self.accuracy() + self.f1()) / 2.0
    }
}

impl std::fmt::Display for QaScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accuracy={:.4} f1={:.4} final={:.4}",
            self.accuracy(),
            self.f1(),
            self.final_score()
        )
    }
}

/// Scores of `answers` (one per item, in order) against the items' acceptable answers.
pub fn score_answers(answers: &[String], items: &[QaItem]) -> QaScores {
    QaScores::score(
        answers
            .iter()
            .zip(items)
            .map(|(a, i)| (a.as_str(), i.answers())),
    )
}

/// The shared loop's evaluation of a reader's dev answers: the posts' final score, with
/// accuracy and F1 in the report.
pub(crate) fn dev_evaluation(answers: &[String], dev: &[QaItem]) -> crate::train::Evaluation {
    let scores = score_answers(answers, dev);
    crate::train::Evaluation {
        score: scores.final_score(),
        report: format!("{} dev items: {scores}", scores.count),
    }
}
