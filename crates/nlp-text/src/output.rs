//! Ranked `word<TAB>count` output: sorted by count descending, then word (code point order).

use std::cmp::Ordering;
use std::io::{self, BufRead, Write};

use crate::spill::{ExternalSorter, Record, SpillDir};

/// A word with its count, ordered by count descending then word ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    /// The word.
    pub word: Box<str>,
    /// Its count.
    pub count: u64,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .count
            .cmp(&self.count)
            .then_with(|| self.word.cmp(&other.word))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Record for Ranked {
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.count.write_to(w)?;
        self.word.write_to(w)
    }
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>> {
        let Some(count) = u64::read_from(r)? else {
            return Ok(None);
        };
        let word = Box::<str>::read_from(r)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "truncated record"))?;
        Ok(Some(Ranked { word, count }))
    }
    fn heap_bytes(&self) -> usize {
        self.word.heap_bytes()
    }
}

/// Collects words and counts, then yields them ranked, with bounded memory.
pub struct RankedCollector {
    sorter: ExternalSorter<Ranked>,
    min_count: u64,
}

impl std::fmt::Debug for RankedCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RankedCollector")
            .field("min_count", &self.min_count)
            .finish_non_exhaustive()
    }
}

impl RankedCollector {
    /// Keeps words with `count >= min_count`, using about `budget` bytes before spilling.
    pub fn new(min_count: u64, budget: usize, dir: SpillDir) -> Self {
        RankedCollector {
            sorter: ExternalSorter::new(budget, dir),
            min_count,
        }
    }

    /// Offers a word (ignored below the minimum count).
    pub fn push(&mut self, word: Box<str>, count: u64) -> io::Result<()> {
        if count >= self.min_count {
            self.sorter.push(Ranked { word, count })?;
        }
        Ok(())
    }

    /// Runs spilled while sorting.
    pub fn runs(&self) -> usize {
        self.sorter.runs()
    }

    /// Calls `f` on the first `top` entries (all when `None`) in rank order.
    pub fn for_each(
        self,
        top: Option<usize>,
        mut f: impl FnMut(Ranked) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut left = top.unwrap_or(usize::MAX);
        let mut err = Ok(());
        self.sorter.for_each_sorted(|r| {
            if left == 0 {
                return false;
            }
            left -= 1;
            match f(r) {
                Ok(()) => true,
                Err(e) => {
                    err = Err(e);
                    false
                }
            }
        })?;
        err
    }

    /// Collects into a vector (convenient for tests and small vocabularies).
    pub fn into_vec(self, top: Option<usize>) -> io::Result<Vec<Ranked>> {
        let mut v = Vec::new();
        self.for_each(top, |r| {
            v.push(r);
            Ok(())
        })?;
        Ok(v)
    }
}

/// Writes `word<TAB>count` lines.
pub fn write_tsv<W: Write + ?Sized>(w: &mut W, items: &[Ranked]) -> io::Result<()> {
    for r in items {
        writeln!(w, "{}\t{}", r.word, r.count)?;
    }
    Ok(())
}

/// Parses a `word<TAB>count` (or whitespace separated) file; lines without a count get 1.
pub fn read_tsv<R: BufRead>(r: R) -> io::Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        let line = line.trim_end_matches('\r');
        let mut it = line.split(['\t', ' ']).filter(|s| !s.is_empty());
        let Some(word) = it.next() else { continue };
        let count = match it.next() {
            Some(c) => c.parse::<u64>().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {}: bad count {c:?}: {e}", i + 1),
                )
            })?,
            None => 1,
        };
        out.push((word.to_string(), count));
    }
    Ok(out)
}
