//! Corpus-scale Chinese text tools, independent of Burn.
//!
//! * [`wordfreq`]: word frequencies with jieba (HMM on by default, exactly as Python jieba
//!   0.42.1's `jieba.lcut`, see [`jieba_compat`], [`prefix_dict`] and [`hmm`]), single
//!   characters or character n-grams, counted in parallel batches and merged.
//! * [`newwords`]: new-word discovery by n-gram cohesion (the 2019 algorithm; 2017 as a variant),
//!   with n-grams packed into integers ([`ngram`]) and counted by radix sort ([`gramcount`]).
//!   Full-width forms are folded to ASCII first ([`width`]); `min_count` can scale with the
//!   corpus size ([`newwords::auto_min_count`]).
//! * [`segment`]: segmenting with a lexicon only (jieba's max-probability path, no HMM), over
//!   [`units`] that keep numbers, Latin runs and punctuation runs whole.
//! * [`segeval`]: span-based precision / recall / F1 against a gold segmentation.
//!
//! Everything streams: input is read in batches of lines by one reader and processed by
//! `threads` workers, each with its own table. Tables larger than the memory budget are spilled
//! to disk as sorted runs and merged exactly ([`spill`]), so counts never depend on the budget.
//!
//! The `nlp-text` binary wraps these as subcommands:
//!
//! ```text
//! nlp-text wordfreq --input corpus/ --output freq.tsv --threads 0 --mem-budget 2G
//! nlp-text newwords --input corpus.txt --output words.tsv              # 2019 defaults
//! nlp-text newwords --input corpus.txt --variant 2017                  # 2017 post
//! nlp-text segment  --dict words.tsv --top 50000 --input raw.txt --output seg.txt
//! nlp-text segeval  --gold 199801.txt --input seg.txt
//! nlp-text rawtext  --input 199801.txt --output raw.txt            # strip word/POS tags
//! ```
//!
//! Invalid UTF-8 lines are skipped and reported with file and line number; a missing or empty
//! input is an error naming it. See `crates/nlp-text/README.md` for the exactness notes and the
//! evaluation on People's Daily 1998-01.

use std::path::PathBuf;

pub mod gramcount;
pub mod hmm;
pub mod input;
pub mod jieba_compat;
pub mod newwords;
pub mod ngram;
pub mod output;
pub mod parallel;
pub mod prefix_dict;
pub mod progress;
pub mod segeval;
pub mod segment;
pub mod spill;
pub mod units;
pub mod width;
pub mod wordfreq;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file (or pseudo-file like `<stdin>`).
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// The input holds nothing to process.
    #[error("empty input: {0}")]
    EmptyInput(String),
    /// A bad argument or file content.
    #[error("{0}")]
    Invalid(String),
}

/// Settings shared by every pass.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Memory budget in bytes for count tables and sort buffers (beyond it, spill to disk).
    pub mem_budget: usize,
    /// Where spill files go (system temp dir when `None`).
    pub tmp_dir: Option<PathBuf>,
    /// Hide progress bars.
    pub quiet: bool,
    /// Bytes of input per batch.
    pub batch_bytes: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            threads: 0,
            mem_budget: DEFAULT_MEM_BUDGET,
            tmp_dir: None,
            quiet: true,
            batch_bytes: parallel::DEFAULT_BATCH_BYTES,
        }
    }
}

impl RunConfig {
    /// The number of worker threads actually used.
    pub fn threads(&self) -> usize {
        parallel::effective_threads(self.threads)
    }
}

/// Default memory budget: 2 GiB.
pub const DEFAULT_MEM_BUDGET: usize = 2 << 30;

/// Parses a byte size such as `512M`, `2G`, `64k` or `1000` (binary units).
pub fn parse_size(s: &str) -> Result<usize, Error> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: usize = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                'b' => 1,
                _ => {
                    return Err(Error::Invalid(format!(
                        "bad size {s:?} (use e.g. 512M, 2G)"
                    )));
                }
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| Error::Invalid(format!("bad size {s:?} (use e.g. 512M, 2G)")))?;
    if n.is_nan() || n < 0.0 {
        return Err(Error::Invalid(format!("bad size {s:?}")));
    }
    Ok((n * mult as f64) as usize)
}
