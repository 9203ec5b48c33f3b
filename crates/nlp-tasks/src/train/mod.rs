//! The training loop every task reuses.
//!
//! Seeded shuffling and batching, epochs and a step limit, an evaluation callback each epoch with
//! EMA weights swapped in (when the optimizer keeps an EMA), best-checkpoint keeping, gradient
//! clipping by global norm, any `nlp-optim` optimizer, a progress bar with loss and rate, a
//! loss/metric curve at the end, and atomic checkpoints (model + optimizer with its EMA and
//! schedule + loop position) so that a run killed at any moment resumes and continues exactly as
//! if it had not stopped: batch order is a function of (seed, epoch) and the dropout generator
//! is re-seeded from (seed, step) before every step. A task may also change the model after
//! every step outside the optimizer ([`TrainTask::after_step`]).

mod checkpoint;
mod clip;
mod curve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use nlp_optim::{ModelOptimizer, OptimError, UpdateRule};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};

pub use checkpoint::{Checkpoint, LoopState};
pub use clip::{clip_global_norm, global_norm};
pub use curve::curve_svg;

/// What a task tells the loop.
pub trait TrainTask {
    /// The model being trained.
    type Model: Module;
    /// One training example.
    type Example;

    /// Mean loss of a batch (a scalar `[1]` on the model's autodiff device).
    fn loss(&self, model: &Self::Model, batch: &[&Self::Example]) -> Tensor<1>;

    /// Evaluate a copy of the model (weights already EMA-averaged when the optimizer has an EMA,
    /// on a plain device). Higher scores are better. An error stops the run (a failure is
    /// never turned into a low score).
    fn evaluate(&self, model: &Self::Model) -> Result<Evaluation>;

    /// Length of an example, used to group examples of similar length into batches
    /// (less padding); `None` keeps the shuffled order.
    fn example_len(&self, _example: &Self::Example) -> Option<usize> {
        None
    }

    /// Change the model outside the optimizer after optimizer step `step` (counted from 1)
    /// on `batch`, for state that does not learn by gradient (e.g. a moving-average
    /// codebook). The change is part of the model, so checkpoints keep it and a resumed run
    /// continues exactly. The default leaves the model as it is.
    fn after_step(
        &self,
        model: Self::Model,
        _batch: &[&Self::Example],
        _step: usize,
    ) -> Result<Self::Model> {
        Ok(model)
    }
}

/// An evaluation result.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The score to maximise (e.g. F1).
    pub score: f64,
    /// A one-line report for the log.
    pub report: String,
}

/// Settings of [`fit`].
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Epochs to run.
    pub epochs: usize,
    /// Stop after this many optimizer steps in total (then evaluate once more).
    pub max_steps: Option<usize>,
    /// Examples per batch.
    pub batch_size: usize,
    /// Seed of the batch order and of the dropout generator.
    pub seed: u64,
    /// Learning rate given to the optimizer (schedules in the optimizer multiply it).
    pub learning_rate: f64,
    /// Clip gradients to this global L2 norm.
    pub clip_norm: Option<f64>,
    /// Directory for `checkpoint.bin`, `best.bpk`, `curve.svg` and `log.txt`.
    pub out_dir: PathBuf,
    /// Write a checkpoint every this many steps (and at every epoch end).
    pub checkpoint_every: usize,
    /// Continue from `out_dir/checkpoint.bin` when it exists.
    pub resume: bool,
    /// Return after this many steps in total, as if the process were killed there (for resume tests).
    pub stop_after_steps: Option<usize>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// With `progress`, also log a line (step, loss, rate) every this many steps to stderr and
    /// `log.txt`, so runs whose stderr is a file (no bar drawn) still show progress.
    pub log_every: usize,
    /// Name of the evaluation score in logs and the curve.
    pub score_name: String,
}

impl TrainConfig {
    /// Defaults: 1 epoch, batch 32, seed 42, lr 1e-3, no clipping, checkpoints every 200 steps,
    /// a progress line every 100 steps.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        Self {
            epochs: 1,
            max_steps: None,
            batch_size: 32,
            seed: 42,
            learning_rate: 1e-3,
            clip_norm: None,
            out_dir: out_dir.into(),
            checkpoint_every: 200,
            resume: true,
            stop_after_steps: None,
            progress: true,
            log_every: 100,
            score_name: "score".to_string(),
        }
    }
}

