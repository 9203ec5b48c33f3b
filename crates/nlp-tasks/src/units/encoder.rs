//! A text as model units: characters (DGCNN) or WordPiece tokens (BERT), each with its
//! character range in the text, so that spans found on units map back to text.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use nlp_models::tokenizer::BertTokenizer;

use super::vocab::CharVocab;

/// A text as model units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    /// Unit ids.
    pub ids: Vec<i64>,
    /// Character range of each unit in the text; empty (`0..0`) for special tokens.
    pub offsets: Vec<Range<usize>>,
}

impl Units {
    /// Number of units.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no unit.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The units `(first, last)` (inclusive) exactly covering the characters `chars`, if the
    /// range starts and ends on unit boundaries of kept (not truncated) units.
    pub fn unit_span(&self, chars: &Range<usize>) -> Option<(usize, usize)> {
        let real = |u: &usize| !self.offsets[*u].is_empty();
        let first = (0..self.len())
            .filter(real)
            .find(|&u| self.offsets[u].start == chars.start)?;
        let last = (first..self.len())
            .filter(real)
            .find(|&u| self.offsets[u].end == chars.end)?;
        Some((first, last))
    }

    /// The characters covered by units `first..=last`, if both are real units.
    pub fn char_span(&self, first: usize, last: usize) -> Option<Range<usize>> {
        let (a, b) = (self.offsets.get(first)?, self.offsets.get(last)?);
        (!a.is_empty() && !b.is_empty() && a.start < b.end).then_some(a.start..b.end)
    }
}

/// Turns text into [`Units`].
#[derive(Debug, Clone)]
pub enum UnitEncoder {
    /// One unit per character, at most `max_len` of them.
    Chars {
        /// The vocabulary.
        vocab: CharVocab,
        /// Longest sequence kept.
        max_len: usize,
    },
    /// BERT WordPiece with `[CLS]` and `[SEP]`, at most `max_len` tokens.
    Bert {
        /// The tokenizer.
        tokenizer: Box<BertTokenizer>,
        /// Longest sequence kept (special tokens included).
        max_len: usize,
        /// Characters the vocabulary lacks, given ids of its `[unused*]` tokens: an `[UNK]`
        /// token of exactly one such character gets that id (see [`spare_token_ids`]).
        extra: BTreeMap<char, i64>,
    },
}

impl UnitEncoder {
    /// Longest piece of text, in characters, that one sequence holds whole (BERT keeps two
    /// places for `[CLS]` and `[SEP]`): tasks cut longer texts into pieces of this length.
    pub fn max_chars(&self) -> usize {
        match self {
            Self::Chars { max_len, .. } => *max_len,
            Self::Bert { max_len, .. } => max_len.saturating_sub(2),
        }
    }

    /// Encode `text` (an error only when the tokenizer fails).
    pub fn encode(&self, text: &str) -> Result<Units, nlp_models::Error> {
        let max_len = match self {
            Self::Chars { max_len, .. } | Self::Bert { max_len, .. } => *max_len,
        };
        self.encode_at_most(text, max_len)
    }

    /// Encode `text` into at most `max_len` units instead of the encoder's own limit (a title
    /// beside its poem, say).
    pub fn encode_at_most(&self, text: &str, max_len: usize) -> Result<Units, nlp_models::Error> {
        match self {
            Self::Chars { vocab, .. } => {
                let ids: Vec<i64> = vocab.encode(text).into_iter().take(max_len).collect();
                let offsets = (0..ids.len()).map(|i| i..i + 1).collect();
                Ok(Units { ids, offsets })
            }
            Self::Bert {
                tokenizer, extra, ..
            } => {
                let enc = tokenizer.encode(text, None, Some(max_len))?;
                let unk = tokenizer.token_to_id("[UNK]").map(i64::from);
                let chars: Vec<char> = text.chars().collect();
                let id_of = |(&id, &(a, b)): (&u32, &(usize, usize))| {
                    let id = i64::from(id);
                    if Some(id) == unk && b == a + 1 {
                        chars
                            .get(a)
                            .and_then(|c| extra.get(c))
                            .copied()
                            .unwrap_or(id)
                    } else {
                        id
                    }
                };
                Ok(Units {
                    ids: enc.ids.iter().zip(&enc.offsets).map(id_of).collect(),
                    offsets: enc
                        .offsets
                        .iter()
                        .zip(&enc.special)
                        .map(|(&(a, b), &s)| if s { 0..0 } else { a..b })
                        .collect(),
                })
            }
        }
    }
}

/// Give the most frequent characters of `texts` that `tokenizer` turns into `[UNK]` the ids of
/// its spare `[unused0]`, `[unused1]`, … tokens (ties broken by first appearance), so that a
/// pre-trained BERT with a small CJK vocabulary can learn embeddings for them.
pub fn spare_token_ids<'a>(
    tokenizer: &BertTokenizer,
    texts: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<char, i64> {
    let spare: Vec<i64> = (0..)
        .map_while(|k| tokenizer.token_to_id(&format!("[unused{k}]")))
        .map(i64::from)
        .collect();
    let mut counts: HashMap<char, (usize, usize)> = HashMap::new();
    let mut buf = [0u8; 4];
    for text in texts {
        for c in text.chars() {
            let next = counts.len();
            counts.entry(c).or_insert((0, next)).0 += 1;
        }
    }
    let mut missing: Vec<(char, (usize, usize))> = counts
        .into_iter()
        .filter(|(c, _)| {
            !c.is_whitespace() && tokenizer.token_to_id(c.encode_utf8(&mut buf)).is_none()
        })
        .collect();
    missing.sort_by_key(|&(_, (n, first))| (std::cmp::Reverse(n), first));
    missing
        .into_iter()
        .zip(spare)
        .map(|((c, _), id)| (c, id))
        .collect()
}
