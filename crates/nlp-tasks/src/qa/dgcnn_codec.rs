//! Text ↔ ids for the [`DgcnnReader`]: characters through a [`CharVocab`], and each
//! character's word (cut by `nlp-text`'s jieba-compatible segmenter, HMM on) through a
//! [`WordVocab`]; span labels, span decoding and the reader on the shared loop.
//!
//! Besides the ids, every passage character carries the [`MATCH_FEATURES`] numbers of
//! [`match_features`]: whether the character occurs in the question, and how many characters
//! of context an answer starting or ending there shares with the question's blank. They are
//! our addition to the post's reader (DrQA-style exact-match features).
//!
//! Decoding a passage takes the span of at most [`MAX_SPAN_CHARS`] characters with the highest
//! start × end probability; passages whose best span scores under [`SPAN_THRESHOLD`] are
//! dropped unless every passage of the item is, and the rest are merged by [`vote`].

use std::collections::HashMap;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use nlp_text::jieba_compat::JiebaPy;
use serde::{Deserialize, Serialize};

use super::context::{MATCH_CONTEXT, MATCH_FEATURES, match_features};
use super::dgcnn_reader::{DgcnnReader, ReaderInput, focal_loss};
use super::items::{QaItem, passage_rows, read_passages};
use super::metrics::dev_evaluation;
use super::vote::vote;
use crate::error::{Error, Result};
use crate::train::{Evaluation, TrainTask};
use crate::units::{CharVocab, PAD, UNK};

/// Longest answer span, in characters (the post's 12).
pub const MAX_SPAN_CHARS: usize = 12;
/// A passage whose best span scores (start × end) less than this gives no answer.
pub const SPAN_THRESHOLD: f64 = 0.1;

/// Word vocabulary: words seen at least `min_count` times get ids from 2 (0 padding,
/// 1 unknown), most frequent first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WordVocab {
    words: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, i64>,
}

impl WordVocab {
    /// Count `words` and keep those seen at least `min_count` times, at most `max_words`
    /// (ties by first appearance, so the vocabulary is deterministic).
    pub fn build<'a>(
        words: impl IntoIterator<Item = &'a str>,
        min_count: usize,
        max_words: usize,
    ) -> Self {
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, w) in words.into_iter().enumerate() {
            counts.entry(w).or_insert((0, i)).0 += 1;
        }
        let mut kept: Vec<(&str, (usize, usize))> = counts
            .into_iter()
            .filter(|(_, (n, _))| *n >= min_count)
            .collect();
        kept.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
        kept.truncate(max_words);
        Self::from_words(kept.into_iter().map(|(w, _)| w.to_string()).collect())
    }

    /// A vocabulary of exactly these words (ids from 2, in order).
    pub fn from_words(words: Vec<String>) -> Self {
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i64 + 2))
            .collect();
        Self { words, index }
    }

    /// Rebuild the lookup table after deserialising.
    pub fn reindexed(self) -> Self {
        Self::from_words(self.words)
    }

    /// Number of ids including padding and unknown.
    pub fn len(&self) -> usize {
        self.words.len() + 2
    }

    /// Whether only padding and unknown exist.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word` (unknown: 1).
    pub fn id(&self, word: &str) -> i64 {
        self.index.get(word).copied().unwrap_or(UNK)
    }
}

/// A text as character ids and, per character, the id of its word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharWords {
    /// Character ids.
    pub chars: Vec<i64>,
    /// Word id of each character.
    pub words: Vec<i64>,
}

/// One training row: a question, a passage and where the answer starts and ends in it
/// (every occurrence; none when the passage does not hold it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DgcnnExample {
    /// The question.
    pub question: CharWords,
    /// The passage.
    pub passage: CharWords,
    /// [`match_features`] of the passage, in eighths (`[len · MATCH_FEATURES]`).
    pub features: Vec<u8>,
    /// Start characters of the answer's occurrences.
    pub starts: Vec<usize>,
    /// End characters (inclusive) of the answer's occurrences.
    pub ends: Vec<usize>,
}