/// The result of [`fit`].
pub struct TrainOutcome<M> {
    /// The model with its final training weights.
    pub model: M,
    /// History and position.
    pub state: LoopState,
    /// Whether the run returned early because of `stop_after_steps`.
    pub stopped_early: bool,
    /// Where the best weights were written (`best.bpk`), if any epoch was evaluated.
    pub best_weights: Option<PathBuf>,
}

/// Write `bytes` to `path` under a temporary name first, then rename: a killed run never leaves
/// a partial file that looks complete.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.to_path_buf();
    tmp.as_mut_os_string().push(".tmp");
    std::fs::write(&tmp, bytes).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))
}

/// Serialize a model's parameters (burnpack bytes).
pub fn model_to_bytes<M: Module>(model: &M) -> Result<Vec<u8>> {
    model
        .clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| Error::invalid(Path::new("<memory>"), format!("model weights: {e:?}")))
}

/// Load parameters serialized by [`model_to_bytes`] into `model`.
pub fn model_from_bytes<M: Module>(model: M, bytes: Vec<u8>, origin: &Path) -> Result<M> {
    let weights = |e: &dyn std::fmt::Debug| Error::invalid(origin, format!("model weights: {e:?}"));
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| weights(&e))?;
    model.try_load_record(record).map_err(|e| weights(&e))
}

/// Load weights saved as `best.bpk` (or any burnpack file of the same model) into `model`.
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    model_from_bytes(model, bytes, path)
}

/// The batches of one epoch: a permutation seeded by (seed, epoch), optionally grouped by length
/// in windows of 50 batches so that batches hold examples of similar length.
fn epoch_batches<T: TrainTask>(
    task: &T,
    examples: &[T::Example],
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64));
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.shuffle(&mut rng);
    if examples.first().and_then(|e| task.example_len(e)).is_some() {
        for window in order.chunks_mut(batch_size * 50) {
            window.sort_by_key(|&i| task.example_len(&examples[i]).unwrap_or(0));
        }
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    batches.shuffle(&mut rng);
    batches
}

