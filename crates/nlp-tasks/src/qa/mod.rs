//! Reading-comprehension QA: the item format of bert4keras' WebQA/SogouQA examples (one
//! question, several passages), the People's Daily cloze set built after Cui et al. 2016, the
//! answer metrics of the posts (accuracy, character F1, final), the noun baselines, and the
//! readers: the MLM reader on BERT ([`MlmReaderCodec`], [`MlmReaderTask`]), the UniLM
//! seq2seq reader ([`Seq2SeqReaderCodec`], [`Seq2SeqReaderTask`]) and the DGCNN reader
//! trained from scratch ([`DgcnnReader`], [`DgcnnReaderCodec`], [`DgcnnReaderTask`]).

mod baseline;
mod cloze;
mod context;
mod dgcnn_codec;
mod dgcnn_reader;
mod items;
mod metrics;
mod mlm_reader;
mod seq2seq_reader;
mod tokens;
mod vote;

pub use baseline::{context_nouns, most_frequent_nouns, random_nouns};
pub use cloze::{
    ANSWER_POS, Article, BLANK, ClozeSplits, MAX_HEADLINE_TOKENS, MAX_HELD_OUT_ITEMS,
    MAX_PASSAGE_CHARS, MIN_QUESTION_CHARS, Token, article_items, cloze_splits, cut_passages,
    load_articles,
};
pub use context::{MATCH_FEATURES, match_features};
pub use dgcnn_codec::{
    CharWords, DgcnnExample, DgcnnReaderCodec, DgcnnReaderTask, MAX_SPAN_CHARS, SPAN_THRESHOLD,
    WordVocab, best_span,
};
pub use dgcnn_reader::{DgcnnReader, DgcnnReaderConfig, ReaderInput, ReaderOutput, focal_loss};
pub use items::{Passage, QaItem, load_items, save_items};
pub use metrics::{QaScores, normalize_answer, score_answers};
pub use mlm_reader::{
    MAX_SLOTS, MlmExample, MlmReaderCodec, MlmReaderTask, decode_slots, slots_for,
};
pub use seq2seq_reader::{MAX_ANSWER_TOKENS, Seq2SeqReaderCodec, Seq2SeqReaderTask};
pub use tokens::{MAX_PASSAGE_TOKENS, MAX_QUESTION_TOKENS};
pub use vote::vote;
