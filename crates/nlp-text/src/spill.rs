//! Exact counting and sorting with bounded memory: sorted runs spilled to disk, then merged.
//!
//! [`SpillCounter`] counts keys in a hash map; when its estimated size passes the budget it writes
//! the map, sorted by key, to a run file and starts again. [`merge_counts`] merges the runs of any
//! number of counters (k-way, summing equal keys), so the final counts are exact whatever the
//! budget. [`ExternalSorter`] sorts records the same way, without combining.

use std::cmp::Reverse;
use std::fs::File;
use std::hash::Hash;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hashbrown::HashMap;

/// A value that can be written to and read back from a run file.
pub trait Record: Sized {
    /// Writes the record.
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()>;
    /// Reads one record, or `None` at a clean end of file.
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>>;
    /// Approximate heap bytes owned by the record (beyond `size_of::<Self>()`).
    fn heap_bytes(&self) -> usize {
        0
    }
}

fn read_exact_or_eof<R: BufRead>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    if r.fill_buf()?.is_empty() {
        return Ok(false);
    }
    r.read_exact(buf)?;
    Ok(true)
}

impl Record for u64 {
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.to_le_bytes())
    }
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>> {
        let mut b = [0u8; 8];
        Ok(read_exact_or_eof(r, &mut b)?.then(|| u64::from_le_bytes(b)))
    }
}

impl Record for u128 {
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(&self.to_le_bytes())
    }
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>> {
        let mut b = [0u8; 16];
        Ok(read_exact_or_eof(r, &mut b)?.then(|| u128::from_le_bytes(b)))
    }
}

impl Record for Box<str> {
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        (self.len() as u64).write_to(w)?;
        w.write_all(self.as_bytes())
    }
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>> {
        let Some(len) = u64::read_from(r)? else {
            return Ok(None);
        };
        let mut b = vec![0u8; len as usize];
        r.read_exact(&mut b)?;
        String::from_utf8(b)
            .map(|s| Some(s.into_boxed_str()))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
    fn heap_bytes(&self) -> usize {
        // Allocation plus typical allocator overhead.
        self.len() + 16
    }
}

impl<A: Record, B: Record> Record for (A, B) {
    fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        self.0.write_to(w)?;
        self.1.write_to(w)
    }
    fn read_from<R: BufRead>(r: &mut R) -> io::Result<Option<Self>> {
        let Some(a) = A::read_from(r)? else {
            return Ok(None);
        };
        let b = B::read_from(r)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "truncated record"))?;
        Ok(Some((a, b)))
    }
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

/// A key that can be counted by [`SpillCounter`].
pub trait CountKey: Record + Hash + Eq + Ord + Send {}
impl<T: Record + Hash + Eq + Ord + Send> CountKey for T {}

/// A directory of run files shared by several counters or sorters; removed when dropped.
#[derive(Clone)]
pub struct SpillDir {
    inner: Arc<SpillDirInner>,
}

struct SpillDirInner {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl SpillDir {
    /// Creates a fresh temporary directory under `parent` (or the system temp dir).
    pub fn new(parent: Option<&Path>) -> io::Result<Self> {
        let mut b = tempfile::Builder::new();
        b.prefix("nlp-text-spill-");
        let dir = match parent {
            Some(p) => b.tempdir_in(p)?,
            None => b.tempdir()?,
        };
        Ok(SpillDir {
            inner: Arc::new(SpillDirInner {
                dir,
                next: AtomicUsize::new(0),
            }),
        })
    }

    fn next_path(&self) -> PathBuf {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.dir.path().join(format!("run-{n:06}.bin"))
    }

    /// Number of run files written so far.
    pub fn runs_written(&self) -> usize {
        self.inner.next.load(Ordering::Relaxed)
    }

    /// Writes sorted records to a new run file and returns its path.
    pub fn write_run<T: Record>(&self, items: impl IntoIterator<Item = T>) -> io::Result<PathBuf> {
        let path = self.next_path();
        let mut w = BufWriter::with_capacity(1 << 16, File::create(&path)?);
        for it in items {
            it.write_to(&mut w)?;
        }
        w.flush()?;
        Ok(path)
    }
}

/// Fewest entries a [`SpillCounter`] spills at once.
pub const MIN_SPILL_ENTRIES: usize = 256;

/// Counts keys in memory, spilling sorted runs to disk when over its byte budget.
pub struct SpillCounter<K: CountKey> {
    map: HashMap<K, u64>,
    heap: usize,
    budget: usize,
    dir: SpillDir,
    runs: Vec<PathBuf>,
}

impl<K: CountKey> SpillCounter<K> {
    /// A counter allowed about `budget` bytes of memory, spilling into `dir`.
    pub fn new(budget: usize, dir: SpillDir) -> Self {
        SpillCounter {
            map: HashMap::new(),
            heap: 0,
            budget,
            dir,
            runs: Vec::new(),
        }
    }

    /// Adds `n` to the count of `key`.
    #[inline]
    pub fn add(&mut self, key: K, n: u64) {
        match self.map.entry(key) {
            hashbrown::hash_map::Entry::Occupied(mut e) => *e.get_mut() += n,
            hashbrown::hash_map::Entry::Vacant(e) => {
                self.heap += e.key().heap_bytes();
                e.insert(n);
            }
        }
    }

