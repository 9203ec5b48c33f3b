//! Poem titles from chinese-poetry 2.0.1 (issue #15, in progress: the data, the metrics and the
//! two baselines are here; training UniLM and the LSTM copy model on it is still to come).
//!
//! ```sh
//! cargo xtask data poetry
//! cargo run --release --example seq2seq -- data --out data-cache/poem-titles
//! cargo run --release --example seq2seq -- baseline --train data-cache/poem-titles/train.jsonl \
//!     --test data-cache/poem-titles/test.jsonl
//! ```
//! `data` writes `train.jsonl`, `dev.jsonl` and `test.jsonl` (JSON lines `{"src", "tgt"}`: poem
//! → title; see `nlp_tasks::seq2seq::load_poetry` for the rules). `baseline` scores the two
//! baselines on a test file and prints, last, one line per baseline:
//! `<name> rouge-1=… rouge-2=… rouge-l=… bleu=…` (character-level ROUGE F1 and NLTK BLEU with
//! smoothing method 1, as bert4keras' title examples compute them).

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::tasks::seq2seq::{
    HELD_OUT, Pair, TfidfIndex, TitleScores, first_line, load_pairs, load_poetry, save_pairs,
};
use clap::{Args, Parser, Subcommand};
use common::cli::DataArgs;
use indicatif::{ProgressBar, ProgressStyle};

/// Poem → title generation: write the data set, score baselines.
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

fn main() -> ExitCode {
    common::run(|| match Cli::parse().command {
        Command::Data(args) => write_data(&args),
        Command::Baseline(args) => baseline(&args),
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
