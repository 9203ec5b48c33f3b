//! What the BERT readers share: question, passage and answer text as tokens with character
//! offsets (special tokens dropped), and the passage n-gram constraint of the posts.

use std::collections::BTreeMap;

use nlp_models::tokenizer::BertTokenizer;

use crate::error::{Error, Result};
use crate::units::{UnitEncoder, Units};

/// Question tokens kept by default.
pub const MAX_QUESTION_TOKENS: usize = 64;
/// Passage tokens kept by default.
pub const MAX_PASSAGE_TOKENS: usize = 256;

/// A BERT tokenizer (characters it lacks mapped to `[unused*]` ids) with the ids of the
/// special tokens the readers use.
#[derive(Debug, Clone)]
pub(crate) struct ReaderTokens {
    encoder: UnitEncoder,
    pub cls: usize,
    pub sep: usize,
    pub mask: usize,
}

impl ReaderTokens {
    pub fn new(tokenizer: BertTokenizer, extra: BTreeMap<char, i64>) -> Result<Self> {
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .map(|i| i as usize)
                .ok_or_else(|| Error::Reader(format!("the BERT vocabulary has no {token} token")))
        };
        let (cls, sep, mask) = (id("[CLS]")?, id("[SEP]")?, id("[MASK]")?);
        Ok(Self {
            encoder: UnitEncoder::Bert {
                tokenizer: Box::new(tokenizer),
                max_len: MAX_PASSAGE_TOKENS + 2,
                extra,
            },
            cls,
            sep,
            mask,
        })
    }

    /// The tokens of `text` without `[CLS]` and `[SEP]`, at most `max` of them.
    pub fn units(&self, text: &str, max: usize) -> Result<Units> {
        let all = self.encoder.encode_at_most(text, max + 2)?;
        let keep: Vec<usize> = (0..all.len())
            .filter(|&u| !all.offsets[u].is_empty())
            .collect();
        Ok(Units {
            ids: keep.iter().map(|&u| all.ids[u]).collect(),
            offsets: keep.iter().map(|&u| all.offsets[u].clone()).collect(),
        })
    }

    /// Tokens of an answer (no special tokens), at most `max`.
    pub fn answer_tokens(&self, answer: &str, max: usize) -> Result<Vec<usize>> {
        Ok(ids(&self.units(answer, max)?))
    }
}

/// The ids of `units` as `usize`.
pub(crate) fn ids(units: &Units) -> Vec<usize> {
    units.ids.iter().map(|&i| i as usize).collect()
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[usize], needle: &[usize]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Tokens that follow `prefix` somewhere in `passage` (any passage token for an empty prefix),
/// sorted.
pub(crate) fn continuations(passage: &[usize], prefix: &[usize]) -> Vec<usize> {
    let n = prefix.len();
    let mut out: Vec<usize> = (0..passage.len().saturating_sub(n))
        .filter(|&i| &passage[i..i + n] == prefix)
        .map(|i| passage[i + n])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The text of `passage` that the tokens `answer` cover (the first place they occur in the
/// passage's tokens `units`), as the passage writes it; `None` when they do not occur.
pub(crate) fn answer_text(passage: &str, units: &Units, answer: &[usize]) -> Option<String> {
    let start = find(&ids(units), answer)?;
    let span = units.offsets[start].start..units.offsets[start + answer.len() - 1].end;
    Some(passage.chars().skip(span.start).take(span.len()).collect())
}
