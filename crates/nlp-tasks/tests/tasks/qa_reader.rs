//! The BERT readers. MLM: its input layout and slot labels by hand, constrained slot decoding
//! and the passage vote on hand-computed cases. Seq2seq: its input layout and targets by hand.
//! Both: a small BERT learning a synthetic cloze on the shared loop (dev score from the loop's
//! own evaluation).

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use nlp_models::bert::{Bert, BertConfig, BertInput, BertMode};
use nlp_models::tokenizer::BertTokenizer;
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::qa::{
    MlmReaderCodec, MlmReaderTask, Passage, QaItem, Seq2SeqReaderCodec, Seq2SeqReaderTask,
    decode_slots, score_answers, slots_for, vote,
};
use nlp_tasks::train::{TrainConfig, TrainTask, fit};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

fn tokenizer(name: &str, tokens: &str) -> BertTokenizer {
    let dir = crate::scratch_dir(name);
    let vocab = dir.join("vocab.txt");
    std::fs::write(&vocab, tokens).unwrap();
    BertTokenizer::from_vocab(&vocab, false).unwrap()
}

#[test]
fn codec_layout_and_slot_labels_by_hand() {
    // [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, [unused0] 5, 甲 6, 乙 7, 丙 8, 丁 9
    let t = tokenizer(
        "qa-codec",
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\n甲\n乙\n丙\n丁\n",
    );
    let codec = MlmReaderCodec::new(t.clone(), BTreeMap::from([('戊', 5)]), 3).unwrap();
    let e = codec.example("甲乙", "丙丁戊", "丁戊").unwrap().unwrap();
    assert_eq!(e.ids, vec![2, 4, 4, 4, 3, 6, 7, 3, 8, 9, 5, 3]);
    assert_eq!(e.labels, vec![Some(9), Some(5), Some(3)]);
    // No answer in this passage: the first slot learns [SEP].
    let e = codec.example("甲", "丙", "").unwrap().unwrap();
    assert_eq!(e.labels, vec![Some(3), None, None]);
    // An answer needing more slots than there are, or not in the passage: no row.
    assert_eq!(codec.example("甲", "甲乙丙", "甲乙丙").unwrap(), None);
    assert_eq!(codec.example("甲", "甲乙丙", "丁").unwrap(), None);
    let item = |answer: &str| QaItem {
        id: "x".into(),
        question: "甲".into(),
        passages: vec![Passage {
            passage: "甲乙丙丁".into(),
            answer: answer.into(),
        }],
        answer: answer.into(),
        nouns: Vec::new(),
    };
    // The longest answer (丙丁|甲: 2 tokens) plus the terminator.
    assert_eq!(slots_for(&t, &[item("乙"), item("丙丁|甲")]).unwrap(), 3);
    assert!(MlmReaderCodec::new(t, BTreeMap::new(), 1).is_err());
}

#[test]
fn seq2seq_codec_layout_and_targets_by_hand() {
    // [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, [unused0] 5, 甲 6, 乙 7, 丙 8, 丁 9
    let t = tokenizer(
        "qa-s2s-codec",
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\n甲\n乙\n丙\n丁\n",
    );
    let mut codec = Seq2SeqReaderCodec::new(t, BTreeMap::from([('戊', 5)])).unwrap();
    // [CLS] passage [SEP] question [SEP]; the target is the answer then [SEP].
    let e = codec.example("甲乙", "丙丁戊", "丁戊").unwrap().unwrap();
    assert_eq!(e.source, vec![2, 8, 9, 5, 3, 6, 7, 3]);
    assert_eq!(e.target, vec![9, 5, 3]);
    // No answer in this passage: the target is [SEP] alone.
    let e = codec.example("甲", "丙", "").unwrap().unwrap();
    assert_eq!(e.target, vec![3]);
    // Not in the passage, or longer than the answers generated: no pair.
    assert_eq!(codec.example("甲", "甲乙丙", "丁").unwrap(), None);
    codec.max_answer = 2;
    assert_eq!(codec.example("甲", "甲乙丙", "甲乙丙").unwrap(), None);
}