/// Text ↔ ids for the DGCNN reader.
pub struct DgcnnReaderCodec {
    /// Characters.
    pub chars: CharVocab,
    /// Words.
    pub words: WordVocab,
    segmenter: JiebaPy,
    /// Question characters kept.
    pub max_question: usize,
    /// Passage characters kept.
    pub max_passage: usize,
}

impl DgcnnReaderCodec {
    /// A codec over the two vocabularies; questions cut to 64 characters, passages to 256.
    pub fn new(chars: CharVocab, words: WordVocab) -> Self {
        Self {
            chars,
            words,
            segmenter: JiebaPy::new(),
            max_question: 64,
            max_passage: 256,
        }
    }

    /// Vocabularies from the questions and passages of `items`: characters seen twice,
    /// words seen twice (at most 100,000).
    pub fn build(items: &[QaItem]) -> Self {
        let segmenter = JiebaPy::new();
        let texts = || {
            items.iter().flat_map(|i| {
                std::iter::once(i.question.as_str())
                    .chain(i.passages.iter().map(|p| p.passage.as_str()))
            })
        };
        let chars = CharVocab::build(texts(), 2);
        let mut words = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for text in texts() {
            // Items of one article share passages: count each distinct text once.
            if seen.insert(text) {
                segmenter.cut(text, true, &mut words);
            }
        }
        let words = WordVocab::build(words, 2, 100_000);
        Self::new(chars, words)
    }

    /// The first `max` characters of `text` with their word ids.
    pub fn encode(&self, text: &str, max: usize) -> CharWords {
        let cut: String = text.chars().take(max).collect();
        let mut pieces = Vec::new();
        self.segmenter.cut(&cut, true, &mut pieces);
        let mut words = Vec::with_capacity(max);
        for piece in pieces {
            let id = self.words.id(piece);
            words.extend(std::iter::repeat_n(id, piece.chars().count()));
        }
        CharWords {
            chars: self.chars.encode(&cut),
            words,
        }
    }

    /// The training row of `question` over `passage` whose answer there is `answer` (empty:
    /// not in this passage). `None` when the answer is longer than [`MAX_SPAN_CHARS`] or the
    /// passage lost it to truncation.
    pub fn example(&self, question: &str, passage: &str, answer: &str) -> Option<DgcnnExample> {
        let (starts, ends) = self.spans(passage, answer)?;
        Some(DgcnnExample {
            question: self.encode(question, self.max_question),
            passage: self.encode(passage, self.max_passage),
            features: self.features(question, passage),
            starts,
            ends,
        })
    }

    /// Starts and ends of `answer`'s occurrences in the kept part of `passage` (none for an
    /// empty answer); `None` when a non-empty answer is too long or does not occur.
    fn spans(&self, passage: &str, answer: &str) -> Option<(Vec<usize>, Vec<usize>)> {
        let kept: Vec<char> = passage.chars().take(self.max_passage).collect();
        let target: Vec<char> = answer.chars().collect();
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        if !target.is_empty() {
            if target.len() > MAX_SPAN_CHARS {
                return None;
            }
            for (i, w) in kept.windows(target.len()).enumerate() {
                if w == target.as_slice() {
                    starts.push(i);
                    ends.push(i + target.len() - 1);
                }
            }
            if starts.is_empty() {
                return None;
            }
        }
        Some((starts, ends))
    }

