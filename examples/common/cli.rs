//! The flags every task example shares, flattened into its subcommands: `data`, `train`,
//! `eval`, `predict` take the same names and meanings in every example.

use std::path::PathBuf;

use bert4burn::burn::tensor::Device;
use bert4burn::core::device::parse_device;
use bert4burn::tasks::ner::Prf;
use bert4burn::tasks::train::TrainConfig;
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
