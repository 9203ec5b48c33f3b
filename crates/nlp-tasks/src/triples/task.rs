//! Training and evaluation glue for any [`TripleModel`] with the shared loop: examples from
//! samples, the loss (subject + object masked BCE), batched prediction and dev F1.

use std::marker::PhantomData;

use burn::tensor::{Distribution, Int, Tensor, TensorData};

use super::data::{Sample, Schema, Triple, locate};
use super::decoding::{decode_objects, decode_subjects, to_text};
use super::metric::TripleMetrics;
use super::model::{TripleModel, bce, masked_mean};
use super::sampling::{object_labels, sample_subject, subject_labels};
use super::unit_triples::{TripleExample, UnitTriple, to_units};
use crate::error::Result;
use crate::train::{Evaluation, TrainTask};
use crate::units::{UnitEncoder, Units, ids_tensor};

/// What building examples left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExampleReport {
    /// Samples with at least one triple whose subject or object is not in the text.
    pub samples_with_missing: usize,
    /// Triples left out because an entity is not in the text.
    pub missing_triples: usize,
    /// Triples left out because an entity is not on unit boundaries or was truncated.
    pub unaligned_triples: usize,
    /// Texts the encoder could not encode (or that are empty).
    pub unencodable: usize,
    /// One-based indices of the first samples with missing entities (at most 10).
    pub first_missing: Vec<usize>,
}

/// Turn samples into training examples on `encoder`'s units.
pub fn build_examples(
    samples: &[Sample],
    encoder: &UnitEncoder,
    schema: &Schema,
) -> (Vec<TripleExample>, ExampleReport) {
    let mut report = ExampleReport::default();
    let mut out = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let located = locate(s, schema);
        if !located.missing.is_empty() {
            report.samples_with_missing += 1;
            report.missing_triples += located.missing.len();
            if report.first_missing.len() < 10 {
                report.first_missing.push(i + 1);
            }
        }
        let units = match encoder.encode(&s.text) {
            Ok(u) if !u.is_empty() => u,
            _ => {
                report.unencodable += 1;
                continue;
            }
        };
        let (triples, lost) = to_units(&units, &located);
        report.unaligned_triples += lost.len();
        out.push(TripleExample {
            ids: units.ids,
            triples,
        });
    }
    (out, report)
}

/// Loss of a batch: masked BCE of the subject pointers plus that of the object pointers of one
/// sampled subject per text. `uniforms` holds two numbers in `[0, 1)` per example (the subject
/// draw).
pub fn batch_loss<M: TripleModel>(
    model: &M,
    batch: &[&TripleExample],
    uniforms: &[f64],
) -> Tensor<1> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let b = batch.len();
    let len = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let p = model.num_predicates();
    let ids: Vec<&[i64]> = batch.iter().map(|e| e.ids.as_slice()).collect();
    let mut s_labels = Vec::with_capacity(b * len * 2);
    let mut o_labels = Vec::with_capacity(b * len * p * 2);
    let mut subjects = Vec::with_capacity(b * 2);
    for (k, e) in batch.iter().enumerate() {
        s_labels.extend(subject_labels(len, &e.triples));
        let subject = sample_subject(&e.triples, uniforms[2 * k], uniforms[2 * k + 1]);
        // A text with no subject still trains the object head on "nothing" at position 0.
        let subject = subject.unwrap_or((0, 0));
        o_labels.extend(object_labels(len, p, &e.triples, subject));
        subjects.extend([subject.0 as i64, subject.1 as i64]);
    }
    let state = model.encode(ids_tensor(&ids, &device));
    let padding = model.padding(&state);
    let s_probs = model.subject_probs(&state);
    let s_labels = Tensor::<3>::from_data(TensorData::new(s_labels, [b, len, 2]), &device);
    let s_loss = masked_mean(
        bce(s_probs, s_labels).mean_dim(2).reshape([b, len]),
        padding.clone(),
    );
    let rows = Tensor::<1, Int>::arange(0..b as i64, &device);
    let subjects = Tensor::<2, Int>::from_data(TensorData::new(subjects, [b, 2]), &device);
    let o_probs = model.object_probs(&state, rows, subjects);
    let o_labels = Tensor::<4>::from_data(TensorData::new(o_labels, [b, len, p, 2]), &device);
    let o_loss = masked_mean(
        bce(o_probs, o_labels)
            .mean_dim(3)
            .sum_dim(2)
            .reshape([b, len]),
        padding,
    );
    s_loss.add(o_loss)
}