#[test]
fn slot_decoding_follows_passage_ngrams_and_stops_at_sep() {
    let vocab = 6;
    let sep = 5;
    let passage = [2, 3, 2, 4];
    let mut probs = vec![0.0f32; 3 * vocab];
    // Slot 0: token 1 is likelier but not in the passage; 2 is the best allowed.
    probs[1] = 0.9;
    probs[2] = 0.05;
    // Slot 1: after [2] the passage allows 3 or 4 (2 is not a continuation).
    probs[vocab + 2] = 0.8;
    probs[vocab + 4] = 0.1;
    probs[vocab + sep] = 0.05;
    // Slot 2: nothing follows [2, 4] in the passage: only [SEP].
    probs[2 * vocab + 2] = 0.6;
    probs[2 * vocab + sep] = 0.3;
    let (answer, score) = decode_slots(&probs, vocab, &passage, sep);
    assert_eq!(answer, vec![2, 4]);
    assert!((score - (0.05 + 0.1 + 0.3) / 3.0).abs() < 1e-7, "{score}");
    // [SEP] first: no answer, scored by that slot alone.
    let mut probs = vec![0.0f32; 2 * vocab];
    probs[sep] = 0.7;
    probs[2] = 0.2;
    let (answer, score) = decode_slots(&probs, vocab, &passage, sep);
    assert!(answer.is_empty());
    assert!((score - 0.7).abs() < 1e-7);
}

#[test]
fn vote_merges_passages_by_squares_over_sum() {
    let v = |pairs: &[(&str, f64)]| vote(pairs.iter().map(|&(a, s)| (a.to_string(), s)));
    // a: 0.81 / 1.9 = 0.426; b: 0.5 / 2 = 0.25.
    assert_eq!(
        v(&[("a", 0.9), ("b", 0.5), ("b", 0.5)]).as_deref(),
        Some("a")
    );
    // a: 0.36 / 1.6 = 0.225; b: 0.25.
    assert_eq!(
        v(&[("a", 0.6), ("b", 0.5), ("b", 0.5)]).as_deref(),
        Some("b")
    );
    // A tie goes to the first seen.
    assert_eq!(v(&[("b", 0.5), ("a", 0.5)]).as_deref(), Some("b"));
    assert_eq!(v(&[]), None);
}

const FILLER: &str = "甲乙丙丁戊己庚辛壬癸";
const ANSWERS: &str = "一二三四五六七八九";

/// Items of two passages: eight filler characters each, one of them holding a numeral (the
/// answer) at a random place.
pub fn synthetic_items(n: usize, seed: u64) -> Vec<QaItem> {
    let mut rng = StdRng::seed_from_u64(seed);
    let filler: Vec<char> = FILLER.chars().collect();
    let answers: Vec<char> = ANSWERS.chars().collect();
    (0..n)
        .map(|i| {
            let passage = |rng: &mut StdRng| -> String {
                (0..8)
                    .map(|_| filler[rng.random_range(0..filler.len())])
                    .collect()
            };
            let plain = passage(&mut rng);
            let mut holding: Vec<char> = passage(&mut rng).chars().collect();
            let answer = answers[rng.random_range(0..answers.len())];
            holding.insert(rng.random_range(0..=holding.len()), answer);
            let holding: String = holding.into_iter().collect();
            let mut passages = vec![
                Passage {
                    passage: plain,
                    answer: String::new(),
                },
                Passage {
                    passage: holding,
                    answer: answer.to_string(),
                },
            ];
            passages.shuffle(&mut rng);
            QaItem {
                id: format!("s{i}"),
                question: "问甲".into(),
                passages,
                answer: answer.to_string(),
                nouns: Vec::new(),
            }
        })
        .collect()
}

