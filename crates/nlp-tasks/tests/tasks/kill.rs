//! `kill -9` at random moments: a real (small) training run is killed ten times — at seeded
//! random times and, on every third kill, the moment a checkpoint is being written — and
//! resumed each time; its final weights must be bit-identical to an uninterrupted run's.
//!
//! The training runs in a child process: this test binary started again on the ignored test
//! [`kill_child_trains`] with `KILL_CHILD_OUT` set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::ner::{DgcnnCrfConfig, NerTask, bio_tag_names, load, tag_ids, training_examples};
use nlp_tasks::train::{Checkpoint, TrainConfig, fit};
use nlp_tasks::units::{CharVocab, UnitEncoder};
use rand::{Rng, SeedableRng};

const STEPS: usize = 100;
const KILLS: usize = 10;
const CHILD_ENV: &str = "KILL_CHILD_OUT";
const FINAL: &str = "final.f32";

/// Every float parameter's bits, in visiting order.
struct Bits(Vec<u8>);

impl ModuleVisitor for Bits {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        for v in param.val().try_into_vec_as::<f32>().unwrap() {
            self.0.extend(v.to_le_bytes());
        }
    }
}

/// The child: train (resuming from `KILL_CHILD_OUT` when it holds a checkpoint), then write the
/// final weights' bits to `final.f32`. Does nothing when run without the variable.
#[test]
#[ignore = "the child process of kill_nine_at_random_moments_resumes_bit_identically"]
fn kill_child_trains() {
    let Some(out) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/199801_head200.txt");
    let corpus = load(&fixture).unwrap();
    let vocab = CharVocab::build(corpus.train.iter().map(|s| s.text.as_str()), 1);
    let tags = bio_tag_names();
    let device = Device::flex().autodiff();
    device.seed(3);
    let model = DgcnnCrfConfig::new(vocab.len(), tags.clone())
        .with_d_model(32)
        .with_dilations(vec![1, 2])
        .init(&device);
    let encoder = UnitEncoder::Chars {
        vocab: vocab.clone(),
        max_len: 48,
    };
    let (examples, _) = training_examples(&corpus.train, &encoder, &tag_ids(&tags)).unwrap();
    let task = NerTask::new(&encoder, &tags, &corpus.dev[..4]);
    let mut optim = Adam::new().ema(0.9).init().unwrap();
    let mut config = TrainConfig::new(&out);
    config.epochs = 100;
    config.max_steps = Some(STEPS);
    config.batch_size = 8;
    config.learning_rate = 5e-3;
    config.checkpoint_every = 2;
    config.progress = false;
    config.clip_norm = Some(5.0);
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
    let mut bits = Bits(Vec::new());
    outcome.model.visit(&mut bits);
    let tmp = out.join("final.tmp");
    std::fs::write(&tmp, &bits.0).unwrap();
    std::fs::rename(&tmp, out.join(FINAL)).unwrap();
}

fn spawn_child(out: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "kill::kill_child_trains",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test binary starts again")
}

fn run_to_end(out: &Path) -> Vec<u8> {
    let status = spawn_child(out).wait().unwrap();
    assert!(status.success(), "child training failed: {status}");
    std::fs::read(out.join(FINAL)).unwrap()
}

fn steps_done(out: &Path) -> usize {
    let path = out.join("checkpoint.bin");
    if !path.exists() {
        return 0;
    }
    // A kill never leaves a torn checkpoint: the file under the final name always loads.
    Checkpoint::load(&path)
        .unwrap_or_else(|e| panic!("checkpoint torn by a kill: {e}"))
        .state
        .global_step
}

fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir(name)
}

/// The modification time of the checkpoint's temporary file, if there is one (a kill during a
/// write leaves it behind; the next write truncates and rewrites it).
fn tmp_stamp(out: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(out.join("checkpoint.tmp"))
        .and_then(|m| m.modified())
        .ok()
}

/// Wait until a new checkpoint write is under way (the temporary file appears or changes from
/// `before`), or `limit` passes.
fn wait_for_checkpoint_write(
    out: &Path,
    before: Option<std::time::SystemTime>,
    child: &mut Child,
    limit: Duration,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        let now = tmp_stamp(out);
        if now.is_some() && now != before {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    false
}

#[test]
fn kill_nine_at_random_moments_resumes_bit_identically() {
    let straight = scratch("kill-straight");
    let started = Instant::now();
    let expected = run_to_end(&straight);
    let whole = started.elapsed();
    assert!(!expected.is_empty());

    let out = scratch("kill-resumed");
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let (mut kills, mut during_write) = (0, 0);
    let mut kill_steps = Vec::new();
    while kills < KILLS {
        let before = tmp_stamp(&out);
        let mut child = spawn_child(&out);
        if kills % 3 == 2 {
            if !wait_for_checkpoint_write(&out, before, &mut child, whole) {
                panic!("the run ended before a checkpoint write could be caught (kill {kills})");
            }
        } else {
            // A random moment within about half of the work still left, so the ten kills land
            // before the run ends even with the restart costs.
            let left = 1.0 - steps_done(&out) as f64 / STEPS as f64;
            std::thread::sleep(whole.mul_f64(rng.random_range(0.05..0.5) * left));
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the run ended before kill {kills}; the test's timing assumption failed");
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let after = tmp_stamp(&out);
        if after.is_some() && after != before {
            during_write += 1;
        }
        kill_steps.push(steps_done(&out));
    }
    assert!(
        during_write >= 1,
        "no kill landed inside a checkpoint write"
    );
    assert!(
        !out.join(FINAL).exists(),
        "a killed run wrote its final weights"
    );
    eprintln!(
        "{kills} kills ({during_write} inside a checkpoint write), checkpoint step after each: \
         {kill_steps:?}; uninterrupted run {whole:?}"
    );
    let resumed = run_to_end(&out);
    assert_eq!(resumed.len(), expected.len());
    assert!(
        resumed == expected,
        "final weights after {kills} kills ({during_write} during a checkpoint write) differ \
         from the uninterrupted run"
    );
    std::fs::remove_dir_all(&straight).ok();
    std::fs::remove_dir_all(&out).ok();
}