    /// Direct access to the in-memory map (for allocation-free lookups by borrowed keys).
    pub fn map_mut(&mut self) -> (&mut HashMap<K, u64>, &mut usize) {
        (&mut self.map, &mut self.heap)
    }

    /// Estimated bytes used by the in-memory table.
    pub fn mem_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(K, u64)>() + 1) + self.heap
    }

    /// Spills to disk if over budget (and holding at least [`MIN_SPILL_ENTRIES`], so that
    /// tiny budgets do not make one file per key); call between batches.
    pub fn check_budget(&mut self) -> io::Result<()> {
        if self.mem_bytes() > self.budget && self.map.len() >= MIN_SPILL_ENTRIES {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut items: Vec<(K, u64)> = std::mem::take(&mut self.map).into_iter().collect();
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.runs.push(self.dir.write_run(items)?);
        self.heap = 0;
        Ok(())
    }

    /// Number of runs spilled so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Finishes counting: the in-memory map, or (if anything was spilled) the list of runs with
    /// the remaining map spilled too.
    pub fn finish(mut self) -> io::Result<Counts<K>> {
        if self.runs.is_empty() {
            Ok(Counts::Memory(self.map))
        } else {
            if !self.map.is_empty() {
                self.spill()?;
            }
            Ok(Counts::Runs(self.runs))
        }
    }
}

/// The result of one [`SpillCounter`].
pub enum Counts<K: CountKey> {
    /// Everything fit in memory.
    Memory(HashMap<K, u64>),
    /// Sorted runs on disk.
    Runs(Vec<PathBuf>),
}

/// Merges the results of several counters and calls `f(key, count)` once per distinct key.
///
/// If every counter stayed in memory the maps are merged in memory (order unspecified);
/// otherwise in-memory maps are spilled as well and all runs are k-way merged in key order.
pub fn merge_counts<K: CountKey>(
    parts: Vec<Counts<K>>,
    dir: &SpillDir,
    mut f: impl FnMut(K, u64),
) -> io::Result<()> {
    if parts.iter().all(|p| matches!(p, Counts::Memory(_))) {
        let mut maps: Vec<HashMap<K, u64>> = parts
            .into_iter()
            .map(|p| match p {
                Counts::Memory(m) => m,
                Counts::Runs(_) => unreachable!(),
            })
            .collect();
        maps.sort_by_key(|m| Reverse(m.len()));
        let mut it = maps.into_iter();
        let Some(mut big) = it.next() else {
            return Ok(());
        };
        for m in it {
            for (k, v) in m {
                *big.entry(k).or_insert(0) += v;
            }
        }
        for (k, v) in big {
            f(k, v);
        }
        return Ok(());
    }
    let mut runs = Vec::new();
    for p in parts {
        match p {
            Counts::Runs(r) => runs.extend(r),
            Counts::Memory(m) => {
                if !m.is_empty() {
                    let mut items: Vec<(K, u64)> = m.into_iter().collect();
                    items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                    runs.push(dir.write_run(items)?);
                }
            }
        }
    }
    let by_key = |a: &(K, u64), b: &(K, u64)| a.0.cmp(&b.0);
    let runs = reduce_runs(runs, dir, by_key)?;
    let mut merger = RunMerger::<(K, u64), _>::open(&runs, by_key)?;
    let mut cur: Option<(K, u64)> = None;
    while let Some((k, v)) = merger.next_item()? {
        match &mut cur {
            Some((ck, cv)) if *ck == k => *cv += v,
            _ => {
                if let Some((ck, cv)) = cur.take() {
                    f(ck, cv);
                }
                cur = Some((k, v));
            }
        }
    }
    if let Some((ck, cv)) = cur {
        f(ck, cv);
    }
    for r in runs {
        let _ = std::fs::remove_file(r);
    }
    Ok(())
}

/// k-way merge of sorted run files.
pub struct RunMerger<T: Record, C: Fn(&T, &T) -> std::cmp::Ordering> {
    readers: Vec<BufReader<File>>,
    heads: Vec<Option<T>>,
    cmp: C,
}

/// Most runs merged at once (bounds open files); more runs are merged in rounds.
pub const MERGE_FAN_IN: usize = 64;

/// Merges runs in rounds of [`MERGE_FAN_IN`] until at most that many remain.
fn reduce_runs<T: Record>(
    mut runs: Vec<PathBuf>,
    dir: &SpillDir,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Copy,
) -> io::Result<Vec<PathBuf>> {
    while runs.len() > MERGE_FAN_IN {
        let mut next = Vec::new();
        for group in runs.chunks(MERGE_FAN_IN) {
            let mut m = RunMerger::<T, _>::open(group, cmp)?;
            let path = dir.next_path();
            let mut w = BufWriter::with_capacity(1 << 16, File::create(&path)?);
            while let Some(it) = m.next_item()? {
                it.write_to(&mut w)?;
            }
            w.flush()?;
            for r in group {
                let _ = std::fs::remove_file(r);
            }
            next.push(path);
        }
        runs = next;
    }
    Ok(runs)
}

