//! Training and evaluation glue of the CRF taggers for the shared loop: sentences become
//! pieces of units (characters or word pieces, through a [`UnitEncoder`]), character BIO tags
//! become unit tags, and predicted unit tags become character spans again.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Range;

use burn::module::Module;
use burn::tensor::Tensor;
use nlp_core::decode::{Span, bio_to_spans};

use super::crf_tagger::CrfTagger;
use super::metric::EntityMetrics;
use super::peoples_daily::Sentence;
use crate::error::Result;
use crate::train::{Evaluation, TrainTask};
use crate::units::{UnitEncoder, Units, ids_tensor};

/// One training sequence: character ids and tag ids of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct NerExample {
    /// Character ids.
    pub ids: Vec<i64>,
    /// Tag ids.
    pub tags: Vec<i64>,
}

const CUT_AFTER: [char; 7] = ['。', '！', '？', '；', '，', '、', '：'];

/// Turn sentences into training sequences: each sentence is cut into pieces of at most
/// `encoder.max_chars()` characters (see [`piece_ranges`]), each piece encoded, and its
/// character tags carried to units by [`unit_tags`]. Returns the examples and the number of
/// entities lost to tokenisation (starting inside a word piece; always 0 on characters).
pub fn training_examples(
    sentences: &[Sentence],
    encoder: &UnitEncoder,
    tags: &HashMap<String, i64>,
) -> Result<(Vec<NerExample>, usize)> {
    let mut out = Vec::new();
    let mut lost = 0;
    for s in sentences {
        let chars = s.chars();
        let names = s.bio_tags();
        for piece in piece_ranges(&chars, encoder.max_chars()) {
            let text: String = chars[piece.clone()].iter().collect();
            let units = encoder.encode(&text)?;
            let (unit_names, piece_lost) = unit_tags(&units, &names[piece]);
            lost += piece_lost;
            out.push(NerExample {
                ids: units.ids,
                tags: unit_names.iter().map(|t| tags[t]).collect(),
            });
        }
    }
    Ok((out, lost))
}

/// BIO tags of the units of one piece from its character tags: a unit takes the tag of its
/// first character (`I-` becomes `B-` when the previous unit is outside that entity, so a
/// piece cut inside an entity starts it); special tokens are `O`. Also returns how many
/// entities could not be represented because they start inside a unit.
pub fn unit_tags(units: &Units, char_tags: &[String]) -> (Vec<String>, usize) {
    let mut out: Vec<String> = Vec::with_capacity(units.len());
    let mut lost = 0;
    for range in &units.offsets {
        let (start, end) = (range.start, range.end);
        if start >= end || start >= char_tags.len() {
            out.push("O".into());
            continue;
        }
        lost += char_tags[start + 1..end.min(char_tags.len())]
            .iter()
            .filter(|t| t.starts_with("B-"))
            .count();
        let tag = &char_tags[start];
        let tag = match tag.strip_prefix("I-") {
            Some(kind) if !out.last().is_some_and(|p| p.ends_with(kind) && p != "O") => {
                format!("B-{kind}")
            }
            _ => tag.clone(),
        };
        out.push(tag);
    }
    (out, lost)
}

/// Character spans (relative to the encoded text) of the entities in unit tags; special
/// tokens (empty offsets) are never inside an entity.
pub fn unit_spans_to_chars(units: &Units, tags: &[&str]) -> Vec<Span> {
    let tags: Vec<&str> = tags
        .iter()
        .zip(&units.offsets)
        .map(|(&tag, range)| if range.is_empty() { "O" } else { tag })
        .collect();
    bio_to_spans(&tags)
        .into_iter()
        .filter_map(|s| {
            let chars = units.char_span(s.start, s.end.checked_sub(1)?)?;
            Some(Span::new(s.label, chars.start, chars.end))
        })
        .collect()
}

