//! The MLM reader ("“非自回归”也不差：基于MLM的阅读理解问答"): BERT reads
//! `[CLS] [MASK]×k [SEP] question [SEP] passage [SEP]` (one segment) and its MLM head fills
//! the k mask slots with the answer and a `[SEP]` terminator, all slots at once. Decoding per
//! passage is greedy per slot among the tokens that continue an n-gram of that passage (or
//! `[SEP]`), stopping at `[SEP]`; the passage's score is the mean of the chosen slots'
//! probabilities, and the passages' answers are merged by [`vote`].

use std::collections::BTreeMap;

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use nlp_models::bert::Bert;
use nlp_models::tokenizer::BertTokenizer;

use super::items::{QaItem, passage_rows, read_passages};
use super::metrics::dev_evaluation;
use super::tokens::{
    MAX_PASSAGE_TOKENS, MAX_QUESTION_TOKENS, ReaderTokens, answer_text, continuations, find, ids,
};
use super::vote::vote;
use crate::error::{Error, Result};
use crate::mlm::{TokenRows, mean_token_nll, mlm_logits_at};
use crate::train::{Evaluation, TrainTask};
use crate::units::Units;

/// Mask slots at most (the longest answer kept, plus its terminator).
pub const MAX_SLOTS: usize = 16;

/// Text ↔ ids for the MLM reader.
#[derive(Debug, Clone)]
pub struct MlmReaderCodec {
    tokens: ReaderTokens,
    /// Mask slots k: the longest answer in tokens, plus one for `[SEP]`.
    pub slots: usize,
    /// Question tokens kept.
    pub max_question: usize,
    /// Passage tokens kept.
    pub max_passage: usize,
}

/// One training row: the input ids and the label of each mask slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlmExample {
    /// `[CLS] [MASK]×k [SEP] question [SEP] passage [SEP]`.
    pub ids: Vec<usize>,
    /// Slot labels: the answer's tokens, then `[SEP]`, then `None` (no loss).
    pub labels: Vec<Option<usize>>,
}

/// A passage ready to read: the input ids, the passage's own tokens (ids and character
/// offsets) for the n-gram constraint and for mapping an answer back to text.
struct ReaderRow {
    ids: Vec<usize>,
    passage: Units,
}

impl MlmReaderCodec {
    /// A codec over `tokenizer` (characters it lacks mapped to `[unused*]` ids by `extra`)
    /// with `slots` mask slots and the default question and passage lengths.
    pub fn new(tokenizer: BertTokenizer, extra: BTreeMap<char, i64>, slots: usize) -> Result<Self> {
        if slots < 2 {
            return Err(Error::Reader(format!(
                "{slots} mask slots: need at least 2 (one answer token and [SEP])"
            )));
        }
        Ok(Self {
            tokens: ReaderTokens::new(tokenizer, extra)?,
            slots,
            max_question: MAX_QUESTION_TOKENS,
            max_passage: MAX_PASSAGE_TOKENS,
        })
    }

    /// The `[SEP]` id (the answer's terminator).
    pub fn sep(&self) -> usize {
        self.tokens.sep
    }

    /// Tokens of an answer (no special tokens).
    pub fn answer_tokens(&self, answer: &str) -> Result<Vec<usize>> {
        self.tokens.answer_tokens(answer, MAX_SLOTS * 4)
    }

    fn row(&self, question: &str, passage: &str) -> Result<ReaderRow> {
        let t = &self.tokens;
        let question = t.units(question, self.max_question)?;
        let passage = t.units(passage, self.max_passage)?;
        let mut row = vec![t.cls];
        row.extend(std::iter::repeat_n(t.mask, self.slots));
        row.push(t.sep);
        row.extend(ids(&question));
        row.push(t.sep);
        row.extend(ids(&passage));
        row.push(t.sep);
        Ok(ReaderRow { ids: row, passage })
    }

    /// A training row for `question` over `passage` whose answer there is `answer` (empty:
    /// the passage does not hold it, and the first slot learns `[SEP]`). `None` when the
    /// answer needs more slots than there are, or the passage lost it to truncation.
    pub fn example(
        &self,
        question: &str,
        passage: &str,
        answer: &str,
    ) -> Result<Option<MlmExample>> {
        let row = self.row(question, passage)?;
        let mut labels = vec![None; self.slots];
        if !answer.is_empty() {
            let tokens = self.answer_tokens(answer)?;
            let passage_ids = ids(&row.passage);
            if tokens.is_empty()
                || tokens.len() >= self.slots
                || find(&passage_ids, &tokens).is_none()
            {
                return Ok(None);
            }
            for (label, &t) in labels.iter_mut().zip(&tokens) {
                *label = Some(t);
            }
            labels[tokens.len()] = Some(self.sep());
        } else {
            labels[0] = Some(self.sep());
        }
        Ok(Some(MlmExample {
            ids: row.ids,
            labels,
        }))
    }

    /// Training rows of every passage of every item (see [`Self::example`]), and how many
    /// passages were left out.
    pub fn examples(&self, items: &[QaItem]) -> Result<(Vec<MlmExample>, usize)> {
        passage_rows(items, |q, p, a| self.example(q, p, a))
    }
}

