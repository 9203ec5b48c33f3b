//! Named-entity recognition: the People's Daily 1998 loader, character BIO tags, the
//! entity-level metric, and two [`CrfTagger`]s trained with the shared loop through one
//! [`NerTask`]: DGCNN + CRF on characters and BERT + CRF on word pieces (mapped back to
//! characters through their offsets).

mod bert_crf;
mod crf_tagger;
mod dgcnn_crf;
mod metric;
mod peoples_daily;
mod tagger;
mod tags;
mod task;

pub use bert_crf::{BertCrf, BertCrfConfig};
pub use crf_tagger::CrfTagger;
pub use dgcnn_crf::{DgcnnCrf, DgcnnCrfConfig};
pub use metric::{EntityMetrics, Prf};
pub use peoples_daily::{
    Corpus, LABELS, Sentence, Split, load, parse_line, tagged_tokens, visit_tagged_lines,
};
pub use tagger::{DgcnnTagger, words_with_entities};
pub use tags::{bio_tag_names, tag_ids};
pub use task::{
    NerExample, NerTask, evaluate_sentences, piece_ranges, predict_spans, training_examples,
    unit_spans_to_chars, unit_tags,
};
