//! Poem → title generation on chinese-poetry 2.0.1 with UniLM on BERT (pre-trained or from
//! scratch) or the LSTM copy model, decoded by the shared cached, batched search.
//!
//! ```sh
//! cargo xtask data poetry
//! cargo run --release --example seq2seq -- data --out data-cache/poem-titles
//! cargo run --release --example seq2seq -- baseline --train data-cache/poem-titles/train.jsonl \
//!     --test data-cache/poem-titles/test.jsonl
//! cargo run --release --example seq2seq -- train --model lstm --out runs/titles-lstm \
//!     --train data-cache/poem-titles/train.jsonl --dev data-cache/poem-titles/dev.jsonl
//! cargo run --release --example seq2seq -- train --model unilm --bert data-cache/minilm ...
//! cargo run --release --example seq2seq -- train --model unilm --scratch ...
//! cargo run --release --example seq2seq -- eval --out runs/titles-lstm \
//!     --test data-cache/poem-titles/test.jsonl --beam 3
//! cargo run --release --example seq2seq -- predict --out runs/titles-lstm --input poems.jsonl
//! ```
//! `data` writes `train.jsonl`, `dev.jsonl` and `test.jsonl` (JSON lines `{"src", "tgt"}`: poem
//! → title; see `nlp_tasks::seq2seq::load_poetry` for the rules); any file of such pairs
//! (abstract → title, question → answer) works with the other subcommands. `baseline` scores
//! the first-verse and nearest-poem baselines. `train` scores greedy titles of dev pairs after
//! every epoch (and at `--max-steps`) and keeps the best weights with everything prediction
//! needs in the run directory. `eval` prints last `test rouge-1=… rouge-2=… rouge-l=… bleu=…`
//! (character-level ROUGE F1 and NLTK BLEU with smoothing method 1, as bert4keras' title
//! examples compute them); `predict` reads JSON lines with `src` and prints `{"src", "tgt"}`
//! per input, in input order.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::models::bert::{Bert, BertCheckpoint, BertConfig, BertMode, LoadOptions};
use bert4burn::models::lstm_seq2seq::{LstmSeq2Seq, LstmSeq2SeqConfig};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::generate::{GenerationConfig, Strategy};
use bert4burn::tasks::seq2seq::{
    HELD_OUT, MAX_TITLE_CHARS, Pair, Seq2SeqModel, TfidfIndex, TitleCodec, TitleScores, TitleTask,
    char_vocab_txt, first_line, generate_titles, load_pairs, load_poetry, save_pairs, score_first,
};
use bert4burn::tasks::train::{fit, load_weights};
use bert4burn::tasks::units::{CharVocab, spare_token_ids};
use clap::{Args, Parser, Subcommand, ValueEnum};
use common::cli::{
    AttentionDropoutArgs, DataArgs, DeviceArgs, GenerationArgs, TrainArgs, beam_strategy,
};
use common::run_dir::{RunDir, RunInfo};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// Poem → title generation: write the data set, score baselines, train, evaluate, predict.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write `train.jsonl`, `dev.jsonl` and `test.jsonl` (poem → title pairs) from chinese-poetry.
    Data(Data),
    /// Score the first-verse and nearest-poem (character TF-IDF) baselines on a test file.
    Baseline(Baseline),
    /// Train a title generator (resumes after a kill); prints the best dev ROUGE-L last.
    Train(Train),
    /// Score a run on a file of pairs; the last line is `test rouge-1=… rouge-2=… rouge-l=… bleu=…`.
    Eval(Eval),
    /// Generate for every `src` of a JSON-lines file: `{"src", "tgt"}` lines on stdout.
    Predict(Predict),
}

#[derive(Args)]
struct Data {
    #[command(flatten)]
    data: DataArgs,
    /// The unpacked chinese-poetry package (`cargo xtask data poetry`).
    #[arg(long, default_value = "data-cache/poetry")]
    poetry: PathBuf,
}

