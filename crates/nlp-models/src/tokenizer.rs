//! BERT WordPiece tokenization with character offsets, on the `tokenizers` crate.
//!
//! Built from a `vocab.txt` (basic tokenization: optional lower-casing with accent stripping,
//! CJK characters and punctuation split off, control characters dropped; then greedy
//! longest-match WordPiece) or from a Hugging Face `tokenizer.json`. [`BertTokenizer::encode`]
//! gives token ids, segment ids and, for every token, its character span in the original text
//! (bert4keras' `rematch`, `[UNK]` included; special tokens get the empty span `(0, 0)`, as in
//! Hugging Face).

use std::path::{Path, PathBuf};

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::utils::truncation::{
    TruncationDirection, TruncationParams, TruncationStrategy, truncate_encodings,
};
use tokenizers::{PostProcessor, Tokenizer};

use crate::error::{Error, Result};

/// One encoded text or text pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// Token ids, with `[CLS]` first and `[SEP]` after each text.
    pub ids: Vec<u32>,
    /// Segment ids: 0 for `[CLS]`, text A and its `[SEP]`; 1 for text B and its `[SEP]`.
    pub type_ids: Vec<u32>,
    /// Token strings.
    pub tokens: Vec<String>,
    /// Character span `[start, end)` of each token in its text (A or B); `(0, 0)` for special
    /// tokens.
    pub offsets: Vec<(usize, usize)>,
    /// `true` on `[CLS]`/`[SEP]`.
    pub special: Vec<bool>,
}

impl Encoding {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A BERT tokenizer.
#[derive(Debug, Clone)]
pub struct BertTokenizer {
    inner: Tokenizer,
    source: PathBuf,
}

impl BertTokenizer {
    /// Build from a `vocab.txt` (one token per line, id = line number).
    /// `lowercase` also strips accents, as BERT's uncased models expect.
    pub fn from_vocab(path: impl AsRef<Path>, lowercase: bool) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let err = |reason: String| Error::Tokenizer {
            path: path.clone(),
            reason,
        };
        std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        let path_str = path
            .to_str()
            .ok_or_else(|| err("the path is not UTF-8".into()))?;
        // Token = line with trailing whitespace removed, id = line number (as transformers).
        let vocab = WordPiece::read_file(path_str).map_err(|e| err(e.to_string()))?;
        let id = |token: &str| {
            vocab
                .get(token)
                .copied()
                .ok_or_else(|| err(format!("the vocabulary has no `{token}` token")))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        id("[UNK]")?;
        let model = WordPiece::builder()
            .vocab(vocab.clone())
            .unk_token("[UNK]".into())
            .continuing_subword_prefix("##".into())
            .build()
            .map_err(|e| err(e.to_string()))?;
        let mut inner = Tokenizer::new(model);
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                true,
                Some(lowercase),
                lowercase,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_post_processor(Some(BertProcessing::new(
                ("[SEP]".into(), sep),
                ("[CLS]".into(), cls),
            )))
            .with_decoder(Some(WordPieceDecoder::default()));
        Ok(Self {
            inner,
            source: path,
        })
    }

    /// Load a Hugging Face `tokenizer.json` (its own truncation and padding settings are
    /// dropped: [`encode`](Self::encode) truncates to the `maxlen` it is given and never pads).
    pub fn from_tokenizer_json(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut inner = Tokenizer::from_file(&path).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner,
            source: path,
        })
    }

    /// `tokenizer.json` when the directory has one, else `vocab.txt` (lower-casing when
    /// `lowercase_vocab`).
    pub fn from_dir(dir: impl AsRef<Path>, lowercase_vocab: bool) -> Result<Self> {
        let dir = dir.as_ref();
        if dir.join("tokenizer.json").is_file() {
            Self::from_tokenizer_json(dir.join("tokenizer.json"))
        } else if dir.join("vocab.txt").is_file() {
            Self::from_vocab(dir.join("vocab.txt"), lowercase_vocab)
        } else {
            Err(Error::NotACheckpoint {
                path: dir.to_path_buf(),
                reason: "no tokenizer.json or vocab.txt found".into(),
            })
        }
    }

    /// The underlying `tokenizers` tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of a token.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Token of an id.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    fn err(&self, reason: impl ToString) -> Error {
        Error::Tokenizer {
            path: self.source.clone(),
            reason: reason.to_string(),
        }
    }

    /// Tokenize `text` (no special tokens) with character offsets.
    pub fn tokenize(&self, text: &str) -> Result<Vec<(String, (usize, usize))>> {
        let enc = self
            .inner
            .encode_char_offsets(text, false)
            .map_err(|e| self.err(e))?;
        Ok(enc
            .get_tokens()
            .iter()
            .cloned()
            .zip(enc.get_offsets().iter().copied())
            .collect())
    }

    /// Encode one text, or a pair when `second` is given, into at most `maxlen` tokens
    /// (special tokens included; `None` = no limit). The longer text loses its last tokens
    /// first.
    pub fn encode(
        &self,
        first: &str,
        second: Option<&str>,
        maxlen: Option<usize>,
    ) -> Result<Encoding> {
        let a = self
            .inner
            .encode_char_offsets(first, false)
            .map_err(|e| self.err(e))?;
        let b = match second {
            Some(text) => Some(
                self.inner
                    .encode_char_offsets(text, false)
                    .map_err(|e| self.err(e))?,
            ),
            None => None,
        };
        let (a, b) = match maxlen {
            Some(maxlen) => {
                let added = self
                    .inner
                    .get_post_processor()
                    .map_or(0, |p| p.added_tokens(b.is_some()));
                if maxlen < added + 1 {
                    return Err(self.err(format!(
                        "maxlen {maxlen} leaves no room for text besides {added} special tokens"
                    )));
                }
                let params = TruncationParams {
                    direction: TruncationDirection::Right,
                    max_length: maxlen - added,
                    strategy: TruncationStrategy::LongestFirst,
                    stride: 0,
                };
                truncate_encodings(a, b, &params).map_err(|e| self.err(e))?
            }
            None => (a, b),
        };
        let enc = self
            .inner
            .post_process(a, b, true)
            .map_err(|e| self.err(e))?;
        Ok(Encoding {
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
            tokens: enc.get_tokens().to_vec(),
            offsets: enc.get_offsets().to_vec(),
            special: enc
                .get_special_tokens_mask()
                .iter()
                .map(|&s| s == 1)
                .collect(),
        })
    }

    /// Ids back to text, bert4keras style: special tokens dropped, `##` pieces glued, CJK
    /// characters and most punctuation written without spaces, other words space-separated.
    pub fn decode(&self, ids: &[u32]) -> String {
        let tokens: Vec<String> = ids
            .iter()
            .filter_map(|&id| self.inner.id_to_token(id))
            .filter(|t| !(t.starts_with('[') && t.ends_with(']') && t.len() > 2))
            .collect();
        decode_tokens(&tokens)
    }
}

