//! BERT + CRF tagging: character tags ↔ word-piece tags by hand, and a tiny training run.

use std::path::PathBuf;

use burn::tensor::Device;
use nlp_core::decode::Span;
use nlp_models::bert::BertConfig;
use nlp_models::tokenizer::BertTokenizer;
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::ner::{
    BertCrfConfig, NerTask, bio_tag_names, load, predict_spans, tag_ids, training_examples,
    unit_spans_to_chars, unit_tags,
};
use nlp_tasks::train::{TrainConfig, fit};
use nlp_tasks::units::{UnitEncoder, Units};

use crate::RNG;

/// "王小明在beijing工作": [CLS] 王 小 明 在 bei ##jing 工 作 [SEP].
/// (Special tokens cover no characters.)
fn units() -> Units {
    let offsets = vec![
        0..0,
        0..1,
        1..2,
        2..3,
        3..4,
        4..7,
        7..11,
        11..12,
        12..13,
        0..0,
    ];
    Units {
        ids: (0..offsets.len() as i64).collect(),
        offsets,
    }
}

fn tags(spec: &[(&str, usize)]) -> Vec<String> {
    spec.iter()
        .flat_map(|&(t, n)| std::iter::repeat_n(t.to_string(), n))
        .collect()
}

#[test]
fn word_piece_tags_come_from_first_characters() {
    let e = units();
    // 王小明 person, beijing place.
    let chars = tags(&[
        ("B-PER", 1),
        ("I-PER", 2),
        ("O", 1),
        ("B-LOC", 1),
        ("I-LOC", 6),
        ("O", 2),
    ]);
    let (t, lost) = unit_tags(&e, &chars);
    assert_eq!(
        t,
        [
            "O", "B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O"
        ]
    );
    assert_eq!(lost, 0);
    // A place starting at char 8, inside the piece "##jing" (chars 7..11), cannot be
    // represented and is counted; its continuation on "工作" starts a new entity (valid BIO).
    let chars = tags(&[("O", 4), ("O", 4), ("B-LOC", 1), ("I-LOC", 2), ("I-LOC", 2)]);
    let (t, lost) = unit_tags(&e, &chars);
    assert_eq!(lost, 1);
    assert_eq!(&t[5..9], ["O", "O", "B-LOC", "I-LOC"]);
}

#[test]
fn word_piece_spans_map_back_to_characters() {
    let e = units();
    let names = [
        "O", "B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "O", "O",
    ];
    assert_eq!(
        unit_spans_to_chars(&e, &names),
        vec![
            Span::new("PER", 0, 3),
            Span::new("LOC", 4, 11),
            Span::new("ORG", 11, 12)
        ]
    );
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/199801_head200.txt")
}

#[test]
fn tiny_bert_crf_run_lowers_the_loss_and_predicts_valid_spans() {
    let corpus = load(&fixture()).unwrap();
    // A character vocabulary of the fixture, so the tiny BERT sees real ids.
    let dir = std::env::temp_dir().join(format!("nlp-tasks-bert-ner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut chars: Vec<char> = corpus.train.iter().flat_map(|s| s.text.chars()).collect();
    chars.sort_unstable();
    chars.dedup();
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .map(String::from)
        .into();
    vocab.extend(chars.iter().map(|c| c.to_string()));
    std::fs::write(dir.join("vocab.txt"), vocab.join("\n")).unwrap();
    let tokenizer = BertTokenizer::from_vocab(dir.join("vocab.txt"), true).unwrap();

    let tag_names = bio_tag_names();
    let encoder = UnitEncoder::Bert {
        tokenizer: Box::new(tokenizer),
        max_len: 48,
        extra: Default::default(),
    };
    let (examples, _) = training_examples(&corpus.train, &encoder, &tag_ids(&tag_names)).unwrap();
    assert!(examples.iter().all(|e| e.ids.len() <= 48
        && e.ids.len() == e.tags.len()
        && e.tags[0] == 0
        && *e.tags.last().unwrap() == 0));

    let _guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(3);
    let bert = BertConfig::new(vocab.len(), 32, 2, 4, 64).with_with_pool(false);
    let model = BertCrfConfig::new(bert, tag_names.clone())
        .with_crf_lr_multiplier(10.0)
        .init(&device);
    let task = NerTask::new(&encoder, &tag_names, &corpus.dev[..5]);
    let mut optim = Adam::new().init().unwrap();
    let mut config = TrainConfig::new(dir.join("run"));
    config.epochs = 100;
    config.max_steps = Some(24);
    config.batch_size = 16;
    config.learning_rate = 2e-3;
    config.progress = false;
    config.resume = false;
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
    let losses = &outcome.state.step_losses;
    let first: f64 = losses[..4].iter().sum::<f64>() / 4.0;
    let last: f64 = losses[losses.len() - 4..].iter().sum::<f64>() / 4.0;
    assert!(
        last < 0.7 * first,
        "loss did not fall: first {first:.3}, last {last:.3}"
    );

    let texts: Vec<&str> = corpus.test.iter().map(|s| s.text.as_str()).collect();
    let short = UnitEncoder::Bert {
        tokenizer: Box::new(BertTokenizer::from_vocab(dir.join("vocab.txt"), true).unwrap()),
        max_len: 20,
        extra: Default::default(),
    };
    let spans = predict_spans(&outcome.model, &short, &tag_names, &texts, 8).unwrap();
    for (text, spans) in texts.iter().zip(&spans) {
        let n = text.chars().count();
        assert!(spans.iter().all(|s| s.start < s.end && s.end <= n));
        assert!(spans.windows(2).all(|w| w[0].end <= w[1].start));
    }
    std::fs::remove_dir_all(&dir).ok();
}