#[derive(Args)]
struct Baseline {
    /// Training pairs: the nearest-poem baseline returns their titles.
    #[arg(long)]
    train: PathBuf,
    /// Test pairs.
    #[arg(long)]
    test: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelKind {
    /// UniLM: one BERT with the seq2seq mask (pre-trained, or `--scratch`).
    Unilm,
    /// The LSTM seq2seq with the copy prior, trained from scratch.
    Lstm,
}

#[derive(Args)]
struct Train {
    /// Model to train.
    #[arg(long, value_enum, default_value = "lstm")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model unilm` without `--scratch`).
    #[arg(long, default_value = "data-cache/minilm")]
    bert: PathBuf,
    /// UniLM from scratch: a character vocabulary from the training sources and a small BERT.
    #[arg(long)]
    scratch: bool,
    /// Layers of the from-scratch BERT.
    #[arg(long, default_value_t = 4)]
    layers: usize,
    /// Hidden width of the from-scratch BERT (and of the LSTM).
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Characters seen fewer times in training are unknown (character vocabularies).
    #[arg(long, default_value_t = 2)]
    min_count: usize,
    #[command(flatten)]
    common: TrainArgs,
    /// EMA decay of the weights evaluated and kept.
    #[arg(long, default_value_t = 0.99)]
    ema: f64,
    /// Longest source in units (BERT tokens with [CLS] and [SEP], or characters).
    #[arg(long, default_value_t = 256)]
    max_len: usize,
    /// Dev pairs decoded (greedy) at every evaluation.
    #[arg(long, default_value_t = 500)]
    dev_pairs: usize,
    #[command(flatten)]
    attention: AttentionDropoutArgs,
}

#[derive(Args)]
struct Eval {
    /// Run directory written by `train`.
    #[arg(long)]
    out: PathBuf,
    /// Test pairs (as `data` writes them).
    #[arg(long)]
    test: PathBuf,
    /// Beam search with this many beams (1: greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
    /// Score only the first N pairs.
    #[arg(long)]
    limit: Option<usize>,
    /// Sources decoded together.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Args)]
struct Predict {
    /// Run directory written by `train`.
    #[arg(long)]
    out: PathBuf,
    /// JSON lines with a `src` field (a `tgt` field is ignored).
    #[arg(long)]
    input: PathBuf,
    #[command(flatten)]
    generation: GenerationArgs,
    /// Sources decoded together.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[command(flatten)]
    device: DeviceArgs,
}

const EPOCHS: usize = 1;
const VOCAB: &str = "vocab.json";
const LSTM_CONFIG: &str = "model.json";
const BERT_CONFIG: &str = "bert_config.json";
const EXTRA_CHARS: &str = "extra_chars.json";

fn main() -> ExitCode {
    common::run(|| match Cli::parse().command {
        Command::Data(args) => write_data(&args),
        Command::Baseline(args) => baseline(&args),
        Command::Train(args) => train(&args),
        Command::Eval(args) => eval(&args),
        Command::Predict(args) => run_predict(&args),
    })
}

fn write_data(args: &Data) -> anyhow::Result<()> {
    let dir = &args.data.out;
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} files {eta}",
    )?);
    let splits = load_poetry(&args.poetry, HELD_OUT, |done, all| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| {
        format!(
            "reading chinese-poetry under {} (fetch it with `cargo xtask data poetry`)",
            args.poetry.display()
        )
    })?;
    bar.finish_and_clear();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, pairs) in [
        ("train.jsonl", &splits.train),
        ("dev.jsonl", &splits.dev),
        ("test.jsonl", &splits.test),
    ] {
        save_pairs(&dir.join(name), pairs)?;
    }
    println!(
        "wrote {}: {} train, {} dev, {} test pairs from {} poems (dropped: {} without title or \
         text, {} with a title over 32 characters, {} repeats of an earlier poem)",
        dir.display(),
        splits.train.len(),
        splits.dev.len(),
        splits.test.len(),
        splits.poems,
        splits.empty,
        splits.long_title,
        splits.duplicates
    );
    Ok(())
}

