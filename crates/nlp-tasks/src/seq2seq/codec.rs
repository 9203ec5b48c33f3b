//! Text ↔ ids for the two title models: BERT tokens for UniLM (a pre-trained vocabulary with
//! `[unused*]` ids for missing characters, or a character vocabulary written as `vocab.txt`),
//! and character ids for the LSTM (0 padding, 1 unknown, 2 start, 3 end, characters from 4).

use std::collections::BTreeMap;

use nlp_models::lstm_seq2seq::{END, PAD, START, UNK};
use nlp_models::tokenizer::{BertTokenizer, decode_tokens};

use super::loss::Seq2SeqExample;
use super::pairs::Pair;
use super::poetry::MAX_TITLE_CHARS;
use crate::error::{Error, Result};
use crate::generate::{GenerationConfig, Strategy};
use crate::units::{CharVocab, UnitEncoder};

/// The tokens a BERT character vocabulary starts with, in id order.
pub const BERT_SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// The offset from a [`CharVocab`] id to an LSTM id: the vocabulary has padding and unknown
/// at 0 and 1 as the LSTM does, and the LSTM's start and end take 2 and 3.
const LSTM_SHIFT: usize = END + 1 - 2;

/// How titles and sources become ids and back.
#[derive(Debug, Clone)]
pub enum TitleCodec {
    /// UniLM on BERT: sources `[CLS] source [SEP]`, targets `title [SEP]`.
    Bert {
        /// Tokenizer, source length and `[unused*]` characters.
        encoder: UnitEncoder,
        /// `[SEP]`, the end token.
        sep: usize,
        /// Tokens never generated (`[PAD]`, `[UNK]`, `[CLS]`, `[MASK]`).
        banned: Vec<usize>,
        /// `[unused*]` id → character, to write generated ids back.
        extra_chars: BTreeMap<usize, char>,
    },
    /// The LSTM: characters in, characters out.
    Chars {
        /// The characters.
        vocab: CharVocab,
        /// Longest source kept, in characters.
        max_len: usize,
    },
}

