//! Named-entity recognition: the People's Daily 1998 loader, character BIO tags and the
//! entity-level metric shared by the DGCNN + CRF and BERT + CRF models.

pub mod metric;
pub mod peoples_daily;

pub use metric::{EntityMetrics, Prf};
pub use peoples_daily::{Corpus, NerError, Sentence, Split, load, parse_line};