fn train(args: &Train) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let train = load_pairs(&args.common.train, true)?;
    let mut dev = load_pairs(&args.common.dev, true)?;
    dev.truncate(args.dev_pairs);
    eprintln!(
        "{} train pairs, {} dev pairs decoded per evaluation",
        train.len(),
        dev.len()
    );
    let info = RunInfo {
        task: "seq2seq".into(),
        model: args.model,
        max_len: args.max_len,
    };
    let run = RunDir::create(&args.common.out, &info)?;
    let sources = || {
        train
            .iter()
            .map(|p| p.src.as_str())
            .chain(train.iter().map(|p| p.tgt.as_str()))
    };
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    match (args.model, args.scratch) {
        (ModelKind::Lstm, _) => {
            let vocab = CharVocab::build(sources(), args.min_count);
            run.save_json(VOCAB, &vocab)?;
            let codec = TitleCodec::chars(vocab, args.max_len);
            let config = LstmSeq2SeqConfig::new(codec.vocab_size())
                .with_d_embed(args.hidden)
                .with_d_hidden(args.hidden);
            config.save(run.file(LSTM_CONFIG))?;
            let model = config.init(&train_device);
            train_and_report(args, &codec, &train, &dev, model, 1e-3)
        }
        (ModelKind::Unilm, true) => {
            let tokenizer_dir = run.tokenizer_dir();
            std::fs::create_dir_all(&tokenizer_dir)
                .with_context(|| format!("creating {}", tokenizer_dir.display()))?;
            let vocab_txt = tokenizer_dir.join("vocab.txt");
            common::write_atomic(
                &vocab_txt,
                char_vocab_txt(sources(), args.min_count).as_bytes(),
            )?;
            let tokenizer = BertTokenizer::from_vocab(&vocab_txt, false)?;
            let heads = (args.hidden / 64).max(1);
            let config = BertConfig::new(
                tokenizer.vocab_size(),
                args.hidden,
                args.layers,
                heads,
                4 * args.hidden,
            )
            .with_max_position_embeddings(args.max_len + MAX_TITLE_CHARS + 2)
            .with_mode(BertMode::Unilm)
            .with_with_mlm(true);
            let config = args.attention.apply(config);
            config.save(run.file(BERT_CONFIG))?;
            run.save_json(EXTRA_CHARS, &BTreeMap::<char, i64>::new())?;
            eprintln!(
                "from scratch: {} tokens, {} layers of width {} ({heads} heads)",
                tokenizer.vocab_size(),
                args.layers,
                args.hidden
            );
            let codec = TitleCodec::bert(tokenizer, BTreeMap::new(), args.max_len)?;
            let model = config.init(&train_device);
            train_and_report(args, &codec, &train, &dev, model, 5e-4)
        }
        (ModelKind::Unilm, false) => {
            let tokenizer = BertTokenizer::from_dir(&args.bert, true)?;
            run.save_tokenizer(&args.bert)?;
            let extra = spare_token_ids(&tokenizer, sources());
            run.save_json(EXTRA_CHARS, &extra)?;
            eprintln!(
                "{} characters missing from the BERT vocabulary mapped to [unused*] tokens",
                extra.len()
            );
            let ckpt = BertCheckpoint::open(&args.bert)
                .with_context(|| format!("opening BERT checkpoint {}", args.bert.display()))?;
            let config = ckpt
                .config
                .clone()
                .with_mode(BertMode::Unilm)
                .with_with_mlm(true)
                .with_with_pool(false);
            let config = args.attention.apply(config);
            config.save(run.file(BERT_CONFIG))?;
            let options = LoadOptions {
                allow_missing_heads: true,
                ..Default::default()
            };
            let (bert, report) = ckpt.load(&config, &options, &train_device)?;
            if !report.missing_heads.is_empty() {
                eprintln!("starting fresh: {}", report.missing_heads.join(", "));
            }
            let codec = TitleCodec::bert(tokenizer, extra, args.max_len)?;
            train_and_report(args, &codec, &train, &dev, bert, 1e-4)
        }
    }
}

fn train_and_report<M: Seq2SeqModel>(
    args: &Train,
    codec: &TitleCodec,
    train: &[Pair],
    dev: &[Pair],
    model: M,
    default_lr: f64,
) -> anyhow::Result<()> {
    let mut examples = Vec::with_capacity(train.len());
    let mut skipped = Vec::new();
    for (i, pair) in train.iter().enumerate() {
        match codec.example(pair)? {
            Some(e) => examples.push(e),
            None => skipped.push(i + 1),
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "left out {} pairs whose source or title encodes to nothing (lines {:?}…)",
            skipped.len(),
            &skipped[..skipped.len().min(10)]
        );
    }
    let task = TitleTask::<M>::new(codec, dev);
    let mut optim = Adam::new().ema(args.ema).init()?;
    let mut config = args.common.config(EPOCHS, default_lr);
    config.score_name = "dev rouge-l".into();
    let outcome = fit(&task, model, &mut optim, &examples, &config)?;
    outcome.best_weights.context("no evaluation was run")?;
    common::cli::print_training(&outcome.state, "rouge-l");
    Ok(())
}

/// A trained generator read back from its run directory alone.
struct Generator {
    model: Model,
    codec: TitleCodec,
}

enum Model {
    Unilm(Box<Bert>),
    Lstm(Box<LstmSeq2Seq>),
}

