//! Source → target pairs in plain JSON lines, `{"src": "...", "tgt": "..."}`: the format of the
//! poetry loader and of any pairs a user brings (abstract → title, question → answer).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jsonl::{read_json_lines, write_json_lines};

/// One source text and its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The input text.
    pub src: String,
    /// The text to generate (empty where only sources are given, e.g. for prediction).
    #[serde(default)]
    pub tgt: String,
}

/// Read pairs; a line without `src`, or with an empty `src`, is an error naming the line.
/// With `need_target`, so is a line without a non-empty `tgt` (training and test files).
pub fn load_pairs(path: &Path, need_target: bool) -> Result<Vec<Pair>> {
    let lines: Vec<(usize, Pair)> = read_json_lines(path)?;
    for (line, pair) in &lines {
        let missing = if pair.src.is_empty() {
            Some("src")
        } else if need_target && pair.tgt.is_empty() {
            Some("tgt")
        } else {
            None
        };
        if let Some(field) = missing {
            return Err(Error::Line {
                path: path.to_path_buf(),
                line: *line,
                message: format!("empty or missing `{field}`"),
            });
        }
    }
    Ok(lines.into_iter().map(|(_, p)| p).collect())
}

/// Write pairs as JSON lines (atomically).
pub fn save_pairs(path: &Path, pairs: &[Pair]) -> Result<()> {
    write_json_lines(path, pairs)
}
