//! Word-frequency counting over a corpus: jieba words, characters or character n-grams.
//!
//! Each worker counts its batches into its own table; the tables are merged at the end (or
//! spilled and merged from disk when over the memory budget), so counts are exact.
//! Tokens made only of whitespace are not counted (they would break the TSV output).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::input::{BatchReader, InputStats, Source, total_bytes};
use crate::jieba_compat::{JiebaPy, is_py_space};
use crate::output::RankedCollector;
use crate::parallel::fold_batches;
use crate::progress::Progress;
use crate::spill::{SpillCounter, SpillDir, merge_counts};
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

/// Builds a jieba segmenter: jieba 0.42.1's dictionary (embedded) or `dict` (`dict.txt`
/// format) as the main dictionary, plus user dictionaries (`word [freq] [tag]`).
pub fn load_jieba(dict: Option<&Path>, user_dicts: &[PathBuf]) -> Result<JiebaPy, Error> {
    let mut jieba = match dict {
        None => JiebaPy::new(),
        Some(p) => {
            let f = File::open(p).map_err(|e| Error::Io(p.to_path_buf(), e))?;
            JiebaPy::with_dict(BufReader::new(f), &p.display().to_string())?
        }
    };
    for p in user_dicts {
        let f = File::open(p).map_err(|e| Error::Io(p.to_path_buf(), e))?;
        jieba.load_user_dict(BufReader::new(f), &p.display().to_string())?;
    }
    Ok(jieba)
}

/// Calls `f` on every token of `line` in the given mode (whitespace-only tokens skipped).
pub fn for_each_token<'a>(
    line: &'a str,
    mode: Mode,
    jieba: Option<&JiebaPy>,
    mut f: impl FnMut(&'a str),
) {
    match mode {
        Mode::Jieba { hmm } => {
            let jieba = jieba.expect("jieba mode needs a segmenter");
            let mut words = Vec::new();
            jieba.cut(line, hmm, &mut words);
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
                let starts: Vec<usize> = run
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([run.len()])
                    .collect();
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

struct Worker {
    counter: SpillCounter<Box<str>>,
    /// Counts of dictionary words by trie node (jieba mode).
    by_node: Vec<u64>,
    /// Counts of other one-character BMP tokens (punctuation, digits) by code point.
    by_char: Vec<u64>,
    tokens: u64,
}

/// The character of a one-character token in the Basic Multilingual Plane.
#[inline]
fn single_bmp(tok: &str) -> Option<char> {
    let mut it = tok.chars();
    match (it.next(), it.next()) {
        (Some(c), None) if (c as u32) < (1 << 16) => Some(c),
        _ => None,
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
    jieba: Option<&JiebaPy>,
    min_count: u64,
    cfg: &RunConfig,
) -> Result<(RankedCollector, CountReport), Error> {
    if matches!(mode, Mode::Jieba { .. }) && jieba.is_none() {
        return Err(Error::Invalid("jieba mode needs a segmenter".into()));
    }
    let threads = cfg.threads();
    let dir = SpillDir::new(cfg.tmp_dir.as_deref())
        .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?;
    let per_worker = (cfg.mem_budget / threads).max(1);
    let progress = Progress::new("counting", total_bytes(&sources), cfg.quiet);
    let mut reader = BatchReader::new(sources, cfg.batch_bytes);
    let nodes = jieba.map_or(0, |j| j.dict().len());
    let (states, stats) = fold_batches(
        &mut reader,
        threads,
        &progress,
        |_| Worker {
            counter: SpillCounter::<Box<str>>::new(per_worker, dir.clone()),
            by_node: Vec::new(),
            by_char: Vec::new(),
            tokens: 0,
        },
        |w, batch| {
            {
                let (map, heap) = w.counter.map_mut();
                let mut by_string = |tok: &str| {
                    if let Some(c) = map.get_mut(tok) {
                        *c += 1;
                    } else {
                        *heap += tok.len() + 16;
                        map.insert(Box::from(tok), 1);
                    }
                };
                match (mode, jieba) {
                    (Mode::Jieba { hmm }, Some(j)) => {
                        if w.by_node.is_empty() {
                            w.by_node = vec![0u64; nodes];
                            w.by_char = vec![0u64; 1 << 16];
                        }
                        for line in batch.lines() {
                            j.cut_with(line, hmm, |tok, node| {
                                if tok.chars().all(is_py_space) {
                                    return;
                                }
                                w.tokens += 1;
                                if node != u32::MAX {
                                    w.by_node[node as usize] += 1;
                                } else if let Some(c) = single_bmp(tok) {
                                    w.by_char[c as usize] += 1;
                                } else {
                                    by_string(tok);
                                }
                            });
                        }
                    }
                    _ => {
                        for line in batch.lines() {
                            for_each_token(line, mode, jieba, |tok| {
                                w.tokens += 1;
                                by_string(tok);
                            });
                        }
                    }
                }
            }
            w.counter
                .check_budget()
                .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))
        },
    )?;
    progress.finish();
    if stats.lines == 0 {
        return Err(Error::EmptyInput(
            "the input has no (valid UTF-8) lines".into(),
        ));
    }
    let mut report = CountReport {
        stats,
        ..CountReport::default()
    };
    let mut parts = Vec::with_capacity(states.len() + 1);
    let mut by_node = vec![0u64; nodes];
    let mut by_char = vec![0u64; 1 << 16];
    for w in states {
        for (total, c) in by_char.iter_mut().zip(&w.by_char) {
            *total += c;
        }
        report.tokens += w.tokens;
        report.spilled_runs += w.counter.runs();
        for (total, c) in by_node.iter_mut().zip(&w.by_node) {
            *total += c;
        }
        parts.push(
            w.counter
                .finish()
                .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?,
        );
    }
    if let Some(j) = jieba {
        // Dictionary words counted by node id join the string counts in the merge.
        let mut known = SpillCounter::<Box<str>>::new(cfg.mem_budget.max(1), dir.clone());
        for (id, &c) in by_node.iter().enumerate() {
            if c > 0 {
                known.add(j.dict().spell(id as u32).into_boxed_str(), c);
                known
                    .check_budget()
                    .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?;
            }
        }
        // One-character tokens counted by code point (equal words are summed by the merge).
        for (code, &c) in by_char.iter().enumerate() {
            if let Some(ch) = char::from_u32(code as u32).filter(|_| c > 0) {
                known.add(ch.to_string().into_boxed_str(), c);
                known
                    .check_budget()
                    .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?;
            }
        }
        report.spilled_runs += known.runs();
        parts.push(
            known
                .finish()
                .map_err(|e| Error::Io(PathBuf::from("spill dir"), e))?,
        );
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