impl Generator {
    fn open(out: &Path, device: &Device) -> anyhow::Result<Self> {
        let (run, info) = RunDir::open::<ModelKind>(out, "seq2seq")?;
        let best = run.best_weights()?;
        Ok(match info.model {
            ModelKind::Lstm => {
                let vocab: CharVocab = run.load_json(VOCAB)?;
                let path = run.file(LSTM_CONFIG);
                let config = LstmSeq2SeqConfig::load(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Self {
                    model: Model::Lstm(Box::new(load_weights(config.init(device), &best)?)),
                    codec: TitleCodec::chars(vocab.reindexed(), info.max_len),
                }
            }
            ModelKind::Unilm => {
                let path = run.file(BERT_CONFIG);
                let config = BertConfig::load(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let extra: BTreeMap<char, i64> = run.load_json(EXTRA_CHARS)?;
                let tokenizer = BertTokenizer::from_dir(run.tokenizer_dir(), false)?;
                Self {
                    model: Model::Unilm(Box::new(load_weights(config.init(device), &best)?)),
                    codec: TitleCodec::bert(tokenizer, extra, info.max_len)?,
                }
            }
        })
    }

    /// Outputs for every source, in input order (see `generate_titles`).
    fn generate(
        &self,
        sources: &[&str],
        config: &GenerationConfig,
        cached: bool,
        batch_size: usize,
        tick: impl FnMut(usize),
    ) -> anyhow::Result<Vec<Vec<String>>> {
        let c = &self.codec;
        Ok(match &self.model {
            Model::Unilm(m) => generate_titles(&**m, c, sources, config, cached, batch_size, tick),
            Model::Lstm(m) => generate_titles(&**m, c, sources, config, cached, batch_size, tick),
        }?)
    }
}

fn eval(args: &Eval) -> anyhow::Result<()> {
    let g = Generator::open(&args.out, &args.device.device()?)?;
    let mut test = load_pairs(&args.test, true)?;
    if let Some(limit) = args.limit {
        test.truncate(limit);
    }
    let config = g.codec.generation(beam_strategy(args.beam)?);
    let progress = common::count_bar(test.len(), "pairs")?;
    let started = std::time::Instant::now();
    let tick = |done: usize| progress.set_position(done as u64);
    let sources: Vec<&str> = test.iter().map(|p| p.src.as_str()).collect();
    let titles = g.generate(&sources, &config, true, args.batch_size, tick)?;
    let scores = score_first(&titles, &test);
    progress.finish_and_clear();
    eprintln!(
        "{} pairs in {:.1} s ({:.1} per second)",
        scores.count,
        started.elapsed().as_secs_f64(),
        scores.count as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    println!("test {scores}");
    Ok(())
}

/// One line of `predict`'s output.
#[derive(Serialize)]
struct Generated<'a> {
    src: &'a str,
    tgt: &'a str,
}

fn run_predict(args: &Predict) -> anyhow::Result<()> {
    let g = Generator::open(&args.out, &args.device.device()?)?;
    let config = args
        .generation
        .apply(g.codec.generation(Strategy::Greedy))?;
    let inputs = load_pairs(&args.input, false)?;
    let sources: Vec<&str> = inputs.iter().map(|p| p.src.as_str()).collect();
    let cached = !args.generation.no_cache;
    let progress = common::count_bar(sources.len(), "inputs")?;
    let tick = |done: usize| progress.set_position(done as u64);
    let titles = g.generate(&sources, &config, cached, args.batch_size, tick)?;
    progress.finish_and_clear();
    for (src, titles) in sources.iter().zip(&titles) {
        let tgt = titles.first().map_or("", String::as_str);
        common::emit(serde_json::to_string(&Generated { src, tgt })?)?;
    }
    Ok(())
}

fn baseline(args: &Baseline) -> anyhow::Result<()> {
    let train = load_pairs(&args.train, true)?;
    let test = load_pairs(&args.test, true)?;
    let score = |predictions: &[String], test: &[Pair]| {
        TitleScores::score(
            predictions
                .iter()
                .zip(test)
                .map(|(p, t)| (p.as_str(), t.tgt.as_str())),
        )
    };
    let first: Vec<String> = test
        .iter()
        .map(|p| first_line(&p.src).to_string())
        .collect();
    eprintln!("indexing {} training poems (character TF-IDF)", train.len());
    let started = std::time::Instant::now();
    let index = TfidfIndex::new(&train);
    let sources: Vec<&str> = test.iter().map(|p| p.src.as_str()).collect();
    let nearest: Vec<String> = index
        .nearest_all(&sources)
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    eprintln!(
        "nearest-poem search of {} test poems: {:.1} s",
        test.len(),
        started.elapsed().as_secs_f64()
    );
    println!("first-verse {}", score(&first, &test));
    println!("nearest-poem {}", score(&nearest, &test));
    Ok(())
}