/// Cut `chars` into consecutive pieces of at most `max_len` characters, each ending after the
/// last punctuation mark (`。！？；，、：`) inside its window when there is one (hard cut
/// otherwise). `max_len` of 0 is treated as 1.
pub fn piece_ranges(chars: &[char], max_len: usize) -> Vec<Range<usize>> {
    let max_len = max_len.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = start.saturating_add(max_len).min(chars.len());
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

/// Predict entity character spans for each text: texts are cut into pieces of at most
/// `encoder.max_chars()` characters, tagged in batches of similar length, and the pieces'
/// spans shifted back. Any text length works.
pub fn predict_spans<M: CrfTagger + Module>(
    model: &M,
    encoder: &UnitEncoder,
    tag_names: &[String],
    texts: &[&str],
    batch_size: usize,
) -> Result<Vec<Vec<Span>>> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    // (text index, first character of the piece, its units)
    let mut pieces = Vec::new();
    for (t, text) in texts.iter().enumerate() {
        let chars: Vec<char> = text.chars().collect();
        for piece in piece_ranges(&chars, encoder.max_chars()) {
            let piece_text: String = chars[piece.clone()].iter().collect();
            let units = encoder.encode(&piece_text)?;
            if !units.is_empty() {
                pieces.push((t, piece.start, units));
            }
        }
    }
    pieces.sort_by_key(|(_, _, units)| units.len());
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in pieces.chunks(batch_size.max(1)) {
        let ids: Vec<&[i64]> = chunk.iter().map(|(_, _, u)| u.ids.as_slice()).collect();
        let paths = model.decode(ids_tensor(&ids, &device));
        for ((t, offset, units), path) in chunk.iter().zip(paths) {
            let names: Vec<&str> = path.iter().map(|&tag| tag_names[tag].as_str()).collect();
            out[*t].extend(
                unit_spans_to_chars(units, &names)
                    .into_iter()
                    .map(|s| Span::new(s.label, s.start + offset, s.end + offset)),
            );
        }
    }
    Ok(out)
}

/// Score predictions against the gold entities of `sentences`.
pub fn evaluate_sentences<M: CrfTagger + Module>(
    model: &M,
    encoder: &UnitEncoder,
    tag_names: &[String],
    sentences: &[Sentence],
) -> Result<EntityMetrics> {
    let texts: Vec<&str> = sentences.iter().map(|s| s.text.as_str()).collect();
    let predicted = predict_spans(model, encoder, tag_names, &texts, 32)?;
    let mut metrics = EntityMetrics::new();
    for (s, p) in sentences.iter().zip(&predicted) {
        metrics.update(&s.entities, p);
    }
    Ok(metrics)
}

/// The NER task for the shared loop, for any [`CrfTagger`]: CRF loss on padded batches,
/// entity F1 on a dev set.
pub struct NerTask<'a, M> {
    /// Text → units (characters for the DGCNN, word pieces for BERT).
    pub encoder: &'a UnitEncoder,
    /// Tag names in id order.
    pub tag_names: &'a [String],
    /// Sentences scored after every epoch.
    pub dev: &'a [Sentence],
    /// The model type.
    pub model: PhantomData<M>,
}

impl<'a, M> NerTask<'a, M> {
    /// A task scoring on `dev`.
    pub fn new(encoder: &'a UnitEncoder, tag_names: &'a [String], dev: &'a [Sentence]) -> Self {
        Self {
            encoder,
            tag_names,
            dev,
            model: PhantomData,
        }
    }
}

impl<M: CrfTagger + Module> TrainTask for NerTask<'_, M> {
    type Model = M;
    type Example = NerExample;

    fn loss(&self, model: &M, batch: &[&NerExample]) -> Tensor<1> {
        let device = model.devices().into_iter().next().unwrap_or_default();
        let ids: Vec<&[i64]> = batch.iter().map(|e| e.ids.as_slice()).collect();
        let tags: Vec<&[i64]> = batch.iter().map(|e| e.tags.as_slice()).collect();
        model.loss(ids_tensor(&ids, &device), ids_tensor(&tags, &device))
    }

    fn evaluate(&self, model: &M) -> Result<Evaluation> {
        let m = evaluate_sentences(model, self.encoder, self.tag_names, self.dev)?.overall();
        Ok(Evaluation {
            score: m.f1(),
            report: format!("precision {:.4} recall {:.4}", m.precision(), m.recall()),
        })
    }

    fn example_len(&self, example: &NerExample) -> Option<usize> {
        Some(example.ids.len())
    }
}
