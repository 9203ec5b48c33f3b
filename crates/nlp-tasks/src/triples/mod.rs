//! Triple (relation) extraction: P(s, p, o) = P(s) · P(o, p | s) with sigmoid half-pointer heads.
//!
//! One data format (SKE/DuIE JSON lines + schema), one model interface ([`TripleModel`]), one
//! decoder and one metric, and two models: BERT with a Conditional LayerNorm on the subject
//! ([`BertTriples`]) and the lightweight DGCNN model with global gates ([`DgcnnTriples`]).

mod bert_model;
mod data;
mod decoding;
mod dgcnn_model;
mod metric;
mod model;
mod sampling;
pub mod synthetic;
mod task;
mod unit_triples;

pub use bert_model::{BertState, BertTriples, OBJECT_POWER, SUBJECT_POWER};
pub use data::{
    CharTriple, Located, Sample, Schema, SchemaEntry, Triple, find_first, load_samples,
    load_schema, locate, save_samples, save_schema,
};
pub use decoding::{Thresholds, decode_objects, decode_subjects, to_text};
pub use dgcnn_model::{DgcnnState, DgcnnTriples, DgcnnTriplesConfig, Gate};
pub use metric::TripleMetrics;
pub use model::{TripleModel, bce, gather_positions, masked_mean};
pub use sampling::{object_labels, sample_subject, subject_labels};
pub use task::{
    ExampleReport, TriplesTask, batch_loss, build_examples, evaluate_samples, predict,
    predict_units,
};
pub use unit_triples::{TripleExample, UnitTriple, to_units};
