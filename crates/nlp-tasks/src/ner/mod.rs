//! Named-entity recognition: the People's Daily 1998 loader, character BIO tags, the
//! entity-level metric, and the DGCNN + CRF tagger trained with the shared loop.

pub mod dgcnn_crf;
pub mod metric;
pub mod peoples_daily;
pub mod task;
pub mod vocab;

pub use dgcnn_crf::{DgcnnCrf, DgcnnCrfConfig};
pub use metric::{EntityMetrics, Prf};
pub use peoples_daily::{Corpus, NerError, Sentence, Split, load, parse_line};
pub use task::{DgcnnNerTask, NerExample, evaluate_sentences, predict_spans, training_examples};
pub use vocab::{CharVocab, bio_tag_names, tag_ids};
