//! Training and evaluation glue of the BERT + CRF tagger: character tags ↔ word-piece tags
//! through the tokenizer's character offsets.

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::Tensor;
use nlp_core::decode::{Span, bio_to_spans};
use nlp_models::tokenizer::{BertTokenizer, Encoding};

use super::bert_crf::BertCrf;
use super::metric::EntityMetrics;
use super::peoples_daily::Sentence;
use super::task::{NerExample, piece_ranges, to_tensor};
use crate::train::{Evaluation, TrainError, TrainTask};

/// Word-piece BIO tags of one encoded piece from its character tags: a token takes the tag of
/// its first character (`I-` becomes `B-` when the previous token is outside that entity);
/// special tokens are `O`. Also returns how many entities could not be represented because
/// they start inside a token.
pub fn token_tags(encoding: &Encoding, char_tags: &[String]) -> (Vec<String>, usize) {
    let mut out: Vec<String> = Vec::with_capacity(encoding.len());
    let mut lost = 0;
    for (i, &(start, end)) in encoding.offsets.iter().enumerate() {
        if encoding.special[i] || start >= end || start >= char_tags.len() {
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

/// Character spans (relative to the encoded text) of the entities in word-piece tags.
pub fn token_spans_to_chars(encoding: &Encoding, tags: &[&str]) -> Vec<Span> {
    bio_to_spans(tags)
        .into_iter()
        .filter_map(|s| {
            let start = encoding.offsets.get(s.start)?.0;
            let end = encoding.offsets.get(s.end.checked_sub(1)?)?.1;
            (start < end).then(|| Span::new(s.label, start, end))
        })
        .collect()
}

/// Training sequences (token ids and tag ids) from sentences cut into pieces of at most
/// `max_chars` characters, each encoded with at most `max_len` tokens. Returns the examples and
/// the number of entities lost to tokenisation (starting inside a word piece).
pub fn bert_training_examples(
    sentences: &[Sentence],
    tokenizer: &BertTokenizer,
    tags: &HashMap<String, i64>,
    max_len: usize,
) -> Result<(Vec<NerExample>, usize), nlp_models::Error> {
    let mut out = Vec::new();
    let mut lost = 0;
    for s in sentences {
        let chars = s.chars();
        let names = s.bio_tags();
        for piece in piece_ranges(&chars, max_len.saturating_sub(2)) {
            let text: String = chars[piece.clone()].iter().collect();
            let encoding = tokenizer.encode(&text, None, Some(max_len))?;
            let (token_names, piece_lost) = token_tags(&encoding, &names[piece]);
            lost += piece_lost;
            out.push(NerExample {
                ids: encoding.ids.iter().map(|&i| i64::from(i)).collect(),
                tags: token_names.iter().map(|t| tags[t]).collect(),
            });
        }
    }
    Ok((out, lost))
}

/// Predict entity character spans for each text: texts are cut into pieces of at most
/// `max_len - 2` characters, tagged in batches, and the pieces' spans shifted back.
pub fn bert_predict_spans(
    model: &BertCrf,
    tokenizer: &BertTokenizer,
    tag_names: &[String],
    texts: &[&str],
    max_len: usize,
    batch_size: usize,
) -> Result<Vec<Vec<Span>>, nlp_models::Error> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    // (text index, first character of the piece, its encoding)
    let mut pieces = Vec::new();
    for (t, text) in texts.iter().enumerate() {
        let chars: Vec<char> = text.chars().collect();
        for piece in piece_ranges(&chars, max_len.saturating_sub(2)) {
            let piece_text: String = chars[piece.clone()].iter().collect();
            pieces.push((
                t,
                piece.start,
                tokenizer.encode(&piece_text, None, Some(max_len))?,
            ));
        }
    }
    pieces.sort_by_key(|(_, _, e)| e.len());
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in pieces.chunks(batch_size.max(1)) {
        let ids: Vec<Vec<i64>> = chunk
            .iter()
            .map(|(_, _, e)| e.ids.iter().map(|&i| i64::from(i)).collect())
            .collect();
        let refs: Vec<&[i64]> = ids.iter().map(Vec::as_slice).collect();
        let paths = model.decode(to_tensor(&refs, &device));
        for ((t, offset, encoding), path) in chunk.iter().zip(paths) {
            let names: Vec<&str> = path
                .iter()
                .zip(&encoding.special)
                .map(|(&tag, &special)| if special { "O" } else { &tag_names[tag] })
                .collect();
            out[*t].extend(
                token_spans_to_chars(encoding, &names)
                    .into_iter()
                    .map(|s| Span::new(s.label, s.start + offset, s.end + offset)),
            );
        }
    }
    Ok(out)
}

/// Score predictions against the gold entities of `sentences`.
pub fn bert_evaluate_sentences(
    model: &BertCrf,
    tokenizer: &BertTokenizer,
    tag_names: &[String],
    sentences: &[Sentence],
    max_len: usize,
) -> Result<EntityMetrics, nlp_models::Error> {
    let texts: Vec<&str> = sentences.iter().map(|s| s.text.as_str()).collect();
    let predicted = bert_predict_spans(model, tokenizer, tag_names, &texts, max_len, 32)?;
    let mut metrics = EntityMetrics::new();
    for (s, p) in sentences.iter().zip(&predicted) {
        metrics.update(&s.entities, p);
    }
    Ok(metrics)
}

/// The BERT + CRF NER task: loss on padded batches, entity F1 on a dev set.
pub struct BertNerTask<'a> {
    /// Tokenizer of the checkpoint.
    pub tokenizer: &'a BertTokenizer,
    /// Tag names in id order.
    pub tag_names: &'a [String],
    /// Sentences scored after every epoch.
    pub dev: &'a [Sentence],
    /// Longest sequence in tokens.
    pub max_len: usize,
}

impl TrainTask for BertNerTask<'_> {
    type Model = BertCrf;
    type Example = NerExample;

    fn loss(&self, model: &BertCrf, batch: &[&NerExample]) -> Tensor<1> {
        let device = model.devices().into_iter().next().unwrap_or_default();
        let ids: Vec<&[i64]> = batch.iter().map(|e| e.ids.as_slice()).collect();
        let tags: Vec<&[i64]> = batch.iter().map(|e| e.tags.as_slice()).collect();
        model.loss(to_tensor(&ids, &device), to_tensor(&tags, &device))
    }

    fn evaluate(&self, model: &BertCrf) -> Result<Evaluation, TrainError> {
        let m = bert_evaluate_sentences(
            model,
            self.tokenizer,
            self.tag_names,
            self.dev,
            self.max_len,
        )?
        .overall();
        Ok(Evaluation {
            score: m.f1(),
            report: format!("precision {:.4} recall {:.4}", m.precision(), m.recall()),
        })
    }

    fn example_len(&self, example: &NerExample) -> Option<usize> {
        Some(example.ids.len())
    }
}