/// Slots wanted for `items`: the longest answer in tokens plus one, at most [`MAX_SLOTS`].
pub fn slots_for(tokenizer: &BertTokenizer, items: &[QaItem]) -> Result<usize> {
    let codec = MlmReaderCodec::new(tokenizer.clone(), BTreeMap::new(), 2)?;
    let mut longest = 1;
    for item in items {
        for answer in item.answers() {
            longest = longest.max(codec.answer_tokens(answer)?.len());
        }
    }
    Ok((longest + 1).min(MAX_SLOTS))
}

/// Greedy constrained decoding of one passage's slots. `probs` is `[slots, vocab]`
/// row-major. Returns the answer tokens (without `[SEP]`) and the mean probability of the
/// chosen tokens, `[SEP]` included.
pub fn decode_slots(
    probs: &[f32],
    vocab: usize,
    passage: &[usize],
    sep: usize,
) -> (Vec<usize>, f64) {
    let slots = probs.len() / vocab.max(1);
    let mut answer = Vec::new();
    let mut total = 0.0;
    let mut used = 0;
    for slot in 0..slots {
        let row = &probs[slot * vocab..(slot + 1) * vocab];
        let mut allowed = continuations(passage, &answer);
        allowed.push(sep);
        let (best, p) = allowed
            .iter()
            .map(|&t| (t, row.get(t).copied().unwrap_or(0.0)))
            .fold(
                (sep, f32::NEG_INFINITY),
                |b, c| if c.1 > b.1 { c } else { b },
            );
        total += f64::from(p);
        used += 1;
        if best == sep {
            break;
        }
        answer.push(best);
    }
    (answer, total / used.max(1) as f64)
}

impl MlmReaderCodec {
    /// The answer of every item (empty when no passage gave one), in item order; rows are
    /// read `batch_size` at a time, sorted by length. `progress` hears the items done.
    pub fn answer_items(
        &self,
        bert: &Bert,
        items: &[QaItem],
        batch_size: usize,
        progress: impl FnMut(usize),
    ) -> Result<Vec<String>> {
        let candidates = read_passages(
            items,
            batch_size,
            |item, passage| self.row(&item.question, &passage.passage),
            |row| row.ids.len(),
            |rows, at| {
                let probs = self.slot_probabilities(bert, rows.iter().copied())?;
                let block = probs.len() / rows.len();
                let vocab = block / self.slots;
                Ok(rows
                    .iter()
                    .zip(at)
                    .enumerate()
                    .map(|(k, (row, &(item, p)))| {
                        let probs = &probs[k * block..(k + 1) * block];
                        let (tokens, score) =
                            decode_slots(probs, vocab, &ids(&row.passage), self.sep());
                        let passage = &items[item].passages[p].passage;
                        answer_text(passage, &row.passage, &tokens).map(|text| (text, score))
                    })
                    .collect())
            },
            progress,
        )?;
        Ok(candidates
            .into_iter()
            .map(|c| vote(c).unwrap_or_default())
            .collect())
    }

    /// Softmax of the slot logits of `rows`, `[rows, slots, vocab]` row-major on the host.
    fn slot_probabilities<'r>(
        &self,
        bert: &Bert,
        rows: impl Iterator<Item = &'r ReaderRow>,
    ) -> Result<Vec<f32>> {
        let batch = TokenRows::pad_one_segment(rows.map(|r| &r.ids[..]), bert.pad_id);
        let logits = mlm_logits_at(bert, &batch, self.slot_positions(batch.rows, batch.len));
        softmax(logits, 2)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| Error::Reader(format!("slot probabilities: {e:?}")))
    }

    /// Flat positions of every row's mask slots (positions 1..=slots).
    fn slot_positions(&self, rows: usize, len: usize) -> Vec<i64> {
        (0..rows)
            .flat_map(|r| (1..=self.slots).map(move |s| (r * len + s) as i64))
            .collect()
    }

    /// Mean cross-entropy over the labelled slots of a batch, `[1]`.
    pub fn loss(&self, bert: &Bert, batch: &[&MlmExample]) -> Tensor<1> {
        let device = bert.embeddings.word_embeddings.weight.device();
        let rows = TokenRows::pad_one_segment(batch.iter().map(|e| &e.ids[..]), bert.pad_id);
        let labels: Vec<Option<usize>> = batch.iter().flat_map(|e| e.labels.clone()).collect();
        let positions = self.slot_positions(batch.len(), rows.len);
        let logits = mlm_logits_at(bert, &rows, positions);
        mean_token_nll(logits, &labels, &device)
    }
}

/// The MLM reader on the shared loop: slot cross-entropy, dev scored by the posts' final
/// score (accuracy and F1 also reported).
pub struct MlmReaderTask<'a> {
    /// Text ↔ ids.
    pub codec: &'a MlmReaderCodec,
    /// Items answered after every epoch.
    pub dev: &'a [QaItem],
    /// Rows read together.
    pub batch_size: usize,
}

impl TrainTask for MlmReaderTask<'_> {
    type Model = Bert;
    type Example = MlmExample;

    fn loss(&self, model: &Bert, batch: &[&MlmExample]) -> Tensor<1> {
        self.codec.loss(model, batch)
    }

    fn evaluate(&self, model: &Bert) -> Result<Evaluation> {
        let answers = self
            .codec
            .answer_items(model, self.dev, self.batch_size, |_| {})?;
        Ok(dev_evaluation(&answers, self.dev))
    }

    fn example_len(&self, example: &MlmExample) -> Option<usize> {
        Some(example.ids.len())
    }
}