impl<T: Record, C: Fn(&T, &T) -> std::cmp::Ordering> RunMerger<T, C> {
    /// Opens the runs; each must be sorted by `cmp`.
    pub fn open(runs: &[PathBuf], cmp: C) -> io::Result<Self> {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heads = Vec::with_capacity(runs.len());
        for r in runs {
            let mut rd = BufReader::with_capacity(1 << 16, File::open(r)?);
            heads.push(T::read_from(&mut rd)?);
            readers.push(rd);
        }
        Ok(RunMerger {
            readers,
            heads,
            cmp,
        })
    }

    /// The next record in merged order (a linear scan of the heads: runs are at most
    /// [`MERGE_FAN_IN`]; ties go to the earlier run).
    pub fn next_item(&mut self) -> io::Result<Option<T>> {
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            if let Some(h) = h {
                best = match best {
                    Some(b) if (self.cmp)(self.heads[b].as_ref().expect("head"), h).is_le() => {
                        Some(b)
                    }
                    _ => Some(i),
                };
            }
        }
        let Some(b) = best else { return Ok(None) };
        let next = T::read_from(&mut self.readers[b])?;
        Ok(std::mem::replace(&mut self.heads[b], next))
    }
}

/// Fewest records in a sorter run (keeps tiny budgets from making one file per record).
pub const MIN_SORT_RUN: usize = 1024;

/// Sorts records with bounded memory (sorted runs on disk, merged at the end).
pub struct ExternalSorter<T: Record + Ord> {
    buf: Vec<T>,
    bytes: usize,
    budget: usize,
    dir: SpillDir,
    runs: Vec<PathBuf>,
}

impl<T: Record + Ord> ExternalSorter<T> {
    /// A sorter allowed about `budget` bytes of memory.
    pub fn new(budget: usize, dir: SpillDir) -> Self {
        ExternalSorter {
            buf: Vec::new(),
            bytes: 0,
            budget,
            dir,
            runs: Vec::new(),
        }
    }

    /// Adds a record.
    pub fn push(&mut self, item: T) -> io::Result<()> {
        self.bytes += std::mem::size_of::<T>() + item.heap_bytes();
        self.buf.push(item);
        if self.bytes > self.budget && self.buf.len() >= MIN_SORT_RUN {
            self.buf.sort_unstable();
            self.runs.push(self.dir.write_run(self.buf.drain(..))?);
            self.bytes = 0;
        }
        Ok(())
    }

    /// Number of runs spilled.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Calls `f` on every record in sorted order until it returns `false`.
    pub fn for_each_sorted(mut self, mut f: impl FnMut(T) -> bool) -> io::Result<()> {
        self.buf.sort_unstable();
        if self.runs.is_empty() {
            for it in self.buf {
                if !f(it) {
                    break;
                }
            }
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.runs
                .push(self.dir.write_run(std::mem::take(&mut self.buf))?);
        }
        let cmp = |a: &T, b: &T| a.cmp(b);
        let runs = reduce_runs(std::mem::take(&mut self.runs), &self.dir, cmp)?;
        let mut m = RunMerger::<T, _>::open(&runs, cmp)?;
        while let Some(it) = m.next_item()? {
            if !f(it) {
                break;
            }
        }
        for r in &runs {
            let _ = std::fs::remove_file(r);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_spilled_runs_merge_in_rounds_to_exact_counts() {
        let dir = SpillDir::new(None).unwrap();
        let mut counters: Vec<SpillCounter<u64>> =
            (0..2).map(|_| SpillCounter::new(1, dir.clone())).collect();
        let mut want = std::collections::HashMap::new();
        let mut x: u64 = 12345;
        for i in 0..200_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = (x >> 33) % 5000;
            counters[(i % 2) as usize].add(key, 1);
            *want.entry(key).or_insert(0u64) += 1;
            if i % 300 == 299 {
                for c in counters.iter_mut() {
                    c.check_budget().unwrap();
                }
            }
        }
        let runs: usize = counters.iter().map(|c| c.runs()).sum();
        assert!(runs > MERGE_FAN_IN, "{runs}");
        let parts = counters.into_iter().map(|c| c.finish().unwrap()).collect();
        let mut got = std::collections::HashMap::new();
        let mut last = None;
        merge_counts(parts, &dir, |k, c| {
            assert!(last < Some(k), "keys come sorted and once");
            last = Some(k);
            got.insert(k, c);
        })
        .unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn external_sorter_sorts_across_runs() {
        let dir = SpillDir::new(None).unwrap();
        let mut s = ExternalSorter::<u64>::new(1, dir);
        let items: Vec<u64> = (0..10_000u64).map(|i| (i * 7919) % 10_007).collect();
        for &i in &items {
            s.push(i).unwrap();
        }
        assert!(s.runs() > 5);
        let mut got = Vec::new();
        s.for_each_sorted(|x| {
            got.push(x);
            true
        })
        .unwrap();
        let mut want = items;
        want.sort_unstable();
        assert_eq!(got, want);
    }
}
