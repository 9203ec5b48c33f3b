//! JSON-lines files, the one data format of every task: one value per line, blank lines skipped,
//! errors naming the file and line; written atomically.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::train::write_atomic;

/// The values of a JSON-lines file with their one-based line numbers. A line that is not UTF-8
/// or not a `T`, and a file without any value, are errors naming the file (and line).
pub(crate) fn read_json_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<(usize, T)>> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let mut out = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_err = |message: String| Error::Line {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let line = std::str::from_utf8(raw).map_err(|_| line_err("not valid UTF-8".into()))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).map_err(|e| line_err(e.to_string()))?;
        out.push((index + 1, value));
    }
    if out.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "lines",
        });
    }
    Ok(out)
}

/// Write `values` as JSON lines through a temporary file and a rename (never a partial file).
pub(crate) fn write_json_lines<T: Serialize>(path: &Path, values: &[T]) -> Result<()> {
    let mut out = String::new();
    for value in values {
        let line = serde_json::to_string(value)
            .map_err(|e| Error::invalid(path, format!("cannot serialize a line: {e}")))?;
        out.push_str(&line);
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())
}
