//! The seq2seq reader ("万能的seq2seq：基于seq2seq的阅读理解问答"): a UniLM BERT reads
//! `[CLS] passage [SEP] question [SEP]` (segment 0) and generates `answer [SEP]` (segment 1),
//! trained with the title models' UniLM loss. Answering an item decodes all its passages as
//! one hypothesis through the shared decoder: passages whose first token would be `[SEP]` are
//! dropped (when every passage would drop, all are kept: a cloze item always has an answer),
//! the per-token probabilities of the rest are merged with Σp²/(1+Σp), and every token must
//! continue an n-gram of its passage (or be `[SEP]`).

use std::collections::BTreeMap;

use nlp_models::bert::Bert;
use nlp_models::tokenizer::BertTokenizer;

use super::items::{QaItem, passage_rows};
use super::metrics::dev_evaluation;
use super::tokens::{
    MAX_PASSAGE_TOKENS, MAX_QUESTION_TOKENS, ReaderTokens, answer_text, continuations, find, ids,
};
use crate::error::Result;
use crate::generate::{
    BeamSettings, Constraints, GenerationConfig, StepModel, Strategy, generate, merge_squares,
};
use crate::seq2seq::{Seq2SeqExample, UnilmGenerator, unilm_loss};
use crate::train::{Evaluation, TrainTask};
use crate::units::Units;

/// Answer tokens generated at most (the post's 32).
pub const MAX_ANSWER_TOKENS: usize = 32;

/// Text ↔ ids for the seq2seq reader.
#[derive(Debug, Clone)]
pub struct Seq2SeqReaderCodec {
    tokens: ReaderTokens,
    /// Question tokens kept.
    pub max_question: usize,
    /// Passage tokens kept.
    pub max_passage: usize,
    /// Answer tokens generated (and trained on) at most.
    pub max_answer: usize,
    /// Beams of the search (1: greedy).
    pub beams: usize,
}

/// One passage read for a question: the source ids and the passage's own tokens.
struct Source {
    ids: Vec<usize>,
    passage: Units,
}

impl Seq2SeqReaderCodec {
    /// A codec over `tokenizer` (characters it lacks mapped to `[unused*]` ids by `extra`)
    /// with the post's lengths (passage 256, question 64, answer 32 tokens), greedy.
    pub fn new(tokenizer: BertTokenizer, extra: BTreeMap<char, i64>) -> Result<Self> {
        Ok(Self {
            tokens: ReaderTokens::new(tokenizer, extra)?,
            max_question: MAX_QUESTION_TOKENS,
            max_passage: MAX_PASSAGE_TOKENS,
            max_answer: MAX_ANSWER_TOKENS,
            beams: 1,
        })
    }

    /// `[CLS] passage [SEP] question [SEP]`.
    fn source(&self, question: &str, passage: &str) -> Result<Source> {
        let t = &self.tokens;
        let passage = t.units(passage, self.max_passage)?;
        let question = t.units(question, self.max_question)?;
        let mut source = vec![t.cls];
        source.extend(ids(&passage));
        source.push(t.sep);
        source.extend(ids(&question));
        source.push(t.sep);
        Ok(Source {
            ids: source,
            passage,
        })
    }

    /// The training pair of `question` over `passage` whose answer there is `answer`: the
    /// target is `answer [SEP]`, or `[SEP]` alone when the passage does not hold it. `None`
    /// when the answer is longer than [`Self::max_answer`] or the passage lost it to truncation.
    pub fn example(
        &self,
        question: &str,
        passage: &str,
        answer: &str,
    ) -> Result<Option<Seq2SeqExample>> {
        let source = self.source(question, passage)?;
        let mut target = Vec::new();
        if !answer.is_empty() {
            target = self.tokens.answer_tokens(answer, self.max_answer + 1)?;
            if target.is_empty()
                || target.len() > self.max_answer
                || find(&ids(&source.passage), &target).is_none()
            {
                return Ok(None);
            }
        }
        target.push(self.tokens.sep);
        Ok(Some(Seq2SeqExample {
            source: source.ids,
            target,
        }))
    }

    /// Training pairs of every passage of every item (see [`Self::example`]), and how many
    /// passages were left out.
    pub fn examples(&self, items: &[QaItem]) -> Result<(Vec<Seq2SeqExample>, usize)> {
        passage_rows(items, |q, p, a| self.example(q, p, a))
    }

    fn search(&self, max_len: usize, min_len: usize) -> GenerationConfig {
        let strategy = if self.beams > 1 {
            Strategy::Beam(BeamSettings::new(self.beams))
        } else {
            Strategy::Greedy
        };
        let mut config = GenerationConfig::new(strategy, max_len, vec![self.tokens.sep]);
        config.min_len = min_len;
        config
    }