#[test]
fn a_small_bert_learns_a_synthetic_cloze_on_the_shared_loop() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let t = cloze_tokenizer("qa-learn-vocab");
    let train = synthetic_items(200, 0);
    let dev = synthetic_items(24, 1);
    let slots = slots_for(&t, &train).unwrap();
    assert_eq!(slots, 2);
    let codec = MlmReaderCodec::new(t.clone(), BTreeMap::new(), slots).unwrap();
    let (examples, skipped) = codec.examples(&train).unwrap();
    assert_eq!((examples.len(), skipped), (400, 0));
    let bert = small_bert(t.vocab_size(), BertMode::Encoder);
    let task = MlmReaderTask {
        codec: &codec,
        dev: &dev,
        batch_size: 8,
    };
    let dir = crate::scratch_dir("qa-learn");
    let config = learning_config(&dir, 12);
    let mut optim = Adam::new().init().unwrap();
    let outcome = fit(&task, bert, &mut optim, &examples, &config).unwrap();
    let scores = &outcome.state.epoch_scores;
    assert!(scores[0] < 0.9, "{scores:?}");
    assert!(*scores.last().unwrap() > 0.95, "{scores:?}");
    let model = outcome.model.valid();
    check_batched_answers(
        &dev,
        |items, batch| codec.answer_items(&model, items, batch, |_| {}).unwrap(),
        task.evaluate(&model).unwrap().score,
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_small_unilm_learns_a_synthetic_cloze_on_the_shared_loop() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let t = cloze_tokenizer("qa-s2s-learn-vocab");
    let train = synthetic_items(200, 0);
    let dev = synthetic_items(24, 1);
    let codec = Seq2SeqReaderCodec::new(t.clone(), BTreeMap::new()).unwrap();
    let (examples, skipped) = codec.examples(&train).unwrap();
    assert_eq!((examples.len(), skipped), (400, 0));
    let bert = small_bert(t.vocab_size(), BertMode::Unilm);
    let task = Seq2SeqReaderTask {
        codec: &codec,
        dev: &dev,
        items_per_batch: 8,
    };
    // Untrained, the reader is near chance (the constraint alone leaves 8–9 characters).
    let before = task.evaluate(&bert.valid()).unwrap().score;
    assert!(before < 0.5, "{before}");
    let dir = crate::scratch_dir("qa-s2s-learn");
    let config = learning_config(&dir, 4);
    let mut optim = Adam::new().init().unwrap();
    let outcome = fit(&task, bert, &mut optim, &examples, &config).unwrap();
    let scores = &outcome.state.epoch_scores;
    assert!(*scores.last().unwrap() > 0.95, "{scores:?}");
    let model = outcome.model.valid();
    let batched = check_batched_answers(
        &dev,
        |items, batch| codec.answer_items(&model, items, batch, |_| {}).unwrap(),
        task.evaluate(&model).unwrap().score,
    );
    // Every answer is text of one of the item's passages (the n-gram constraint).
    for (item, answer) in dev.iter().zip(&batched) {
        assert!(
            item.passages
                .iter()
                .any(|p| p.passage.contains(answer.as_str())),
            "{}: {answer}",
            item.id
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The vocabulary of the synthetic cloze: special tokens, 问, the filler and the numerals.
fn cloze_tokenizer(name: &str) -> BertTokenizer {
    let tokens: String = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "问"]
        .into_iter()
        .map(String::from)
        .chain(FILLER.chars().chain(ANSWERS.chars()).map(String::from))
        .map(|t| t + "\n")
        .collect();
    tokenizer(name, &tokens)
}

/// The loop's settings of the synthetic-cloze tests: batches of 16, Adam at 3e-3, quiet.
pub fn learning_config(dir: &std::path::Path, epochs: usize) -> TrainConfig {
    let mut config = TrainConfig::new(dir);
    config.epochs = epochs;
    config.batch_size = 16;
    config.learning_rate = 3e-3;
    config.progress = false;
    config.resume = false;
    config
}

/// A trained reader's batched answers (`answer(items, batch)`) are in item order and those of
/// each item read alone, and score what the loop's evaluation (`evaluated`) said.
pub fn check_batched_answers(
    dev: &[QaItem],
    answer: impl Fn(&[QaItem], usize) -> Vec<String>,
    evaluated: f64,
) -> Vec<String> {
    let batched = answer(dev, 5);
    for (item, answer_of) in dev.iter().zip(&batched).take(6) {
        let alone = answer(std::slice::from_ref(item), 1);
        assert_eq!(answer_of, &alone[0], "{}", item.id);
    }
    let s = score_answers(&batched, dev);
    assert!((s.final_score() - evaluated).abs() < 1e-12);
    batched
}

/// A seeded 2-layer BERT of width 32 with its MLM head and no dropout, in `mode`, on the
/// autodiff device.
fn small_bert(vocab: usize, mode: BertMode) -> Bert {
    let device = Device::default().autodiff();
    device.seed(5);
    let bert = BertConfig::new(vocab, 32, 2, 2, 64)
        .with_max_position_embeddings(64)
        .with_hidden_dropout_prob(0.0)
        .with_attention_probs_dropout_prob(0.0)
        .with_with_mlm(true)
        .with_mode(mode)
        .init(&device);
    let _ = bert.forward(BertInput::new(Tensor::<2, Int>::zeros([1, 2], &device)));
    bert
}