impl TitleCodec {
    /// A BERT codec: sources cut to `max_len` tokens (with `[CLS]` and `[SEP]`), `extra`
    /// characters mapped to `[unused*]` ids (see [`crate::units::spare_token_ids`]).
    pub fn bert(
        tokenizer: BertTokenizer,
        extra: BTreeMap<char, i64>,
        max_len: usize,
    ) -> Result<Self> {
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .map(|i| i as usize)
                .ok_or_else(|| {
                    Error::Generation(format!("the BERT vocabulary has no {token} token"))
                })
        };
        let sep = id("[SEP]")?;
        let banned = ["[PAD]", "[UNK]", "[CLS]", "[MASK]"]
            .into_iter()
            .filter_map(|t| id(t).ok())
            .collect();
        let extra_chars = extra.iter().map(|(&c, &i)| (i as usize, c)).collect();
        Ok(Self::Bert {
            encoder: UnitEncoder::Bert {
                tokenizer: Box::new(tokenizer),
                max_len,
                extra,
            },
            sep,
            banned,
            extra_chars,
        })
    }

    /// An LSTM codec over `vocab`, sources cut to `max_len` characters.
    pub fn chars(vocab: CharVocab, max_len: usize) -> Self {
        Self::Chars { vocab, max_len }
    }

    /// Ids of the model's vocabulary.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Bert { encoder, .. } => match encoder {
                UnitEncoder::Bert { tokenizer, .. } => tokenizer.vocab_size(),
                UnitEncoder::Chars { vocab, .. } => vocab.len(),
            },
            Self::Chars { vocab, .. } => vocab.len() + LSTM_SHIFT,
        }
    }

    /// The end token.
    pub fn end_id(&self) -> usize {
        match self {
            Self::Bert { sep, .. } => *sep,
            Self::Chars { .. } => END,
        }
    }

    /// The source ids of `text`; empty when nothing of it can be encoded (an empty text).
    pub fn source(&self, text: &str) -> Result<Vec<usize>> {
        Ok(match self {
            Self::Bert { encoder, .. } => {
                let ids = to_usize(encoder.encode(text)?.ids);
                // `[CLS] [SEP]` alone: nothing to read.
                if ids.len() <= 2 { Vec::new() } else { ids }
            }
            Self::Chars { vocab, max_len } => {
                let ids = vocab.encode(text).into_iter().take(*max_len);
                ids.map(|i| lstm_id(i as usize)).collect()
            }
        })
    }

    /// The target ids of `title` (at most [`MAX_TITLE_CHARS`] units), end token included.
    pub fn target(&self, title: &str) -> Result<Vec<usize>> {
        Ok(match self {
            Self::Bert { encoder, .. } => {
                // `[CLS] title [SEP]` without the `[CLS]`.
                let ids = encoder.encode_at_most(title, MAX_TITLE_CHARS + 2)?.ids;
                to_usize(ids).into_iter().skip(1).collect()
            }
            Self::Chars { vocab, .. } => {
                let ids = vocab.encode(title).into_iter().take(MAX_TITLE_CHARS);
                ids.map(|i| lstm_id(i as usize))
                    .chain(std::iter::once(END))
                    .collect()
            }
        })
    }

    /// The training example of `pair`, or `None` when its source or title is empty.
    pub fn example(&self, pair: &Pair) -> Result<Option<Seq2SeqExample>> {
        let source = self.source(&pair.src)?;
        let target = self.target(&pair.tgt)?;
        Ok((!source.is_empty() && target.len() > 1).then_some(Seq2SeqExample { source, target }))
    }

    /// Generated ids (without the end token) as text; unknown ids write U+FFFD.
    pub fn text(&self, ids: &[usize]) -> String {
        match self {
            Self::Bert {
                encoder,
                extra_chars,
                ..
            } => {
                let tokens: Vec<String> = ids
                    .iter()
                    .map(|id| match extra_chars.get(id) {
                        Some(c) => c.to_string(),
                        None => match encoder {
                            UnitEncoder::Bert { tokenizer, .. } => tokenizer
                                .id_to_token(*id as u32)
                                .unwrap_or_else(|| "\u{fffd}".into()),
                            UnitEncoder::Chars { vocab, .. } => vocab
                                .char_of(*id as i64)
                                .map_or_else(|| "\u{fffd}".into(), String::from),
                        },
                    })
                    .collect();
                decode_tokens(&tokens)
            }
            Self::Chars { vocab, .. } => ids
                .iter()
                .map(|&id| {
                    id.checked_sub(LSTM_SHIFT)
                        .filter(|&i| i >= 2)
                        .and_then(|i| vocab.char_of(i as i64))
                        .unwrap_or('\u{fffd}')
                })
                .collect(),
        }
    }

    /// Generation settings for titles: `strategy`, up to [`MAX_TITLE_CHARS`] units and the end
    /// token, the special tokens banned.
    pub fn generation(&self, strategy: Strategy) -> GenerationConfig {
        let mut config = GenerationConfig::new(strategy, MAX_TITLE_CHARS + 1, vec![self.end_id()]);
        config.banned = match self {
            Self::Bert { banned, .. } => banned.clone(),
            Self::Chars { .. } => vec![PAD, UNK, START],
        };
        config
    }
}

/// The LSTM id of a [`CharVocab`] id.
fn lstm_id(vocab_id: usize) -> usize {
    if vocab_id < 2 {
        vocab_id
    } else {
        vocab_id + LSTM_SHIFT
    }
}

fn to_usize(ids: Vec<i64>) -> Vec<usize> {
    ids.into_iter().map(|i| i as usize).collect()
}

/// The `vocab.txt` of a from-scratch UniLM: [`BERT_SPECIAL_TOKENS`], then the characters of
/// `texts` seen at least `min_count` times (first appearance order), one per line.
pub fn char_vocab_txt<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: usize) -> String {
    let vocab = CharVocab::build(texts, min_count);
    let mut out: String = BERT_SPECIAL_TOKENS
        .iter()
        .map(|t| format!("{t}\n"))
        .collect();
    for c in vocab.chars() {
        if !c.is_whitespace() {
            out.push(*c);
            out.push('\n');
        }
    }
    out
}
