//! `nlp-text rawtext`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use nlp_text::segeval::{GoldFormat, raw_line};

use crate::common::{open_output, read_text};
use crate::segeval::GoldFormatArg;

#[derive(Args)]
pub(crate) struct RawtextArgs {
    /// Gold file (stdin if absent).
    #[arg(long, short)]
    input: Option<PathBuf>,
    /// Output file (stdout when absent).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Gold format.
    #[arg(long, value_enum, default_value = "auto")]
    gold_format: GoldFormatArg,
}

pub(crate) fn run(a: RawtextArgs) -> Result<()> {
    let text = read_text(a.input.as_deref())?;
    let format = match GoldFormat::from(a.gold_format) {
        GoldFormat::Auto => nlp_text::segeval::detect_format(text.lines().take(50)),
        f => f,
    };
    let mut out = open_output(a.output.as_deref())?;
    for line in text.lines() {
        writeln!(out, "{}", raw_line(line, format))?;
    }
    out.finish()
}
