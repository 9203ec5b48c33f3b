//! Word-frequency counting over a corpus: jieba words, characters or character n-grams.
//!
//! Each worker counts its batches into its own table; the tables are merged at the end (or
//! spilled and merged from disk when over the memory budget), so counts are exact.
//! Tokens made only of whitespace are not counted (they would break the TSV output).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use jieba_rs::Jieba;

use crate::jieba_compat::{cut_py, is_py_space};
use crate::input::{total_bytes, BatchReader, InputStats, Source};
use crate::output::RankedCollector;
use crate::parallel::fold_batches;
use crate::progress::Progress;
use crate::spill::{merge_counts, SpillCounter, SpillDir};
use crate::{Error, RunConfig};

/// What to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// jieba words (`cut` with or without the HMM for unknown words).
    Jieba {
        /// Use the HMM for unknown words (as `jieba.lcut` does by default).
        hmm: bool,
    },
    /// Single characters.
    Chars,
    /// Character n-grams of exactly this length, inside runs of non-whitespace characters.
    Ngrams(usize),
}

/// Builds a jieba segmenter: the embedded dictionary or `dict` (jieba `dict.txt` format)
/// as the main dictionary, plus the user dictionaries.
pub fn load_jieba(dict: Option<&Path>, user_dicts: &[PathBuf]) -> Result<Jieba, Error> {
    let mut jieba = match dict {
        None => Jieba::new(),
        Some(p) => {
            let f = File::open(p).map_err(|e| Error::Io(p.to_path_buf(), e))?;
            Jieba::with_dict(&mut BufReader::new(f))
                .map_err(|e| Error::Invalid(format!("dictionary {}: {e}", p.display())))?
        }
    };
    for p in user_dicts {
        let f = File::open(p).map_err(|e| Error::Io(p.to_path_buf(), e))?;
        jieba
            .load_dict(&mut BufReader::new(f))
            .map_err(|e| Error::Invalid(format!("user dictionary {}: {e}", p.display())))?;
    }
    Ok(jieba)
}

/// Calls `f` on every token of `line` in the given mode (whitespace-only tokens skipped).
pub fn for_each_token<'a>(
    line: &'a str,
    mode: Mode,
    jieba: Option<&Jieba>,
    mut f: impl FnMut(&'a str),
) {
    match mode {
        Mode::Jieba { hmm } => {
            let jieba = jieba.expect("jieba mode needs a segmenter");
            let mut words = Vec::new();
            cut_py(jieba, line, hmm, &mut words);
            for w in words {
                if !w.chars().all(is_py_space) {
                    f(w);
                }
            }
        }
        Mode::Chars => {
            for (i, c) in line.char_indices() {
                if !is_py_space(c) {
                    f(&line[i..i + c.len_utf8()]);
                }
            }
        }
        Mode::Ngrams(n) => {
            for run in line.split(is_py_space).filter(|r| !r.is_empty()) {
                let starts: Vec<usize> =
                    run.char_indices().map(|(i, _)| i).chain([run.len()]).collect();
                let chars = starts.len() - 1;
                for i in 0..chars.saturating_sub(n.saturating_sub(1)) {
                    if n > 0 {
                        f(&run[starts[i]..starts[i + n]]);
                    }
                }
            }
        }
    }
}

/// Summary of a counting run.
#[derive(Debug, Clone, Default)]
pub struct CountReport {
    /// What the reader saw.
    pub stats: InputStats,
    /// Tokens counted.
    pub tokens: u64,
    /// Distinct tokens.
    pub distinct: u64,
    /// Runs spilled to disk while counting (0 when everything fit in the budget).
    pub spilled_runs: usize,
}

/// Counts tokens over `sources`; returns the ranked collector (min-count applied) and a report.
pub fn count_words(
    sources: Vec<Source>,
    mode: Mode,
    jieba: Option<&Jieba>,
    min_count: u64,
    cfg: &RunConfig,
) -> Result<(RankedCollector, CountReport), Error> {
    if matches!(mode, Mode::Jieba { .. }) && jieba.is_none() {
        return Err(Error::Invalid("jieba mode needs a segmenter".into()));
    }
    let threads = cfg.threads();
    let dir = SpillDir::new(cfg.tmp_dir.as_deref()).map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?;
    let per_worker = (cfg.mem_budget / threads).max(1);
    let progress = Progress::new("counting", total_bytes(&sources), cfg.quiet);
    let reader = BatchReader::new(sources, cfg.batch_bytes);
    let (states, stats) = fold_batches(
        reader,
        threads,
        &progress,
        |_| (SpillCounter::<Box<str>>::new(per_worker, dir.clone()), 0u64),
        |(counter, tokens), batch| {
            {
                let (map, heap) = counter.map_mut();
                for line in batch.lines() {
                    for_each_token(line, mode, jieba, |tok| {
                        *tokens += 1;
                        if let Some(c) = map.get_mut(tok) {
                            *c += 1;
                        } else {
                            *heap += tok.len() + 16;
                            map.insert(Box::from(tok), 1);
                        }
                    });
                }
            }
            counter.check_budget().map_err(|e| Error::Io(PathBuf::from("spill dir"), e))
        },
    )?;
    progress.finish();
    if stats.lines == 0 {
        return Err(Error::EmptyInput("the input has no (valid UTF-8) lines".into()));
    }
    let mut report = CountReport { stats, ..CountReport::default() };
    let mut parts = Vec::with_capacity(states.len());
    for (counter, tokens) in states {
        report.tokens += tokens;
        report.spilled_runs += counter.runs();
        parts.push(counter.finish().map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?);
    }
    let mut collector = RankedCollector::new(min_count, cfg.mem_budget.max(1), dir.clone());
    let mut push_err = None;
    let mut distinct = 0u64;
    merge_counts(parts, &dir, |word, count| {
        distinct += 1;
        if push_err.is_none()
            && let Err(e) = collector.push(word, count)
        {
            push_err = Some(e);
        }
    })
    .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?;
    if let Some(e) = push_err {
        return Err(Error::Io(PathBuf::from("spill dir"), e));
    }
    report.distinct = distinct;
    report.spilled_runs += collector.runs();
    Ok((collector, report))
}