    /// The answer of every item (empty when none was found), in item order, decoding
    /// `items_per_batch` items together; `progress` hears the items done. `bert` must be in
    /// UniLM mode with its MLM head.
    pub fn answer_items(
        &self,
        bert: &Bert,
        items: &[QaItem],
        items_per_batch: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<String>> {
        let generator = UnilmGenerator::new(bert)?;
        let mut answers = Vec::with_capacity(items.len());
        for chunk in items.chunks(items_per_batch.max(1)) {
            answers.extend(self.answer_chunk(&generator, chunk)?);
            progress(answers.len());
        }
        Ok(answers)
    }

    fn answer_chunk(&self, generator: &UnilmGenerator, items: &[QaItem]) -> Result<Vec<String>> {
        let sep = self.tokens.sep;
        // Every passage of every item, with its (item, passage) index.
        let mut sources = Vec::new();
        let mut at = Vec::new();
        for (i, item) in items.iter().enumerate() {
            for (p, passage) in item.passages.iter().enumerate() {
                sources.push(self.source(&item.question, &passage.passage)?);
                at.push((i, p));
            }
        }
        let owner: Vec<usize> = at.iter().map(|&(i, _)| i).collect();
        let passages: Vec<Vec<usize>> = sources.iter().map(|s| ids(&s.passage)).collect();
        let ids: Vec<Vec<usize>> = sources.iter().map(|s| s.ids.clone()).collect();
        // First token of every passage on its own, among its passage's tokens and [SEP].
        let first_allowed = |s: usize, prefix: &[usize]| {
            let mut tokens = continuations(&passages[s], prefix);
            tokens.push(sep);
            Some(tokens)
        };
        let (_, first_logits) = generator.prefill(&ids)?;
        let vocab = generator.vocab_size();
        let opens: Vec<bool> = (0..sources.len())
            .map(|s| {
                let row = &first_logits[s * vocab..(s + 1) * vocab];
                let allowed = first_allowed(s, &[]).unwrap_or_default();
                let best = allowed
                    .iter()
                    .copied()
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)));
                best.is_some_and(|t| t != sep)
            })
            .collect();
        // Keep the opening passages of an item, or all of its passages when none opens.
        let kept: Vec<usize> = (0..sources.len())
            .filter(|&s| opens[s] || !(0..sources.len()).any(|o| owner[o] == owner[s] && opens[o]))
            .collect();
        let kept_ids: Vec<Vec<usize>> = kept.iter().map(|&s| ids[s].clone()).collect();
        let groups: Vec<usize> = kept.iter().map(|&s| owner[s]).collect();
        let allowed = |k: usize, prefix: &[usize]| first_allowed(kept[k], prefix);
        let config = self.search(self.max_answer + 1, 1);
        let merge = merge_squares;
        let constraints = Constraints::none().allowed(&allowed).merge(&groups, &merge);
        let outputs = generate(generator, &kept_ids, &config, constraints)?;
        // Groups come back in order of first appearance: items with passages, in order.
        let mut answers = vec![String::new(); items.len()];
        let mut order = groups.clone();
        order.dedup();
        for (item, hypotheses) in order.into_iter().zip(outputs) {
            let Some(best) = hypotheses.first() else {
                continue;
            };
            // The answer as the first kept passage that holds it writes it.
            answers[item] = kept
                .iter()
                .filter(|&&s| owner[s] == item)
                .find_map(|&s| {
                    let passage = &items[item].passages[at[s].1].passage;
                    answer_text(passage, &sources[s].passage, &best.tokens)
                })
                .unwrap_or_default();
        }
        Ok(answers)
    }
}

/// The seq2seq reader on the shared loop: UniLM cross-entropy on `answer [SEP]`, dev scored by
/// the posts' final score.
pub struct Seq2SeqReaderTask<'a> {
    /// Text ↔ ids.
    pub codec: &'a Seq2SeqReaderCodec,
    /// Items answered at every evaluation.
    pub dev: &'a [QaItem],
    /// Items decoded together.
    pub items_per_batch: usize,
}

impl TrainTask for Seq2SeqReaderTask<'_> {
    type Model = Bert;
    type Example = Seq2SeqExample;

    fn loss(&self, model: &Bert, batch: &[&Seq2SeqExample]) -> burn::tensor::Tensor<1> {
        unilm_loss(model, batch)
    }

    fn evaluate(&self, model: &Bert) -> Result<Evaluation> {
        let answers = self
            .codec
            .answer_items(model, self.dev, self.items_per_batch, |_| {})?;
        Ok(dev_evaluation(&answers, self.dev))
    }

    fn example_len(&self, example: &Seq2SeqExample) -> Option<usize> {
        Some(example.len())
    }
}
