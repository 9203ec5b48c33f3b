//! The QA item format, JSON lines `{"id", "question", "passages": [{"passage", "answer"}],
//! "answer"}` with `"answer": ""` on passages without it: the layout of the WebQA and SogouQA
//! files of bert4keras' examples, so those files work with the same commands.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jsonl::{read_json_lines, write_json_lines};

/// One passage of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The text.
    pub passage: String,
    /// The answer as it occurs in this passage, or empty.
    #[serde(default)]
    pub answer: String,
}

/// A question with its passages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QaItem {
    /// Identifier, echoed by prediction.
    pub id: String,
    /// The question (for the cloze set: a sentence with the answer replaced by `XXXXX`).
    pub question: String,
    /// The passages to answer from.
    pub passages: Vec<Passage>,
    /// The acceptable answers, separated by `|` (empty when unknown, e.g. for prediction).
    #[serde(default)]
    pub answer: String,
    /// The nouns of the passages with their counts, in order of first appearance (written by
    /// the cloze builder for the noun baselines; absent in other files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nouns: Vec<(String, usize)>,
}

impl QaItem {
    /// The acceptable answers (non-empty pieces of `answer` split at `|`).
    pub fn answers(&self) -> Vec<&str> {
        self.answer.split('|').filter(|a| !a.is_empty()).collect()
    }
}

/// Read items. A line without an id, a question or any passage is an error naming the line,
/// and so is, with `need_answer`, a line without an answer (training and test files).
pub fn load_items(path: &Path, need_answer: bool) -> Result<Vec<QaItem>> {
    let lines: Vec<(usize, QaItem)> = read_json_lines(path)?;
    for (line, item) in &lines {
        let problem = if item.id.is_empty() {
            Some("empty or missing `id`")
        } else if item.question.is_empty() {
            Some("empty or missing `question`")
        } else if item.passages.is_empty() {
            Some("no `passages`")
        } else if need_answer && item.answers().is_empty() {
            Some("empty or missing `answer`")
        } else {
            None
        };
        if let Some(message) = problem {
            return Err(Error::Line {
                path: path.to_path_buf(),
                line: *line,
                message: message.into(),
            });
        }
    }
    Ok(lines.into_iter().map(|(_, item)| item).collect())
}

/// Write items as JSON lines (atomically).
pub fn save_items(path: &Path, items: &[QaItem]) -> Result<()> {
    write_json_lines(path, items)
}

/// One training row per passage of every item, made by `row(question, passage, answer)`
/// (`None`: the passage is left out), and how many passages were left out.
pub(crate) fn passage_rows<E>(
    items: &[QaItem],
    mut row: impl FnMut(&str, &str, &str) -> Result<Option<E>>,
) -> Result<(Vec<E>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for item in items {
        for p in &item.passages {
            match row(&item.question, &p.passage, &p.answer)? {
                Some(e) => out.push(e),
                None => skipped += 1,
            }
        }
    }
    Ok((out, skipped))
}

/// Where a passage is: (item index, passage index).
pub(crate) type PassageAt = (usize, usize);

/// Answer candidates of every passage of every item, for the readers that read passages one
/// by one and vote: `row(item, passage)` prepares a passage, the rows are read `batch_size`
/// at a time in order of `len` (less padding), and `read(rows, at)` gives each row's answer
/// text with its score, or `None`. Returns the candidates of each item in item order;
/// `progress` hears the number of items whose passages are all read.
pub(crate) fn read_passages<R>(
    items: &[QaItem],
    batch_size: usize,
    mut row: impl FnMut(&QaItem, &Passage) -> Result<R>,
    len: impl Fn(&R) -> usize,
    mut read: impl FnMut(&[&R], &[PassageAt]) -> Result<Vec<Option<(String, f64)>>>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Vec<(String, f64)>>> {
    let mut rows = Vec::new();
    for (i, item) in items.iter().enumerate() {
        for (p, passage) in item.passages.iter().enumerate() {
            rows.push(((i, p), row(item, passage)?));
        }
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&r| len(&rows[r].1));
    let mut candidates: Vec<Vec<(String, f64)>> = vec![Vec::new(); items.len()];
    let mut remaining: Vec<usize> = items.iter().map(|i| i.passages.len()).collect();
    let mut done = 0;
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<&R> = chunk.iter().map(|&r| &rows[r].1).collect();
        let at: Vec<PassageAt> = chunk.iter().map(|&r| rows[r].0).collect();
        for (&(item, _), answer) in at.iter().zip(read(&batch, &at)?) {
            if let Some(answer) = answer {
                candidates[item].push(answer);
            }
            remaining[item] -= 1;
            if remaining[item] == 0 {
                done += 1;
            }
        }
        progress(done);
    }
    Ok(candidates)
}