    /// Training rows of every passage of every item (see [`Self::example`]), and how many
    /// passages were left out. Items of one article share passages and every passage of an
    /// item shares its question: each distinct text is segmented once.
    pub fn examples(&self, items: &[QaItem]) -> Result<(Vec<DgcnnExample>, usize)> {
        let mut seen: HashMap<(String, usize), CharWords> = HashMap::new();
        let mut encode = |text: &str, max: usize| {
            seen.entry((text.to_string(), max))
                .or_insert_with(|| self.encode(text, max))
                .clone()
        };
        passage_rows(items, |q, p, a| {
            Ok(self.spans(p, a).map(|(starts, ends)| DgcnnExample {
                question: encode(q, self.max_question),
                passage: encode(p, self.max_passage),
                features: self.features(q, p),
                starts,
                ends,
            }))
        })
    }

    /// [`match_features`] of the kept part of `passage`, in eighths.
    pub fn features(&self, question: &str, passage: &str) -> Vec<u8> {
        let kept: Vec<char> = passage.chars().take(self.max_passage).collect();
        match_features(question, &kept)
    }

    /// The padded batch of `(question, passage, passage features)` rows.
    pub fn input(&self, rows: &[(&CharWords, &CharWords, &[u8])], device: &Device) -> ReaderInput {
        let (question_chars, question_words, question_mask) =
            padded(rows.iter().map(|r| r.0), device);
        let (passage_chars, passage_words, passage_mask) = padded(rows.iter().map(|r| r.1), device);
        let len = passage_chars.dims()[1];
        let mut features = vec![0.0f32; rows.len() * len * MATCH_FEATURES];
        for (r, row) in rows.iter().enumerate() {
            let at = r * len * MATCH_FEATURES;
            for (slot, &v) in features[at..].iter_mut().zip(row.2) {
                *slot = f32::from(v) / MATCH_CONTEXT as f32;
            }
        }
        let passage_features = Tensor::<3>::from_data(
            TensorData::new(features, [rows.len(), len, MATCH_FEATURES]),
            device,
        );
        ReaderInput {
            passage_features,
            question_chars,
            question_words,
            question_mask,
            passage_chars,
            passage_words,
            passage_mask,
        }
    }

    /// Focal loss of the start and end probabilities of a batch, `[1]`.
    pub fn loss(&self, model: &DgcnnReader, batch: &[&DgcnnExample]) -> Tensor<1> {
        let device = model.chars.weight.val().device();
        let rows: Vec<(&CharWords, &CharWords, &[u8])> = batch
            .iter()
            .map(|e| (&e.question, &e.passage, e.features.as_slice()))
            .collect();
        let input = self.input(&rows, &device);
        let mask = input.passage_mask.clone().float();
        let len = mask.dims()[1];
        let labels = |at: &dyn Fn(&DgcnnExample) -> &Vec<usize>| {
            let mut values = vec![0.0f32; batch.len() * len];
            for (r, e) in batch.iter().enumerate() {
                for &i in at(e) {
                    values[r * len + i] = 1.0;
                }
            }
            Tensor::<2>::from_data(TensorData::new(values, [batch.len(), len]), &device)
        };
        let out = model.forward(input);
        focal_loss(out.start, labels(&|e| &e.starts), mask.clone()).add(focal_loss(
            out.end,
            labels(&|e| &e.ends),
            mask,
        ))
    }