/// Join WordPiece tokens into text (bert4keras' `Tokenizer.decode`).
pub fn decode_tokens(tokens: &[String]) -> String {
    let mut text = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let mut chars = token.chars();
        let single = match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        };
        if let Some(rest) = token.strip_prefix("##") {
            text.push_str(rest);
        } else if single.is_some_and(is_cjk) {
            text.push_str(token);
        } else if single.is_some_and(is_punctuation) {
            text.push_str(token);
            text.push(' ');
        } else if i > 0 && text.chars().last().is_some_and(is_cjk) {
            text.push_str(token);
        } else {
            text.push(' ');
            text.push_str(token);
        }
    }
    // Collapse spaces; no space after CJK punctuation or opening brackets/operators, nor
    // inside decimals like "3. 5".
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = out.chars().last();
            if prev.is_none() || prev == Some(' ') {
                continue;
            }
            let p = prev.expect("checked");
            if is_cjk_punctuation(p) || "+-/={(<[".contains(p) {
                continue;
            }
            if p == '.'
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
                && out.chars().rev().nth(1).is_some_and(|d| d.is_ascii_digit())
            {
                continue;
            }
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// CJK unified ideographs (the blocks BERT's basic tokenizer splits into single characters).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// ASCII punctuation and Unicode punctuation categories (BERT's `_is_punctuation`, close
/// enough for decoding and vocabulary trimming).
pub fn is_punctuation(c: char) -> bool {
    let cp = c as u32;
    (33..=47).contains(&cp)
        || (58..=64).contains(&cp)
        || (91..=96).contains(&cp)
        || (123..=126).contains(&cp)
        || (!c.is_alphanumeric() && !c.is_whitespace() && !c.is_control() && cp > 127 && !is_cjk(c))
}

fn is_cjk_punctuation(c: char) -> bool {
    "＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､\u{3000}、〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏﹑﹔·！？｡。"
        .contains(c)
}

/// bert4keras' simplified vocabulary: the ids to keep (`keep_tokens`) and the new vocabulary.
///
/// Drops every token of more than one character whose stem (the token without a leading
/// `##`) contains a CJK character or punctuation (so `##们`, `中国` and `[unused1]` go): the Chinese basic tokenizer splits those
/// characters off, so such tokens can never be produced. Tokens in `startswith` (e.g. `[PAD]`,
/// `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`) are kept first, in that order.
pub fn simplified_vocab(vocab: &[String], startswith: &[&str]) -> (Vec<usize>, Vec<String>) {
    let mut keep = Vec::new();
    let mut tokens = Vec::new();
    for s in startswith {
        if let Some(i) = vocab.iter().position(|t| t == s) {
            keep.push(i);
            tokens.push(s.to_string());
        }
    }
    for (i, token) in vocab.iter().enumerate() {
        if startswith.contains(&token.as_str()) {
            continue;
        }
        // As bert4keras: the length test is on the whole token, the character test on its stem.
        let body = token.strip_prefix("##").unwrap_or(token);
        let long = token.chars().count() > 1;
        if long && body.chars().any(|c| is_cjk(c) || is_punctuation(c)) {
            continue;
        }
        keep.push(i);
        tokens.push(token.clone());
    }
    (keep, tokens)
}

/// Read a `vocab.txt` into its token list.
pub fn read_vocab(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect())
}
