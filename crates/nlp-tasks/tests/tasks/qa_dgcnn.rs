//! The DGCNN reader: span decoding and the focal loss by hand, its ids and span labels by
//! hand, and a small reader learning the synthetic cloze on the shared loop.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::qa::{
    DgcnnReaderCodec, DgcnnReaderConfig, DgcnnReaderTask, MATCH_FEATURES, WordVocab, best_span,
    focal_loss, match_features,
};
use nlp_tasks::train::{TrainTask, fit};
use nlp_tasks::units::CharVocab;

use crate::qa_reader::{check_batched_answers, learning_config, synthetic_items};

#[test]
fn best_span_maximises_start_times_end_within_the_length() {
    let start = [0.1f32, 0.9, 0.2, 0.05];
    let end = [0.3f32, 0.1, 0.4, 0.95];
    // Unlimited: 0.9 × 0.95 at (1, 3).
    assert_eq!(
        best_span(&start, &end, 12),
        Some((1, 3, 0.9f32 as f64 * 0.95f32 as f64))
    );
    // At most 2 characters: (1, 2) with 0.9 × 0.4 beats (2, 3) with 0.2 × 0.95.
    let (s, e, score) = best_span(&start, &end, 2).unwrap();
    assert_eq!((s, e), (1, 2));
    assert!((score - 0.36).abs() < 1e-6);
    // An end never comes before its start.
    assert_eq!(
        best_span(&[0.0, 1.0], &[1.0, 0.0], 5).map(|b| b.2),
        Some(0.0)
    );
    assert_eq!(best_span(&[], &[], 3), None);
}

#[test]
fn focal_loss_equals_its_formula() {
    let device = Device::default();
    let t = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, 3]), &device);
    let p = [0.8f64, 0.3, 0.6];
    let y = [1.0f64, 0.0, 1.0];
    // The last position is padding.
    let loss = focal_loss(
        t(p.iter().map(|&v| v as f32).collect()),
        t(y.iter().map(|&v| v as f32).collect()),
        t(vec![1.0, 1.0, 0.0]),
    );
    let expected = (-(0.2f64.powi(2)) * 0.8f64.ln() - 0.3f64.powi(2) * 0.7f64.ln()) / 2.0;
    let got = f64::from(loss.into_data().try_to_vec::<f32>().unwrap()[0]);
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
}

#[test]
fn codec_ids_and_span_labels_by_hand() {
    let chars = CharVocab::from_chars("我们在北京上海".chars().collect());
    let words = WordVocab::from_words(vec!["北京".into(), "我们".into()]);
    let codec = DgcnnReaderCodec::new(chars, words);
    let e = codec.example("问", "我们在北京，北京", "北京").unwrap();
    // Characters from 2 in vocabulary order, ， unknown (1).
    assert_eq!(e.passage.chars, vec![2, 3, 4, 5, 6, 1, 5, 6]);
    // jieba: 我们 / 在 / 北京 / ， / 北京; 在 and ， are not in the word vocabulary.
    assert_eq!(e.passage.words, vec![3, 3, 1, 2, 2, 1, 2, 2]);
    assert_eq!((e.starts, e.ends), (vec![3, 6], vec![4, 7]));
    // No answer here: no labels. Not in the passage, or longer than 12 characters: no row.
    assert!(codec.example("问", "我们", "").unwrap().starts.is_empty());
    assert_eq!(codec.example("问", "我们", "上海"), None);
    let long = "北".repeat(13);
    assert_eq!(codec.example("问", &long, &long), None);
}

#[test]
fn match_features_by_hand() {
    let passage: Vec<char> = "新华社北京电在北京开会".chars().collect();
    let f = match_features("新华社XXXXX电，在北京", &passage);
    assert_eq!(f.len(), passage.len() * MATCH_FEATURES);
    let at = |t: usize| [f[3 * t], f[3 * t + 1], f[3 * t + 2]];
    // 北 (t = 3): in the question; 新华社 before it = the 3 characters before the blank;
    // 京 after it is not 电.
    assert_eq!(at(3), [8, 3, 0]);
    // 京 (t = 4): in the question; 北 before it is not 社; 电，在北京 after the blank vs
    // 电在北京开会 after 京: only 电 agrees.
    assert_eq!(at(4), [8, 0, 1]);
    // 开 (t = 9): not in the question; 北京 before it vs 新华社: 0; 会 after it: 0.
    assert_eq!(at(9), [0, 0, 0]);
    // 电 (t = 5): in the question (after the blank); before it 新华社北京 ends like 新华社?
    // No (京 ≠ 社); after it 在北京开会 vs ，在北京: no.
    assert_eq!(at(5), [8, 0, 0]);
    // Without a blank only the first feature is set.
    let plain = match_features("北京在哪", &passage);
    assert_eq!(&plain[9..12], &[8, 0, 0]);
    assert!(plain.chunks(3).all(|c| c[1] == 0 && c[2] == 0));
}

#[test]
fn a_small_dgcnn_reader_learns_a_synthetic_cloze_on_the_shared_loop() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let train = synthetic_items(200, 0);
    let dev = synthetic_items(24, 1);
    let codec = DgcnnReaderCodec::build(&train);
    let (examples, skipped) = codec.examples(&train).unwrap();
    assert_eq!((examples.len(), skipped), (400, 0));
    let device = Device::default().autodiff();
    device.seed(5);
    let model = DgcnnReaderConfig::new(codec.chars.len(), codec.words.len())
        .with_d_model(32)
        .with_embedding_dropout(0.0)
        .with_gate_dropout(0.0)
        .init(&device);
    let task = DgcnnReaderTask {
        codec: &codec,
        dev: &dev,
        batch_size: 8,
    };
    let dir = crate::scratch_dir("qa-dgcnn-learn");
    let config = learning_config(&dir, 8);
    let mut optim = Adam::new().init().unwrap();
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
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
