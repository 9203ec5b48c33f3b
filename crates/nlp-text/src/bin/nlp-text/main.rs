//! `nlp-text`: word frequencies, new-word discovery, lexicon segmentation and evaluation.
//!
//! Run `nlp-text --help` or `nlp-text <command> --help`.

use clap::{Parser, Subcommand};

mod common;
mod newwords;
mod rawtext;
mod segeval;
mod segment;
mod wordfreq;

use newwords::NewwordsArgs;
use rawtext::RawtextArgs;
use segeval::SegevalArgs;
use segment::SegmentArgs;
use wordfreq::WordfreqArgs;

#[derive(Parser)]
#[command(
    name = "nlp-text",
    version,
    about = "Corpus-scale Chinese text tools: word frequencies, new-word discovery, lexicon segmentation, evaluation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count words (jieba), characters or character n-grams; writes `word<TAB>count`.
    Wordfreq(WordfreqArgs),
    /// Discover new words by n-gram cohesion; writes `word<TAB>count`.
    Newwords(NewwordsArgs),
    /// Segment text with a lexicon only (jieba max-probability path, no HMM).
    Segment(SegmentArgs),
    /// Score a segmentation against a gold one (word precision / recall / F1).
    Segeval(SegevalArgs),
    /// Strip a gold segmentation (People's Daily `word/POS` or spaced words) to raw text.
    Rawtext(RawtextArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Wordfreq(a) => wordfreq::run(a),
        Command::Newwords(a) => newwords::run(a),
        Command::Segment(a) => segment::run(a),
        Command::Segeval(a) => segeval::run(a),
        Command::Rawtext(a) => rawtext::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause the message already holds.
fn one_line(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message.replace('\n', " ")
}
