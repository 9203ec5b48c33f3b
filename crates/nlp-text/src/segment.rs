//! Segmenting with a lexicon only: jieba's maximum-probability path over a DAG of lexicon words,
//! without the HMM (as the new-word post did to evaluate a discovered lexicon with
//! `jieba.Tokenizer(dictionary=...)` and `cut(HMM=False)`; the output equals Python jieba's).

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::input::{BatchReader, InputStats, Source, total_bytes};
use crate::jieba_compat::{JiebaPy, is_py_space};
use crate::output::read_tsv;
use crate::progress::Progress;
use crate::{Error, RunConfig};

/// A segmenter over a fixed lexicon (word → count).
pub struct LexiconSegmenter {
    jieba: JiebaPy,
    words: usize,
}

impl LexiconSegmenter {
    /// Builds a segmenter from `(word, count)` pairs (counts act as jieba frequencies).
    pub fn new<'a>(words: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let words: Vec<(&str, u64)> = words.into_iter().filter(|(w, _)| !w.is_empty()).collect();
        let n = words.len();
        LexiconSegmenter {
            jieba: JiebaPy::from_words(words),
            words: n,
        }
    }

    /// Loads the first `top` entries (all when `None`) of a `word<TAB>count` file such as
    /// `newwords` output, or a jieba dictionary (`word count [tag]`).
    pub fn from_file(path: &Path, top: Option<usize>) -> Result<Self, Error> {
        let f = File::open(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        let mut entries =
            read_tsv(BufReader::new(f)).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        if let Some(t) = top {
            entries.truncate(t);
        }
        if entries.is_empty() {
            return Err(Error::EmptyInput(format!(
                "lexicon {} is empty",
                path.display()
            )));
        }
        Ok(Self::new(entries.iter().map(|(w, c)| (w.as_str(), *c))))
    }

    /// Number of lexicon words.
    pub fn len(&self) -> usize {
        self.words
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// Cuts one line into words (whitespace tokens dropped).
    pub fn cut<'a>(&self, line: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.jieba.cut_with(line, false, |w, _| {
            if !w.chars().all(is_py_space) {
                out.push(w);
            }
        });
        out
    }

    /// Cuts one line and joins the words with single spaces.
    pub fn cut_line(&self, line: &str) -> String {
        self.cut(line).join(" ")
    }
}

/// Segments every input line, writing one output line per input line (in order).
pub fn segment_all<W: Write>(
    seg: &LexiconSegmenter,
    sources: Vec<Source>,
    out: &mut W,
    cfg: &RunConfig,
) -> Result<InputStats, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads())
        .build()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let progress = Progress::new("segmenting", total_bytes(&sources), cfg.quiet);
    let mut reader = BatchReader::new(sources, cfg.batch_bytes);
    let group = cfg.threads() * 4;
    let out_err = |e| Error::Io(PathBuf::from("<output>"), e);
    loop {
        let mut batches = Vec::with_capacity(group);
        while batches.len() < group {
            match reader.next_batch()? {
                Some(b) => batches.push(b),
                None => break,
            }
        }
        if batches.is_empty() {
            break;
        }
        let texts: Vec<String> = pool.install(|| {
            batches
                .par_iter()
                .map(|b| {
                    let mut s = String::with_capacity(b.bytes as usize * 2);
                    for line in b.lines() {
                        s.push_str(&seg.cut_line(line));
                        s.push('\n');
                    }
                    s
                })
                .collect()
        });
        for (t, b) in texts.iter().zip(&batches) {
            out.write_all(t.as_bytes()).map_err(out_err)?;
            progress.inc(b.bytes);
        }
    }
    progress.finish();
    out.flush().map_err(out_err)?;
    if reader.stats.lines == 0 {
        return Err(Error::EmptyInput(
            "the input has no (valid UTF-8) lines".into(),
        ));
    }
    Ok(reader.stats.clone())
}
