//! Character vocabulary of the character-level models (the DGCNN taggers and extractors).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Id of padding.
pub const PAD: i64 = 0;
/// Id of characters not in the vocabulary.
pub const UNK: i64 = 1;

/// Characters seen in training with at least `min_count` occurrences get ids from 2.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CharVocab {
    chars: Vec<char>,
    #[serde(skip)]
    index: HashMap<char, i64>,
}

impl CharVocab {
    /// Build from texts, keeping characters seen at least `min_count` times (ties broken by
    /// first appearance, so the vocabulary is deterministic).
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: HashMap<char, usize> = HashMap::new();
        let mut order = Vec::new();
        for text in texts {
            for c in text.chars() {
                let n = counts.entry(c).or_insert(0);
                if *n == 0 {
                    order.push(c);
                }
                *n += 1;
            }
        }
        let chars: Vec<char> = order
            .into_iter()
            .filter(|c| counts[c] >= min_count)
            .collect();
        Self::from_chars(chars)
    }

    /// A vocabulary of exactly these characters (ids from 2, in order).
    pub fn from_chars(chars: Vec<char>) -> Self {
        let index = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as i64 + 2))
            .collect();
        Self { chars, index }
    }

    /// Rebuild the lookup table after deserialising.
    pub fn reindexed(self) -> Self {
        Self::from_chars(self.chars)
    }

    /// Number of ids including padding and unknown.
    pub fn len(&self) -> usize {
        self.chars.len() + 2
    }

    /// Whether only padding and unknown exist.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Ids of the characters of `text`.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        text.chars()
            .map(|c| self.index.get(&c).copied().unwrap_or(UNK))
            .collect()
    }

    /// The character of id `id` (`None` for padding, unknown and ids out of range).
    pub fn char_of(&self, id: i64) -> Option<char> {
        usize::try_from(id - 2)
            .ok()
            .and_then(|i| self.chars.get(i))
            .copied()
    }

    /// The characters, in id order (the first has id 2).
    pub fn chars(&self) -> &[char] {
        &self.chars
    }
}
