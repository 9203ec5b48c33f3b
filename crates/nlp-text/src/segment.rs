//! Segmenting with a lexicon only: jieba's maximum-probability path over a DAG of lexicon words,
//! without the HMM (as the new-word post did to evaluate a discovered lexicon with
//! `jieba.Tokenizer(dictionary=...)` and `cut(HMM=False)`).
//!
//! By default the line is first width-folded ([`crate::width`], as `newwords` folds before
//! discovery, so `１９９８年` meets the lexicon's `1998年`) and split into [`crate::units`]:
//! numbers and Latin runs stay whole, punctuation runs (`——`) are one token, and lexicon words
//! are matched only on unit boundaries. The words written are slices of the original line. In
//! `plain` mode the output is exactly Python jieba 0.42.1's `lcut(HMM=False)` with the lexicon
//! as its dictionary (so `１９９８` is cut digit by digit). On text made only of Chinese
//! characters both modes agree.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::input::{BatchReader, InputStats, Source, total_bytes};
use crate::jieba_compat::{JiebaPy, is_py_space};
use crate::output::read_tsv;
use crate::progress::Progress;
use crate::units::{Unit, UnitKind, units};
use crate::width::fold_width;
use crate::{Error, RunConfig};

/// A segmenter over a fixed lexicon (word → count).
pub struct LexiconSegmenter {
    jieba: JiebaPy,
    logtotal: f64,
    words: usize,
    plain: bool,
}

/// Per-line buffers of the unit segmenter.
#[derive(Default)]
struct Scratch {
    chars: Vec<char>,
    offs: Vec<usize>,
    units: Vec<Unit>,
    route: Vec<(f64, usize)>,
}

impl LexiconSegmenter {
    /// Builds a segmenter from `(word, count)` pairs (counts act as jieba frequencies). Words
    /// are width-folded (a no-op for `newwords` output, which is folded already).
    pub fn new<'a>(words: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        Self::build(words, false)
    }

    /// Plain mode: exactly Python jieba's `lcut(HMM=False)` with `words` as its dictionary, no
    /// folding, no units.
    pub fn new_plain<'a>(words: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        Self::build(words, true)
    }

    fn build<'a>(words: impl IntoIterator<Item = (&'a str, u64)>, plain: bool) -> Self {
        let words: Vec<(String, u64)> = words
            .into_iter()
            .filter(|(w, _)| !w.is_empty())
            .map(|(w, c)| {
                let w = if plain {
                    w.to_string()
                } else {
                    w.chars().map(fold_width).collect()
                };
                (w, c)
            })
            .collect();
        let n = words.len();
        let jieba = JiebaPy::from_words(words.iter().map(|(w, c)| (w.as_str(), *c)));
        let logtotal = (jieba.dict().total() as f64).ln();
        LexiconSegmenter {
            jieba,
            logtotal,
            words: n,
            plain,
        }
    }

    /// Loads the first `top` entries (all when `None`) of a `word<TAB>count` file such as
    /// `newwords` output, or a jieba dictionary (`word count [tag]`); `plain` as
    /// [`new_plain`](Self::new_plain).
    pub fn from_file(path: &Path, top: Option<usize>, plain: bool) -> Result<Self, Error> {
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
        Ok(Self::build(
            entries.iter().map(|(w, c)| (w.as_str(), *c)),
            plain,
        ))
    }

    /// Number of lexicon words.
    pub fn len(&self) -> usize {
        self.words
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// Cuts one line into words (whitespace is not a word).
    pub fn cut<'a>(&self, line: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        if self.plain {
            self.jieba.cut_with(line, false, |w, _| {
                if !w.chars().all(is_py_space) {
                    out.push(w);
                }
            });
        } else {
            self.cut_units(line, &mut Scratch::default(), &mut out);
        }
        out
    }

    /// Cuts one line and joins the words with single spaces.
    pub fn cut_line(&self, line: &str) -> String {
        self.cut(line).join(" ")
    }

    fn cut_units<'a>(&self, line: &'a str, s: &mut Scratch, out: &mut Vec<&'a str>) {
        s.chars.clear();
        s.offs.clear();
        for (i, c) in line.char_indices() {
            s.offs.push(i);
            s.chars.push(fold_width(c));
        }
        s.offs.push(line.len());
        s.units.clear();
        units(&s.chars, &mut s.units);
        let mut a = 0;
        while a < s.units.len() {
            if s.units[a].kind == UnitKind::Punct {
                let u = s.units[a];
                out.push(&line[s.offs[u.start]..s.offs[u.end]]);
                a += 1;
                continue;
            }
            // A block of word units, adjacent in the line (whitespace ends a block).
            let mut b = a + 1;
            while b < s.units.len()
                && s.units[b].kind == UnitKind::Word
                && s.units[b].start == s.units[b - 1].end
            {
                b += 1;
            }
            self.route(a, b, s);
            let mut k = a;
            while k < b {
                let end = s.route[k - a].1;
                out.push(&line[s.offs[s.units[k].start]..s.offs[s.units[end].end]]);
                k = end + 1;
            }
            a = b;
        }
    }

    /// jieba's DAG and route over units `a..b`: `route[k - a] = (best ln P of units k.., last
    /// unit of the first word)`. A single unit is a candidate only when no lexicon word starts
    /// at it, with frequency 1 when it is not a word itself (as `FREQ.get(w) or 1`).
    fn route(&self, a: usize, b: usize, s: &mut Scratch) {
        let dict = self.jieba.dict();
        s.route.clear();
        s.route.resize(b - a + 1, (0.0, 0));
        for k in (a..b).rev() {
            let mut best: Option<(f64, usize)> = None;
            let first = s.units[k];
            if let Some((mut cur, mut logf)) = dict.start(s.chars[first.start]) {
                'walk: for j in k..b {
                    let u = s.units[j];
                    let from = if j == k { u.start + 1 } else { u.start };
                    for &c in &s.chars[from..u.end] {
                        match cur.step(c) {
                            Some(l) => logf = l,
                            None => break 'walk,
                        }
                    }
                    if logf != f64::NEG_INFINITY {
                        let v = logf - self.logtotal + s.route[j + 1 - a].0;
                        // Ties go to the longer word, as Python's max over (value, end) tuples.
                        if best.is_none_or(|b| v >= b.0) {
                            best = Some((v, j));
                        }
                    }
                }
            }
            s.route[k - a] = best.unwrap_or((-self.logtotal + s.route[k + 1 - a].0, k));
        }
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
