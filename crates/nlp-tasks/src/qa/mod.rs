//! Reading-comprehension QA: the item format of bert4keras' WebQA/SogouQA examples (one
//! question, several passages), the People's Daily cloze set built after Cui et al. 2016, the
//! answer metrics of the posts (accuracy, character F1, final), the noun baselines, and the
//! readers: the MLM reader on BERT ([`MlmReaderCodec`], [`MlmReaderTask`]).

mod baseline;
mod cloze;
mod items;
mod metrics;
mod mlm_reader;
mod vote;

pub use baseline::{most_frequent_nouns, random_nouns};
pub use cloze::{
    ANSWER_POS, Article, BLANK, ClozeSplits, MAX_HEADLINE_TOKENS, MAX_HELD_OUT_ITEMS,
    MAX_PASSAGE_CHARS, MIN_QUESTION_CHARS, Token, article_items, cloze_splits, cut_passages,
    load_articles,
};
pub use items::{Passage, QaItem, load_items, save_items};
pub use metrics::{QaScores, normalize_answer, score_answers};
pub use mlm_reader::{
    MAX_PASSAGE_TOKENS, MAX_QUESTION_TOKENS, MAX_SLOTS, MlmExample, MlmReaderCodec, MlmReaderTask,
    decode_slots, slots_for,
};
pub use vote::vote;