    /// The answer of every item (empty when no passage gave one), in item order; passages are
    /// read `batch_size` at a time, sorted by length. `progress` hears the items done.
    pub fn answer_items(
        &self,
        model: &DgcnnReader,
        items: &[QaItem],
        batch_size: usize,
        progress: impl FnMut(usize),
    ) -> Result<Vec<String>> {
        let device = model.chars.weight.val().device();
        let questions: Vec<CharWords> = items
            .iter()
            .map(|item| self.encode(&item.question, self.max_question))
            .collect();
        let candidates = read_passages(
            items,
            batch_size,
            |item, passage| {
                let features = self.features(&item.question, &passage.passage);
                Ok((self.encode(&passage.passage, self.max_passage), features))
            },
            |passage| passage.0.chars.len(),
            |passages, at| {
                let pairs: Vec<(&CharWords, &CharWords, &[u8])> = passages
                    .iter()
                    .zip(at)
                    .map(|(&(passage, features), &(item, _))| {
                        (&questions[item], passage, features.as_slice())
                    })
                    .collect();
                let out = model.forward(self.input(&pairs, &device));
                let len = out.start.dims()[1];
                let (start, end) = (host(out.start)?, host(out.end)?);
                Ok(passages
                    .iter()
                    .zip(at)
                    .enumerate()
                    .map(|(k, (passage, &(item, p)))| {
                        let real = k * len..k * len + passage.0.chars.len();
                        let (s, e, score) =
                            best_span(&start[real.clone()], &end[real], MAX_SPAN_CHARS)?;
                        let text = items[item].passages[p].passage.chars().skip(s);
                        Some((text.take(e + 1 - s).collect(), score))
                    })
                    .collect())
            },
            progress,
        )?;
        // Passages under the threshold are dropped unless every passage of the item is.
        Ok(candidates
            .into_iter()
            .map(|spans| {
                let sure = spans.iter().any(|s| s.1 >= SPAN_THRESHOLD);
                let kept = spans.into_iter().filter(|s| !sure || s.1 >= SPAN_THRESHOLD);
                vote(kept).unwrap_or_default()
            })
            .collect())
    }
}

/// The span `(start, end inclusive, start[s]·end[e])` of at most `max_len` characters with the
/// highest product; `None` for an empty passage.
pub fn best_span(start: &[f32], end: &[f32], max_len: usize) -> Option<(usize, usize, f64)> {
    let mut best: Option<(usize, usize, f64)> = None;
    for (s, &ps) in start.iter().enumerate() {
        for (e, &pe) in end.iter().enumerate().skip(s).take(max_len) {
            let score = f64::from(ps) * f64::from(pe);
            if best.is_none_or(|b| score > b.2) {
                best = Some((s, e, score));
            }
        }
    }
    best
}

fn host(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| Error::Reader(format!("span probabilities: {e:?}")))
}

/// Right-padded character ids, word ids and the padding mask of `texts`.
fn padded<'a>(
    texts: impl Iterator<Item = &'a CharWords>,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2, Bool>) {
    let texts: Vec<&CharWords> = texts.collect();
    let len = texts
        .iter()
        .map(|t| t.chars.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let rows = texts.len();
    let (mut chars, mut words) = (vec![PAD; rows * len], vec![PAD; rows * len]);
    for (r, t) in texts.iter().enumerate() {
        chars[r * len..r * len + t.chars.len()].copy_from_slice(&t.chars);
        words[r * len..r * len + t.words.len()].copy_from_slice(&t.words);
    }
    let ints = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [rows, len]), device);
    let chars = ints(chars);
    let mask = chars.clone().not_equal_elem(PAD);
    (chars, ints(words), mask)
}

/// The DGCNN reader on the shared loop: focal loss, dev scored by the posts' final score.
pub struct DgcnnReaderTask<'a> {
    /// Text ↔ ids.
    pub codec: &'a DgcnnReaderCodec,
    /// Items answered at every evaluation.
    pub dev: &'a [QaItem],
    /// Passages read together.
    pub batch_size: usize,
}

impl TrainTask for DgcnnReaderTask<'_> {
    type Model = DgcnnReader;
    type Example = DgcnnExample;

    fn loss(&self, model: &DgcnnReader, batch: &[&DgcnnExample]) -> Tensor<1> {
        self.codec.loss(model, batch)
    }

    fn evaluate(&self, model: &DgcnnReader) -> Result<Evaluation> {
        let answers = self
            .codec
            .answer_items(model, self.dev, self.batch_size, |_| {})?;
        Ok(dev_evaluation(&answers, self.dev))
    }

    fn example_len(&self, example: &DgcnnExample) -> Option<usize> {
        Some(example.passage.chars.len())
    }
}
