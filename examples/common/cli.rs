//! The flags every task example shares, flattened into its subcommands: `data`, `train`,
//! `eval`, `predict` take the same names and meanings in every example.

use std::path::PathBuf;

use bert4burn::burn::tensor::Device;
use bert4burn::core::device::parse_device;
use bert4burn::models::bert::BertConfig;
use bert4burn::tasks::generate::{BeamSettings, GenerationConfig, SampleSettings, Strategy};
use bert4burn::tasks::ner::Prf;
use bert4burn::tasks::train::{LoopState, TrainConfig};
use clap::Args;

/// `--device`.
#[derive(Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N.
    #[arg(long, default_value = "flex")]
    pub device: String,
}

impl DeviceArgs {
    /// The device named by `--device`.
    pub fn device(&self) -> anyhow::Result<Device> {
        Ok(parse_device(&self.device)?)
    }
}

/// `data --out DIR`: where the task's data set files go.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Directory to write the data set files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// `train`: data, run directory and the loop's settings.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training file (as `data` writes it).
    #[arg(long)]
    pub train: PathBuf,
    /// Dev file, scored after every epoch.
    #[arg(long)]
    pub dev: PathBuf,
    /// Run directory: config, vocabulary or tokenizer, checkpoints, best weights, curve.
    #[arg(long)]
    pub out: PathBuf,
    /// Epochs [default: the task's].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Seed of initialisation, batch order and dropout.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Examples per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate (Adam) [default: the model's].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Write a resumable checkpoint every this many steps (and at every epoch end).
    #[arg(long, default_value_t = 200)]
    pub checkpoint_every: usize,
    /// Start afresh even if `--out` holds a checkpoint.
    #[arg(long)]
    pub no_resume: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
}

impl TrainArgs {
    /// The loop's settings, with the task's default epochs and the model's default rate.
    pub fn config(&self, default_epochs: usize, default_lr: f64) -> TrainConfig {
        let mut config = TrainConfig::new(&self.out);
        config.epochs = self.epochs.unwrap_or(default_epochs);
        config.max_steps = self.max_steps;
        config.batch_size = self.batch_size;
        config.seed = self.seed;
        config.learning_rate = self.lr.unwrap_or(default_lr);
        config.clip_norm = Some(5.0);
        config.resume = !self.no_resume;
        config.checkpoint_every = self.checkpoint_every.max(1);
        config.score_name = "dev f1".into();
        config
    }
}

/// `--attention-dropout`, for the tasks that train a BERT.
#[derive(Args, Debug, Clone)]
pub struct AttentionDropoutArgs {
    /// Dropout on the attention probabilities [default: the checkpoint's or config's own].
    /// 0 lets attention take the fused CPU kernel; any other rate draws a random
    /// `[batch, heads, L, L]` tensor per layer and step and takes the composed path.
    #[arg(long)]
    pub attention_dropout: Option<f64>,
}

impl AttentionDropoutArgs {
    /// `config` with the asked-for rate, if any.
    pub fn apply(&self, config: BertConfig) -> BertConfig {
        match self.attention_dropout {
            Some(p) => config.with_attention_probs_dropout_prob(p),
            None => config,
        }
    }
}

/// `eval --out RUN --test F`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// Run directory written by `train`.
    #[arg(long)]
    pub out: PathBuf,
    /// Test file (as `data` writes it).
    #[arg(long)]
    pub test: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `predict --out RUN --input F`.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// Run directory written by `train`.
    #[arg(long)]
    pub out: PathBuf,
    /// Input texts: one per line, or JSON lines with a `text` field (`-` reads stdin).
    #[arg(long)]
    pub input: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `eval`'s last line, the same in every task: `test f1=… precision=… recall=…`.
pub fn print_test_scores(scores: &Prf) {
    println!(
        "test f1={:.4} precision={:.4} recall={:.4}",
        scores.f1(),
        scores.precision(),
        scores.recall()
    );
}

/// `train`'s last lines: the training time and steps, then `dev NAME=best score`.
pub fn print_training(state: &LoopState, score_name: &str) {
    println!(
        "training took {:.1}s over {} steps",
        state.train_seconds, state.global_step
    );
    let best = state.epoch_scores.iter().copied().fold(0.0, f64::max);
    println!("dev {score_name}={best:.4}");
}

/// How a generating task chooses tokens (`predict` of the generation examples): greedy by
/// default, beam search with `--beam K > 1`, sampling when `--temperature`, `--top-k` or
/// `--top-p` is given.
#[derive(Args, Debug, Clone)]
pub struct GenerationArgs {
    /// Beam search with this many beams (1: greedy).
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// Sample at this temperature (turns sampling on).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Sample among the k most likely tokens only (turns sampling on).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens reaching this probability mass (turns sampling on).
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Seed of sampling: the same seed and input give the same output.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Generate at least this many tokens before the end token may come.
    #[arg(long, default_value_t = 0)]
    pub min_len: usize,
    /// Generate at most this many tokens, the end token included [default: the task's].
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Re-run the whole sequence at every step instead of using the key/value cache (same
    /// output, slower; for comparison).
    #[arg(long)]
    pub no_cache: bool,
}

impl GenerationArgs {
    /// The strategy these flags name.
    pub fn strategy(&self) -> anyhow::Result<Strategy> {
        let sampling = self.temperature.is_some() || self.top_k.is_some() || self.top_p.is_some();
        let beam = beam_strategy(self.beam)?;
        if sampling && self.beam > 1 {
            anyhow::bail!(
                "choose beam search (--beam) or sampling (--temperature/--top-k/--top-p), not both"
            );
        }
        Ok(if sampling {
            let mut s = SampleSettings::new(self.seed);
            s.temperature = self.temperature.unwrap_or(1.0);
            s.top_k = self.top_k.unwrap_or(0);
            s.top_p = self.top_p.unwrap_or(1.0);
            Strategy::Sample(s)
        } else {
            beam
        })
    }

    /// `base` (the task's defaults) with these flags applied.
    pub fn apply(&self, mut base: GenerationConfig) -> anyhow::Result<GenerationConfig> {
        base.strategy = self.strategy()?;
        base.min_len = self.min_len;
        if let Some(max_len) = self.max_len {
            base.max_len = max_len;
        }
        Ok(base)
    }
}

/// `--beam K`: greedy for 1, beam search for more, an error for 0.
pub fn beam_strategy(beam: usize) -> anyhow::Result<Strategy> {
    Ok(match beam {
        0 => anyhow::bail!("--beam must be at least 1"),
        1 => Strategy::Greedy,
        k => Strategy::Beam(BeamSettings::new(k)),
    })
}