/// Predict the triples of every text on units (batched by length).
pub fn predict_units<M: TripleModel>(
    model: &M,
    units: &[Units],
    batch_size: usize,
) -> Vec<Vec<UnitTriple>> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let th = model.thresholds();
    let p = model.num_predicates();
    let mut order: Vec<usize> = (0..units.len()).filter(|&i| !units[i].is_empty()).collect();
    order.sort_by_key(|&i| units[i].len());
    let mut out = vec![Vec::new(); units.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let ids: Vec<&[i64]> = chunk.iter().map(|&i| units[i].ids.as_slice()).collect();
        let len = ids.iter().map(|s| s.len()).max().unwrap_or(0);
        let state = model.encode(ids_tensor(&ids, &device));
        let s_probs: Vec<f32> = model
            .subject_probs(&state)
            .try_into_vec_as::<f32>()
            .expect("float probabilities");
        let mut found: Vec<(usize, (usize, usize))> = Vec::new();
        for (row, &i) in chunk.iter().enumerate() {
            let probs = &s_probs[row * len * 2..(row + 1) * len * 2];
            for s in decode_subjects(probs, units[i].len(), th) {
                found.push((row, s));
            }
        }
        if found.is_empty() {
            continue;
        }
        let n = found.len();
        let rows: Vec<i64> = found.iter().map(|&(r, _)| r as i64).collect();
        let spans: Vec<i64> = found
            .iter()
            .flat_map(|&(_, (a, b))| [a as i64, b as i64])
            .collect();
        let o_probs: Vec<f32> = model
            .object_probs(
                &state,
                Tensor::from_data(TensorData::new(rows, [n]), &device),
                Tensor::from_data(TensorData::new(spans, [n, 2]), &device),
            )
            .try_into_vec_as::<f32>()
            .expect("float probabilities");
        let stride = len * p * 2;
        for (k, &(row, subject)) in found.iter().enumerate() {
            let i = chunk[row];
            let probs = &o_probs[k * stride..(k + 1) * stride];
            for (predicate, object) in decode_objects(probs, units[i].len(), p, th) {
                out[i].push(UnitTriple {
                    subject,
                    predicate,
                    object,
                });
            }
        }
    }
    out
}

/// Predict string triples of `texts`. Texts the encoder cannot encode get no triples.
pub fn predict<M: TripleModel>(
    model: &M,
    encoder: &UnitEncoder,
    schema: &Schema,
    texts: &[&str],
    batch_size: usize,
) -> Vec<Vec<Triple>> {
    let units: Vec<Units> = texts
        .iter()
        .map(|t| {
            encoder.encode(t).unwrap_or(Units {
                ids: Vec::new(),
                offsets: Vec::new(),
            })
        })
        .collect();
    predict_units(model, &units, batch_size)
        .iter()
        .zip(texts.iter().zip(&units))
        .map(|(triples, (text, u))| to_text(text, u, triples, schema))
        .collect()
}

/// Score a model on samples.
pub fn evaluate_samples<M: TripleModel>(
    model: &M,
    encoder: &UnitEncoder,
    schema: &Schema,
    samples: &[Sample],
) -> TripleMetrics {
    let texts: Vec<&str> = samples.iter().map(|s| s.text.as_str()).collect();
    let predicted = predict(model, encoder, schema, &texts, 32);
    let mut metrics = TripleMetrics::new();
    for (s, p) in samples.iter().zip(&predicted) {
        metrics.update(&s.spo_list, p);
    }
    metrics
}

/// The triple extraction task for the shared loop, for either model.
pub struct TriplesTask<'a, M> {
    /// Text → units.
    pub encoder: &'a UnitEncoder,
    /// Predicates.
    pub schema: &'a Schema,
    /// Samples scored after every epoch.
    pub dev: &'a [Sample],
    /// The model type.
    pub model: PhantomData<M>,
}

impl<'a, M> TriplesTask<'a, M> {
    /// A task scoring on `dev`.
    pub fn new(encoder: &'a UnitEncoder, schema: &'a Schema, dev: &'a [Sample]) -> Self {
        Self {
            encoder,
            schema,
            dev,
            model: PhantomData,
        }
    }
}

impl<M: TripleModel> TrainTask for TriplesTask<'_, M> {
    type Model = M;
    type Example = TripleExample;

    fn loss(&self, model: &M, batch: &[&TripleExample]) -> Tensor<1> {
        // The subject draw comes from Burn's generator, which the loop re-seeds before every
        // step, so a resumed run samples the same subjects.
        let device = model.devices().into_iter().next().unwrap_or_default();
        let uniforms: Vec<f64> =
            Tensor::<1>::random([batch.len() * 2], Distribution::Uniform(0.0, 1.0), &device)
                .try_into_vec_as::<f64>()
                .expect("float draws");
        batch_loss(model, batch, &uniforms)
    }

    fn evaluate(&self, model: &M) -> Result<Evaluation> {
        let m = evaluate_samples(model, self.encoder, self.schema, self.dev).counts();
        Ok(Evaluation {
            score: m.f1(),
            report: format!(
                "precision {:.4} recall {:.4}, {} of {} predicted triples right, {} gold",
                m.precision(),
                m.recall(),
                m.correct,
                m.predicted,
                m.gold
            ),
        })
    }

    fn example_len(&self, example: &TripleExample) -> Option<usize> {
        Some(example.ids.len())
    }
}
