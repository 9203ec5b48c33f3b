//! Named-entity recognition: the People's Daily 1998 loader, character BIO tags, the
//! entity-level metric, and the DGCNN + CRF (characters) and BERT + CRF (word pieces mapped
//! back to characters) taggers trained with the shared loop.

pub mod bert_crf;
pub mod bert_task;
pub mod dgcnn_crf;
pub mod metric;
pub mod peoples_daily;
pub mod tagger;
pub mod task;
pub mod vocab;

pub use bert_crf::{BertCrf, BertCrfConfig};
pub use bert_task::{
    BertNerTask, bert_evaluate_sentences, bert_predict_spans, bert_training_examples,
    token_spans_to_chars, token_tags,
};
pub use dgcnn_crf::{DgcnnCrf, DgcnnCrfConfig};
pub use metric::{EntityMetrics, Prf};
pub use peoples_daily::{Corpus, NerError, Sentence, Split, load, parse_line};
pub use tagger::{DgcnnTagger, words_with_entities};
pub use task::{
    DgcnnNerTask, NerExample, evaluate_sentences, piece_ranges, predict_spans, training_examples,
};
pub use vocab::{CharVocab, bio_tag_names, tag_ids};
