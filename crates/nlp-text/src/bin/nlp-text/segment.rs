//! `nlp-text segment`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use nlp_text::input::resolve_inputs;
use nlp_text::segment::{LexiconSegmenter, segment_all};

use crate::common::{Common, open_output, warn_invalid};

#[derive(Args)]
pub(crate) struct SegmentArgs {
    #[command(flatten)]
    common: Common,
    /// The lexicon: `word<TAB>count` (e.g. newwords output) or a jieba dictionary.
    #[arg(long, required = true)]
    dict: PathBuf,
    /// Use only the first N lexicon entries.
    #[arg(long)]
    top: Option<usize>,
    /// Exactly Python jieba's `lcut(HMM=False)` with the lexicon as dictionary: no width
    /// folding, numbers and Latin words cut wherever the lexicon says, every punctuation mark
    /// alone. By default full-width forms are folded (`１９９８` matches `1998`), numbers
    /// (`１２．３％`) and Latin runs stay whole, a repeated punctuation mark (`——`, `……`) is one
    /// token, and the original text is written.
    #[arg(long)]
    plain: bool,
}

pub(crate) fn run(a: SegmentArgs) -> Result<()> {
    let cfg = a.common.config()?;
    let seg = LexiconSegmenter::from_file(&a.dict, a.top, a.plain)?;
    let sources = resolve_inputs(&a.common.input)?;
    let mut out = open_output(a.common.output.as_deref())?;
    let stats = segment_all(&seg, sources, &mut out, &cfg)?;
    out.finish()?;
    warn_invalid(&stats);
    if !a.common.quiet {
        eprintln!(
            "segment: {} lexicon words, {} lines",
            seg.len(),
            stats.lines
        );
    }
    Ok(())
}
