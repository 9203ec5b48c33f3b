//! Training and evaluation glue of the DGCNN + CRF tagger for the shared loop.

use std::collections::HashMap;
use std::ops::Range;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::decode::{Span, bio_to_spans};
use nlp_core::padding::{PadOptions, pad_sequences};

use super::dgcnn_crf::DgcnnCrf;
use super::metric::EntityMetrics;
use super::peoples_daily::Sentence;
use super::vocab::CharVocab;
use crate::train::{Evaluation, TrainError, TrainTask};

/// One training sequence: character ids and tag ids of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct NerExample {
    /// Character ids.
    pub ids: Vec<i64>,
    /// Tag ids.
    pub tags: Vec<i64>,
}

const CUT_AFTER: [char; 7] = ['。', '！', '？', '；', '，', '、', '：'];

/// Turn sentences into training sequences of at most `max_len` characters: long sentences are
/// cut after the last punctuation mark inside each window (or hard at `max_len`), and a piece that
/// starts inside an entity starts it with `B-` so that every piece is valid BIO.
pub fn training_examples(
    sentences: &[Sentence],
    vocab: &CharVocab,
    tags: &HashMap<String, i64>,
    max_len: usize,
) -> Vec<NerExample> {
    let mut out = Vec::new();
    for s in sentences {
        let ids = vocab.encode(&s.text);
        let mut names = s.bio_tags();
        for piece in piece_ranges(&s.chars(), max_len) {
            if let Some(rest) = names[piece.start].strip_prefix("I-") {
                names[piece.start] = format!("B-{rest}");
            }
            out.push(NerExample {
                ids: ids[piece.clone()].to_vec(),
                tags: names[piece].iter().map(|t| tags[t]).collect(),
            });
        }
    }
    out
}

/// Cut `chars` into consecutive pieces of at most `max_len` characters, each ending after the
/// last punctuation mark (`。！？；，、：`) inside its window when there is one (hard cut
/// otherwise). `max_len` of 0 is treated as 1.
pub fn piece_ranges(chars: &[char], max_len: usize) -> Vec<Range<usize>> {
    let max_len = max_len.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + max_len).min(chars.len());
        if end < chars.len()
            && let Some(cut) = (start + 1..end)
                .rev()
                .find(|&i| CUT_AFTER.contains(&chars[i - 1]))
        {
            end = cut;
        }
        pieces.push(start..end);
        start = end;
    }
    pieces
}

pub(crate) fn to_tensor(seqs: &[&[i64]], device: &Device) -> Tensor<2, Int> {
    let (values, shape) = pad_sequences(seqs, PadOptions::default());
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Predict entity spans for each text (batched by length; any length works).
pub fn predict_spans(
    model: &DgcnnCrf,
    vocab: &CharVocab,
    tag_names: &[String],
    texts: &[&str],
    batch_size: usize,
) -> Vec<Vec<Span>> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].chars().count());
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let ids: Vec<Vec<i64>> = chunk.iter().map(|&i| vocab.encode(texts[i])).collect();
        if ids.iter().all(|v| v.is_empty()) {
            continue;
        }
        let refs: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
        let paths = model.decode(to_tensor(&refs, &device));
        for (&i, path) in chunk.iter().zip(paths) {
            let names: Vec<&str> = path.iter().map(|&t| tag_names[t].as_str()).collect();
            out[i] = bio_to_spans(&names);
        }
    }
    out
}

/// Score predictions against the gold entities of `sentences`.
pub fn evaluate_sentences(
    model: &DgcnnCrf,
    vocab: &CharVocab,
    tag_names: &[String],
    sentences: &[Sentence],
) -> EntityMetrics {
    let texts: Vec<&str> = sentences.iter().map(|s| s.text.as_str()).collect();
    let predicted = predict_spans(model, vocab, tag_names, &texts, 64);
    let mut metrics = EntityMetrics::new();
    for (s, p) in sentences.iter().zip(&predicted) {
        metrics.update(&s.entities, p);
    }
    metrics
}

/// The DGCNN + CRF NER task: loss on padded batches, entity F1 on a dev set.
pub struct DgcnnNerTask<'a> {
    /// Vocabulary.
    pub vocab: &'a CharVocab,
    /// Tag names in id order.
    pub tag_names: &'a [String],
    /// Sentences scored after every epoch.
    pub dev: &'a [Sentence],
}

impl TrainTask for DgcnnNerTask<'_> {
    type Model = DgcnnCrf;
    type Example = NerExample;

    fn loss(&self, model: &DgcnnCrf, batch: &[&NerExample]) -> Tensor<1> {
        let device = model.devices().into_iter().next().unwrap_or_default();
        let ids: Vec<&[i64]> = batch.iter().map(|e| e.ids.as_slice()).collect();
        let tags: Vec<&[i64]> = batch.iter().map(|e| e.tags.as_slice()).collect();
        model.loss(to_tensor(&ids, &device), to_tensor(&tags, &device))
    }

    fn evaluate(&self, model: &DgcnnCrf) -> Result<Evaluation, TrainError> {
        let m = evaluate_sentences(model, self.vocab, self.tag_names, self.dev).overall();
        Ok(Evaluation {
            score: m.f1(),
            report: format!("precision {:.4} recall {:.4}", m.precision(), m.recall()),
        })
    }

    fn example_len(&self, example: &NerExample) -> Option<usize> {
        Some(example.ids.len())
    }
}
