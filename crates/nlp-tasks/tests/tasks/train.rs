use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Device;
use burn::tensor::Tensor;
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::ner::{DgcnnCrfConfig, NerTask, bio_tag_names, load, tag_ids, training_examples};
use nlp_tasks::train::{Checkpoint, TrainConfig, fit};
use nlp_tasks::units::{CharVocab, UnitEncoder};

use crate::RNG;

/// Every float parameter's values, in visiting order (burnpack bytes also hold parameter ids,
/// which differ between model instances, so they cannot be compared directly).
pub(crate) struct Values(pub(crate) Vec<f32>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().try_into_vec_as::<f32>().unwrap());
    }
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/199801_head200.txt")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nlp-tasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Setup {
    vocab: CharVocab,
    tags: Vec<String>,
    corpus: nlp_tasks::ner::Corpus,
}

fn setup() -> Setup {
    let corpus = load(&fixture()).unwrap();
    let vocab = CharVocab::build(corpus.train.iter().map(|s| s.text.as_str()), 1);
    Setup {
        vocab,
        tags: bio_tag_names(),
        corpus,
    }
}

/// Train a tiny tagger for `steps` steps (optionally stopping early / resuming) and return the
/// final weights and per-step losses.
fn run(
    s: &Setup,
    out: &Path,
    steps: usize,
    stop_after: Option<usize>,
) -> (Vec<f32>, Vec<f64>, bool) {
    let _guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(1);
    let model = DgcnnCrfConfig::new(s.vocab.len(), s.tags.clone())
        .with_d_model(16)
        .with_dilations(vec![1, 2])
        .init(&device);
    let encoder = UnitEncoder::Chars {
        vocab: s.vocab.clone(),
        max_len: 48,
    };
    let (examples, _) = training_examples(&s.corpus.train, &encoder, &tag_ids(&s.tags)).unwrap();
    let task = NerTask::new(&encoder, &s.tags, &s.corpus.dev[..5]);
    let mut optim = Adam::new().ema(0.9).init().unwrap();
    let mut config = TrainConfig::new(out);
    config.epochs = 100;
    config.max_steps = Some(steps);
    config.batch_size = 16;
    config.learning_rate = 5e-3;
    config.checkpoint_every = 4;
    config.stop_after_steps = stop_after;
    config.progress = false;
    config.clip_norm = Some(5.0);
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
    let mut values = Values(Vec::new());
    outcome.model.visit(&mut values);
    (values.0, outcome.state.step_losses, outcome.stopped_early)
}

#[test]
fn tiny_training_run_lowers_the_loss() {
    let s = setup();
    let out = scratch("loss");
    let (_, losses, _) = run(&s, &out, 24, None);
    let first: f64 = losses[..4].iter().sum::<f64>() / 4.0;
    let last: f64 = losses[losses.len() - 4..].iter().sum::<f64>() / 4.0;
    assert!(
        last < 0.7 * first,
        "loss did not fall: first {first:.3}, last {last:.3}"
    );
    assert!(out.join("best.bpk").exists() && out.join("curve.svg").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn killed_and_resumed_run_equals_uninterrupted_run() {
    let s = setup();
    let straight = scratch("straight");
    let (weights_a, losses_a, _) = run(&s, &straight, 14, None);
    let resumed = scratch("resumed");
    // "Killed" after 10 steps: the last checkpoint is at step 8, so steps 9-10 are redone.
    let (_, _, stopped) = run(&s, &resumed, 14, Some(10));
    assert!(stopped);
    assert_eq!(
        Checkpoint::load(&resumed.join("checkpoint.bin"))
            .unwrap()
            .state
            .global_step,
        8
    );
    let (weights_b, losses_b, _) = run(&s, &resumed, 14, None);
    assert_eq!(losses_a, losses_b, "per-step losses differ after resume");
    assert!(!weights_a.is_empty());
    assert!(weights_a == weights_b, "final weights differ after resume");
    std::fs::remove_dir_all(&straight).ok();
    std::fs::remove_dir_all(&resumed).ok();
}

#[test]
fn a_run_resumed_with_a_larger_step_budget_goes_on_mid_epoch() {
    let s = setup();
    let straight = scratch("budget-straight");
    let (weights_a, losses_a, _) = run(&s, &straight, 14, None);
    let resumed = scratch("budget-resumed");
    run(&s, &resumed, 6, None);
    // Stopped by its budget inside the first epoch: still in it, 6 batches done.
    let state = Checkpoint::load(&resumed.join("checkpoint.bin"))
        .unwrap()
        .state;
    assert_eq!((state.epoch, state.batch_in_epoch), (0, 6));
    let (weights_b, losses_b, _) = run(&s, &resumed, 14, None);
    assert_eq!(
        losses_a, losses_b,
        "per-step losses differ after a larger budget"
    );
    assert!(
        weights_a == weights_b,
        "final weights differ after a larger budget"
    );
    std::fs::remove_dir_all(&straight).ok();
    std::fs::remove_dir_all(&resumed).ok();
}

#[test]
fn long_sentences_are_cut_into_valid_pieces() {
    let s = setup();
    let ids = tag_ids(&s.tags);
    let encoder = UnitEncoder::Chars {
        vocab: s.vocab.clone(),
        max_len: 20,
    };
    let (examples, lost) = training_examples(&s.corpus.train, &encoder, &ids).unwrap();
    assert_eq!(lost, 0, "characters cannot split an entity");
    assert!(
        examples
            .iter()
            .all(|e| e.ids.len() <= 20 && e.ids.len() == e.tags.len())
    );
    let total: usize = examples.iter().map(|e| e.ids.len()).sum();
    let chars: usize = s.corpus.train.iter().map(|t| t.text.chars().count()).sum();
    assert_eq!(total, chars, "cutting lost or duplicated characters");
    // No piece starts inside an entity (I- tags are odd ids here).
    assert!(
        examples
            .iter()
            .all(|e| e.tags[0] % 2 == 1 || e.tags[0] == 0)
    );
}

#[test]
fn corrupt_checkpoints_are_errors_naming_the_file() {
    let dir = scratch("corrupt-ckpt");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("checkpoint.bin");
    let cases: [(&[u8], &str); 4] = [
        (b"B4BCKPT", "bad magic"),
        (b"B4BCKPT1\x01\x00", "before the state length"),
        // A length that overflows the offset (fuzz/regressions/train_checkpoint).
        (
            b"B4BCKPT1\xf8\xff\xff\xff\xff\xff\xff\xff{}",
            "inside the state part",
        ),
        (
            b"B4BCKPT1\x02\x00\x00\x00\x00\x00\x00\x00{}",
            "before the model length",
        ),
    ];
    for (bytes, expected) in cases {
        std::fs::write(&path, bytes).unwrap();
        let err = Checkpoint::load(&path)
            .err()
            .expect("corrupt file loads")
            .to_string();
        assert!(
            err.contains(expected) && err.contains("checkpoint.bin"),
            "{expected}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
