//! Triple (relation) extraction: P(s, p, o) = P(s) · P(o, p | s) with sigmoid half-pointer heads.
//!
//! One data format (SKE/DuIE JSON lines + schema), one model interface ([`TripleModel`]), one
//! decoder and one metric, and two models: BERT with a Conditional LayerNorm on the subject
//! ([`BertTriples`]) and the lightweight DGCNN model with global gates ([`DgcnnTriples`]).

pub mod bert_model;
pub mod data;
pub mod decoding;
pub mod dgcnn_model;
pub mod metric;
pub mod model;
pub mod sampling;
pub mod synthetic;
pub mod task;
pub mod units;

pub use bert_model::BertTriples;
pub use data::{
    CharTriple, DataError, Located, Sample, Schema, SchemaEntry, Triple, find_first, load_samples,
    load_schema, locate, save_samples, save_schema,
};
pub use decoding::{Thresholds, decode_objects, decode_subjects, to_text};
pub use dgcnn_model::{DgcnnTriples, DgcnnTriplesConfig};
pub use metric::TripleMetrics;
pub use model::TripleModel;
pub use sampling::{object_labels, sample_subject, subject_labels};
pub use synthetic::NamePools;
pub use task::{
    ExampleReport, TriplesTask, batch_loss, build_examples, evaluate_samples, predict,
    predict_units,
};
pub use units::{TripleExample, UnitEncoder, UnitTriple, Units, spare_token_ids, to_units};
