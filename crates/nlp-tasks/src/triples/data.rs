//! SKE / DuIE data: JSON lines `{"text": …, "spo_list": [{"subject", "predicate", "object"}]}`
//! and a schema file (one JSON object per line with `predicate`, `subject_type`, `object_type`).
//!
//! Entities are located in the text by their first occurrence (as the seed posts do); triples
//! whose subject or object is not found are reported, not silently used.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jsonl::{read_json_lines, write_json_lines};

/// One (subject, predicate, object) triple as strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Triple {
    /// Subject text.
    pub subject: String,
    /// Predicate name (from the schema).
    pub predicate: String,
    /// Object text.
    pub object: String,
}

impl Triple {
    /// A triple from three strings.
    pub fn new(
        subject: impl Into<String>,
        predicate: impl Into<String>,
        object: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            predicate: predicate.into(),
            object: object.into(),
        }
    }
}

/// One sample: a text and its triples (an empty list for unlabelled text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The sentence.
    pub text: String,
    /// Its triples.
    #[serde(default)]
    pub spo_list: Vec<Triple>,
}

/// One line of a schema file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaEntry {
    /// Predicate name.
    pub predicate: String,
    /// Type of its subjects.
    #[serde(default)]
    pub subject_type: String,
    /// Type of its objects.
    #[serde(default)]
    pub object_type: String,
}

/// The predicates in id order (file order, duplicates dropped).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// The entries.
    pub entries: Vec<SchemaEntry>,
    ids: BTreeMap<String, usize>,
}

impl Schema {
    /// A schema from entries (later duplicates of a predicate are dropped).
    pub fn new(entries: Vec<SchemaEntry>) -> Self {
        let mut kept = Vec::new();
        let mut ids = BTreeMap::new();
        for e in entries {
            if !ids.contains_key(&e.predicate) {
                ids.insert(e.predicate.clone(), kept.len());
                kept.push(e);
            }
        }
        Self { entries: kept, ids }
    }

    /// Number of predicates.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no predicate.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Id of a predicate.
    pub fn id(&self, predicate: &str) -> Option<usize> {
        self.ids.get(predicate).copied()
    }

    /// Name of a predicate id.
    pub fn name(&self, id: usize) -> &str {
        &self.entries[id].predicate
    }
}

/// Read a schema file (`all_50_schemas` format).
pub fn load_schema(path: &Path) -> Result<Schema> {
    let entries: Vec<SchemaEntry> = read_json_lines(path)?.into_iter().map(|(_, e)| e).collect();
    Ok(Schema::new(entries))
}

/// Read samples; a predicate missing from `schema` is an error naming its line.
pub fn load_samples(path: &Path, schema: &Schema) -> Result<Vec<Sample>> {
    let lines: Vec<(usize, Sample)> = read_json_lines(path)?;
    for (line, sample) in &lines {
        if let Some(t) = sample
            .spo_list
            .iter()
            .find(|t| schema.id(&t.predicate).is_none())
        {
            return Err(Error::Line {
                path: path.to_path_buf(),
                line: *line,
                message: format!("predicate `{}` is not in the schema", t.predicate),
            });
        }
    }
    Ok(lines.into_iter().map(|(_, s)| s).collect())
}

/// Write samples as JSON lines (atomically).
pub fn save_samples(path: &Path, samples: &[Sample]) -> Result<()> {
    write_json_lines(path, samples)
}

/// Write a schema as JSON lines (atomically).
pub fn save_schema(path: &Path, schema: &Schema) -> Result<()> {
    write_json_lines(path, &schema.entries)
}

/// First occurrence of `needle` in `haystack` (any element type), as a half-open range.
pub fn find_first<T: PartialEq>(haystack: &[T], needle: &[T]) -> Option<std::ops::Range<usize>> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .find(|&i| haystack[i..i + needle.len()] == *needle)
        .map(|i| i..i + needle.len())
}

/// A triple located in its text: character ranges (half-open) and the predicate id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CharTriple {
    /// Subject characters.
    pub subject: std::ops::Range<usize>,
    /// Predicate id.
    pub predicate: usize,
    /// Object characters.
    pub object: std::ops::Range<usize>,
}

/// The outcome of locating one sample's triples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located {
    /// Triples whose subject and object were found (duplicates dropped).
    pub triples: Vec<CharTriple>,
    /// Triples whose subject or object is not in the text (or whose predicate is unknown).
    pub missing: Vec<Triple>,
}

/// Locate the triples of `sample` by the first occurrence of subject and object.
pub fn locate(sample: &Sample, schema: &Schema) -> Located {
    let chars: Vec<char> = sample.text.chars().collect();
    let mut out = Located::default();
    for t in &sample.spo_list {
        let s: Vec<char> = t.subject.chars().collect();
        let o: Vec<char> = t.object.chars().collect();
        match (
            find_first(&chars, &s),
            schema.id(&t.predicate),
            find_first(&chars, &o),
        ) {
            (Some(subject), Some(predicate), Some(object)) => {
                let found = CharTriple {
                    subject,
                    predicate,
                    object,
                };
                if !out.triples.contains(&found) {
                    out.triples.push(found);
                }
            }
            _ => out.missing.push(t.clone()),
        }
    }
    out
}
