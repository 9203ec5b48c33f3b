//! Word-level precision / recall / F1 of a segmentation against a gold one (span based).

use crate::Error;

/// How gold lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldFormat {
    /// People's Daily: `word/POS` tokens separated by spaces, `[...]xx` compounds allowed.
    PeoplesDaily,
    /// Plain words separated by whitespace.
    Plain,
    /// People's Daily if every token of the first non-empty lines carries a `/tag`.
    Auto,
}

/// Strips a People's Daily token (`[中央/n`, `电台/n]nt`, `１２月/t`) to its word.
pub fn pd_word(token: &str) -> &str {
    let t = token
        .strip_prefix('[')
        .filter(|r| !r.is_empty())
        .unwrap_or(token);
    let t = match t.rfind(']') {
        Some(i)
            if i > 0
                && t[i + 1..].chars().all(|c| c.is_ascii_alphabetic())
                && t[..i].contains('/') =>
        {
            &t[..i]
        }
        _ => t,
    };
    match t.rfind('/') {
        Some(i)
            if i > 0 && t[i + 1..].chars().all(|c| c.is_ascii_alphabetic()) && i + 1 < t.len() =>
        {
            &t[..i]
        }
        _ => t,
    }
}

fn looks_pd(token: &str) -> bool {
    match token.rfind('/') {
        Some(i) => {
            i > 0
                && i + 1 < token.len()
                && token[i + 1..]
                    .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ']')
                    .is_empty()
        }
        None => false,
    }
}

/// Decides the format from sample lines.
pub fn detect_format<'a>(lines: impl IntoIterator<Item = &'a str>) -> GoldFormat {
    let mut seen = 0;
    for l in lines {
        for t in l.split_whitespace() {
            if !looks_pd(t) {
                return GoldFormat::Plain;
            }
            seen += 1;
        }
        if seen > 200 {
            break;
        }
    }
    if seen > 0 {
        GoldFormat::PeoplesDaily
    } else {
        GoldFormat::Plain
    }
}

/// The words of one gold or predicted line.
pub fn words_of(line: &str, format: GoldFormat) -> Vec<&str> {
    line.split_whitespace()
        .map(|t| {
            if format == GoldFormat::PeoplesDaily {
                pd_word(t)
            } else {
                t
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Character spans `(start, end)` of consecutive words.
pub fn spans(words: &[&str]) -> Vec<(usize, usize)> {
    let mut pos = 0;
    words
        .iter()
        .map(|w| {
            let s = pos;
            pos += w.chars().count();
            (s, pos)
        })
        .collect()
}

/// Accumulated scores.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Gold words.
    pub gold: u64,
    /// Predicted words.
    pub pred: u64,
    /// Predicted words whose span is a gold span.
    pub correct: u64,
    /// Lines compared.
    pub lines: u64,
    /// Lines whose texts differ (not scored).
    pub mismatched: u64,
    /// First mismatched line number (1-based), if any.
    pub first_mismatch: Option<u64>,
}

impl Scores {
    /// Scores one pair of lines (already split into words).
    pub fn add(&mut self, line_no: u64, gold: &[&str], pred: &[&str]) {
        if gold.concat() != pred.concat() {
            self.mismatched += 1;
            self.first_mismatch.get_or_insert(line_no);
            return;
        }
        self.lines += 1;
        let g = spans(gold);
        let p = spans(pred);
        self.gold += g.len() as u64;
        self.pred += p.len() as u64;
        let (mut i, mut j) = (0, 0);
        while i < g.len() && j < p.len() {
            if g[i] == p[j] {
                self.correct += 1;
                i += 1;
                j += 1;
            } else if g[i].1 < p[j].1 {
                i += 1;
            } else if g[i].1 > p[j].1 {
                j += 1;
            } else {
                i += 1;
                j += 1;
            }
        }
    }

    /// Precision.
    pub fn precision(&self) -> f64 {
        if self.pred == 0 {
            0.0
        } else {
            self.correct as f64 / self.pred as f64
        }
    }

    /// Recall.
    pub fn recall(&self) -> f64 {
        if self.gold == 0 {
            0.0
        } else {
            self.correct as f64 / self.gold as f64
        }
    }

    /// F1.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Scores a whole predicted text against a gold text, line by line.
pub fn evaluate(gold: &str, pred: &str, format: GoldFormat) -> Result<Scores, Error> {
    let gold_lines: Vec<&str> = gold.lines().collect();
    let pred_lines: Vec<&str> = pred.lines().collect();
    if gold_lines.len() != pred_lines.len() {
        return Err(Error::Invalid(format!(
            "gold has {} lines but the segmentation has {}",
            gold_lines.len(),
            pred_lines.len()
        )));
    }
    let format = match format {
        GoldFormat::Auto => detect_format(gold_lines.iter().copied().take(50)),
        f => f,
    };
    let mut s = Scores::default();
    for (i, (g, p)) in gold_lines.iter().zip(&pred_lines).enumerate() {
        s.add(
            i as u64 + 1,
            &words_of(g, format),
            &words_of(p, GoldFormat::Plain),
        );
    }
    Ok(s)
}

/// The raw text of a gold line: words concatenated, tags and spaces removed.
pub fn raw_line(line: &str, format: GoldFormat) -> String {
    words_of(line, format).concat()
}