/// Train `model` on `examples` with `optim` under `config`, evaluating with `task` after every
/// epoch. Resumes from `out_dir/checkpoint.bin` when `config.resume` and the file exists.
pub fn fit<T: TrainTask, R: UpdateRule>(
    task: &T,
    mut model: T::Model,
    optim: &mut ModelOptimizer<R>,
    examples: &[T::Example],
    config: &TrainConfig,
) -> Result<TrainOutcome<T::Model>> {
    if examples.is_empty() {
        return Err(Error::NoExamples);
    }
    std::fs::create_dir_all(&config.out_dir).map_err(Error::io(&config.out_dir))?;
    let ckpt_path = config.out_dir.join("checkpoint.bin");
    let best_path = config.out_dir.join("best.bpk");
    let device: Device = model.devices().into_iter().next().unwrap_or_default();
    let mut state = LoopState::default();
    if config.resume && ckpt_path.exists() {
        let ckpt = Checkpoint::load(&ckpt_path)?;
        model = model_from_bytes(model, ckpt.model, &ckpt_path)?;
        optim.load_bytes(ckpt.optimizer, &device)?;
        state = ckpt.state;
        log(
            config,
            &format!(
                "resumed from {} at step {}",
                ckpt_path.display(),
                state.global_step
            ),
        );
    }
    let save = |model: &T::Model, optim: &ModelOptimizer<R>, state: &LoopState| -> Result<()> {
        Checkpoint {
            state: state.clone(),
            model: model_to_bytes(model)?,
            optimizer: optim.to_bytes()?,
        }
        .save(&ckpt_path)
    };
    let steps_per_epoch = examples.len().div_ceil(config.batch_size);
    let total_steps = config
        .max_steps
        .unwrap_or(usize::MAX)
        .min(steps_per_epoch * config.epochs);
    let bar = if config.progress {
        let bar = ProgressBar::new(total_steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} steps, {per_sec}, eta {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_position(state.global_step as u64);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut stopped_early = false;
    let mut window = (state.global_step, state.train_seconds, 0.0f64);
    'epochs: while state.epoch < config.epochs && state.global_step < total_steps {
        let batches = epoch_batches(task, examples, config.batch_size, config.seed, state.epoch);
        while state.batch_in_epoch < batches.len() {
            if state.global_step >= total_steps {
                break;
            }
            if config
                .stop_after_steps
                .is_some_and(|s| state.global_step >= s)
            {
                stopped_early = true;
                break 'epochs;
            }
            let started = Instant::now();
            device.seed(
                config
                    .seed
                    .wrapping_mul(31)
                    .wrapping_add(state.global_step as u64),
            );
            let batch: Vec<&T::Example> = batches[state.batch_in_epoch]
                .iter()
                .map(|&i| &examples[i])
                .collect();
            let loss = task.loss(&model, &batch);
            let loss_value = loss.clone().into_scalar::<f64>();
            if !loss_value.is_finite() {
                return Err(Error::Diverged {
                    step: state.global_step,
                    loss: loss_value,
                });
            }
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            if let Some(max_norm) = config.clip_norm {
                clip_global_norm(&model, &mut grads, max_norm);
            }
            model = optim.step(config.learning_rate, model, grads);
            state.global_step += 1;
            model = task.after_step(model, &batch, state.global_step)?;
            state.batch_in_epoch += 1;
            state.step_losses.push(loss_value);
            state.running_loss += loss_value;
            state.train_seconds += started.elapsed().as_secs_f64();
            bar.set_position(state.global_step as u64);
            bar.set_message(format!("epoch {} loss {loss_value:.4}", state.epoch + 1));
            window.2 += loss_value;
            if config.progress && state.global_step % config.log_every.max(1) == 0 {
                let steps = state.global_step - window.0;
                let seconds = state.train_seconds - window.1;
                bar.suspend(|| {
                    log(
                        config,
                        &format!(
                            "epoch {} step {}/{total_steps} loss {:.4} ({:.2} steps/s)",
                            state.epoch + 1,
                            state.global_step,
                            window.2 / steps.max(1) as f64,
                            steps as f64 / seconds.max(1e-9)
                        ),
                    )
                });
                window = (state.global_step, state.train_seconds, 0.0);
            }
            if state.global_step % config.checkpoint_every == 0 {
                save(&model, optim, &state)?;
            }
        }
        // End of epoch (or of the step budget): evaluate, keep the best, checkpoint. A run
        // stopped by its budget mid-epoch stays in that epoch, so that resuming it with a larger
        // budget goes on with the epoch's remaining batches.
        let epoch_finished = state.batch_in_epoch >= batches.len();
        let done = state.batch_in_epoch.max(1);
        state.epoch_losses.push(state.running_loss / done as f64);
        let evaluation = evaluate(task, &model, optim)?;
        state.epoch_scores.push(evaluation.score);
        if state.best_score.is_none_or(|b| evaluation.score > b) {
            state.best_score = Some(evaluation.score);
            state.best_epoch = Some(state.epoch);
            let weights = match optim.ema_model(&model) {
                Ok(ema) => ema,
                Err(_) => model.clone(),
            };
            write_atomic(&best_path, &model_to_bytes(&weights)?)?;
        }
        bar.suspend(|| {
            log(
                config,
                &format!(
                    "epoch {} step {} loss {:.4} {} {:.4} ({}) [{:.1}s training so far]",
                    state.epoch + 1,
                    state.global_step,
                    state.epoch_losses.last().copied().unwrap_or(f64::NAN),
                    config.score_name,
                    evaluation.score,
                    evaluation.report,
                    state.train_seconds
                ),
            )
        });
        if epoch_finished {
            state.epoch += 1;
            state.batch_in_epoch = 0;
            state.running_loss = 0.0;
        }
        save(&model, optim, &state)?;
    }
    bar.finish_and_clear();
    if !stopped_early {
        let curve = config.out_dir.join("curve.svg");
        let svg = curve_svg(&state.step_losses, &state.epoch_scores, &config.score_name);
        write_atomic(&curve, svg.as_bytes())?;
        log(config, &format!("wrote {}", curve.display()));
    }
    Ok(TrainOutcome {
        model,
        best_weights: best_path.exists().then_some(best_path),
        state,
        stopped_early,
    })
}

/// Evaluate with EMA weights when the optimizer keeps an EMA, on a plain (non-autodiff) copy.
fn evaluate<T: TrainTask, R: UpdateRule>(
    task: &T,
    model: &T::Model,
    optim: &ModelOptimizer<R>,
) -> Result<Evaluation> {
    let weights = match optim.ema_model(model) {
        Ok(ema) => ema,
        Err(OptimError::NoEma) => model.clone(),
        Err(e) => return Err(e.into()),
    };
    task.evaluate(&weights.valid())
}

fn log(config: &TrainConfig, line: &str) {
    eprintln!("{line}");
    let path = config.out_dir.join("log.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        use std::io::Write;
        let _ = writeln!(f, "{line}");
    }
}
