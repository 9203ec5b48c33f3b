//! `nlp-text segeval` (and the gold formats `rawtext` shares).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use nlp_text::segeval::{GoldFormat, evaluate};

use crate::common::{open_output, read_text};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum GoldFormatArg {
    Auto,
    Pd,
    Plain,
}

impl From<GoldFormatArg> for GoldFormat {
    fn from(g: GoldFormatArg) -> Self {
        match g {
            GoldFormatArg::Auto => GoldFormat::Auto,
            GoldFormatArg::Pd => GoldFormat::PeoplesDaily,
            GoldFormatArg::Plain => GoldFormat::Plain,
        }
    }
}

#[derive(Args)]
pub(crate) struct SegevalArgs {
    /// Segmentation to score (space-separated words, one line per gold line); stdin if absent.
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Gold segmentation.
    #[arg(long, required = true)]
    gold: PathBuf,
    /// Gold format.
    #[arg(long, value_enum, default_value = "auto")]
    gold_format: GoldFormatArg,
    /// Write the report here (stdout when absent).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Accepted for uniformity with the other commands (scoring is single-threaded).
    #[arg(long, short = 'j', default_value_t = 0)]
    threads: usize,
}

pub(crate) fn run(a: SegevalArgs) -> Result<()> {
    let gold = read_text(Some(&a.gold))?;
    let pred = read_text(a.input.as_deref())?;
    let s = evaluate(&gold, &pred, a.gold_format.into())?;
    let mut out = open_output(a.output.as_deref())?;
    writeln!(out, "lines\t{}", s.lines)?;
    writeln!(out, "gold_words\t{}", s.gold)?;
    writeln!(out, "pred_words\t{}", s.pred)?;
    writeln!(out, "correct\t{}", s.correct)?;
    writeln!(out, "precision\t{:.4}", s.precision())?;
    writeln!(out, "recall\t{:.4}", s.recall())?;
    writeln!(out, "f1\t{:.4}", s.f1())?;
    writeln!(out, "mismatched_lines\t{}", s.mismatched)?;
    out.finish()?;
    if let Some(l) = s.first_mismatch {
        eprintln!(
            "warning: {} line(s) whose text differs from the gold were not scored (first: line {l})",
            s.mismatched
        );
    }
    Ok(())
}
