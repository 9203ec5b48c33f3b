//! `nlp-text wordfreq`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use nlp_text::input::resolve_inputs;
use nlp_text::wordfreq::{Mode, count_words, load_jieba};

use crate::common::{Common, open_output, warn_invalid};

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Jieba,
    Chars,
    Ngrams,
}

#[derive(Args)]
pub(crate) struct WordfreqArgs {
    #[command(flatten)]
    common: Common,
    /// What to count.
    #[arg(long, value_enum, default_value = "jieba")]
    mode: ModeArg,
    /// n for `--mode ngrams`.
    #[arg(long, default_value_t = 2)]
    order: usize,
    /// Use jieba's HMM for unknown words (default, as `jieba.lcut`).
    #[arg(long, overrides_with = "no_hmm")]
    hmm: bool,
    /// Dictionary words only.
    #[arg(long)]
    no_hmm: bool,
    /// Main jieba dictionary (`word freq [tag]` lines) instead of the embedded one.
    #[arg(long)]
    dict: Option<PathBuf>,
    /// Extra user dictionaries (same format), loaded after the main one.
    #[arg(long, num_args = 1..)]
    user_dict: Vec<PathBuf>,
    /// Only words counted at least this often.
    #[arg(long, default_value_t = 1)]
    min_count: u64,
    /// Only the first N words.
    #[arg(long)]
    top: Option<usize>,
}

pub(crate) fn run(a: WordfreqArgs) -> Result<()> {
    let cfg = a.common.config()?;
    let sources = resolve_inputs(&a.common.input)?;
    let mode = match a.mode {
        ModeArg::Jieba => Mode::Jieba { hmm: !a.no_hmm },
        ModeArg::Chars => Mode::Chars,
        ModeArg::Ngrams => {
            if a.order == 0 {
                bail!("--order must be at least 1");
            }
            Mode::Ngrams(a.order)
        }
    };
    let jieba = match mode {
        Mode::Jieba { .. } => Some(load_jieba(a.dict.as_deref(), &a.user_dict)?),
        _ => None,
    };
    let mut out = open_output(a.common.output.as_deref())?;
    let (collector, report) = count_words(sources, mode, jieba.as_ref(), a.min_count, &cfg)?;
    warn_invalid(&report.stats);
    let mut written = 0u64;
    collector.for_each(a.top, |r| {
        written += 1;
        writeln!(out, "{}\t{}", r.word, r.count)
    })?;
    out.finish()?;
    if !a.common.quiet {
        eprintln!(
            "wordfreq: {} lines, {} tokens, {} distinct, {} written, {} spill runs",
            report.stats.lines, report.tokens, report.distinct, written, report.spilled_runs
        );
    }
    Ok(())
}
