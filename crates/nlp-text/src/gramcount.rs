//! Exact n-gram counting by sorting: keys are buffered, radix sorted and run-length encoded.
//!
//! For the new-word pass this beats a hash table by a wide margin: the table of all 1..4-grams
//! of a corpus is far larger than the CPU caches, so each hash increment is a cache miss, while
//! radix sorting streams through memory. Sorted runs are merged in memory, and written to disk
//! when they pass the memory budget; the final k-way merge sums equal keys, so counts are exact.

use std::io;
use std::path::PathBuf;

use crate::ngram::GramKey;
use crate::spill::{Counts, SpillDir, merge_counts};

/// Sorted `(key, count)` runs in memory and run files on disk: what a counter leaves.
pub type SortedParts<K> = (Vec<Vec<(K, u64)>>, Vec<PathBuf>);

/// Bits per radix digit.
const DIGIT: u32 = 11;

/// Sorts `v` in place by key value (LSD radix over the low `bits` bits), using `tmp` as scratch.
pub fn radix_sort<K: GramKey>(v: &mut Vec<K>, tmp: &mut Vec<K>, bits: u32) {
    let passes = bits.div_ceil(DIGIT) as usize;
    let buckets = 1usize << DIGIT;
    let mut hist = vec![0usize; passes * buckets];
    for &k in v.iter() {
        for p in 0..passes {
            hist[p * buckets + k.digit(p as u32 * DIGIT, DIGIT)] += 1;
        }
    }
    tmp.clear();
    tmp.resize(v.len(), K::default());
    for p in 0..passes {
        let h = &mut hist[p * buckets..(p + 1) * buckets];
        if h.contains(&v.len()) {
            continue; // every key has the same digit here
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        let shift = p as u32 * DIGIT;
        for &k in v.iter() {
            let d = k.digit(shift, DIGIT);
            tmp[h[d]] = k;
            h[d] += 1;
        }
        std::mem::swap(v, tmp);
    }
}

/// Run-length encodes sorted keys into `(key, count)` pairs (allocated at the exact size).
fn run_length<K: GramKey>(sorted: &[K]) -> Vec<(K, u64)> {
    let distinct = 1 + sorted.windows(2).filter(|w| w[0] != w[1]).count();
    let mut run: Vec<(K, u64)> = Vec::with_capacity(distinct);
    for &k in sorted {
        match run.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => run.push((k, 1)),
        }
    }
    run
}

/// Merges sorted runs, summing equal keys.
pub fn merge_sorted<K: GramKey>(runs: &[Vec<(K, u64)>]) -> Vec<(K, u64)> {
    let mut out: Vec<(K, u64)> = Vec::with_capacity(runs.iter().map(Vec::len).max().unwrap_or(0));
    let slices: Vec<&[(K, u64)]> = runs.iter().map(Vec::as_slice).collect();
    for_each_merged(&slices, |k, c| out.push((k, c)));
    out
}

/// Calls `f` once per distinct key of the sorted runs, in key order, with the summed count.
pub fn for_each_merged<K: GramKey>(runs: &[&[(K, u64)]], mut f: impl FnMut(K, u64)) {
    if let [a] = runs {
        a.iter().for_each(|&(k, c)| f(k, c));
        return;
    }
    if let [a, b] = runs {
        // Two runs (two workers): a plain two-way merge.
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (ka, ca) = a[i];
            let (kb, cb) = b[j];
            if ka < kb {
                f(ka, ca);
                i += 1;
            } else if kb < ka {
                f(kb, cb);
                j += 1;
            } else {
                f(ka, ca + cb);
                i += 1;
                j += 1;
            }
        }
        a[i..].iter().chain(&b[j..]).for_each(|&(k, c)| f(k, c));
        return;
    }
    let mut pos = vec![0usize; runs.len()];
    loop {
        let mut best: Option<K> = None;
        for (r, &i) in runs.iter().zip(&pos) {
            if let Some(&(k, _)) = r.get(i)
                && best.is_none_or(|b| k < b)
            {
                best = Some(k);
            }
        }
        let Some(k) = best else { return };
        let mut total = 0;
        for (r, i) in runs.iter().zip(pos.iter_mut()) {
            if let Some(&(rk, c)) = r.get(*i)
                && rk == k
            {
                total += c;
                *i += 1;
            }
        }
        f(k, total);
    }
}

/// Merges sorted runs in `parts` key ranges at once (one thread each): splits the key space at
/// quantiles of the longest run, merges each range with `merge(range_index, slices)` and returns
/// the results in key order.
pub fn par_merge_ranges<K: GramKey, R: Send>(
    runs: &[Vec<(K, u64)>],
    parts: usize,
    merge: impl Fn(&[&[(K, u64)]]) -> R + Sync,
) -> Vec<R> {
    let longest = runs.iter().map(Vec::as_slice).max_by_key(|r| r.len());
    let longest = longest.unwrap_or(&[]);
    let parts = parts.clamp(1, longest.len().max(1));
    // Pivot keys: a range holds keys in [pivot[i-1], pivot[i]).
    let pivots: Vec<K> = (1..parts)
        .map(|i| longest[i * longest.len() / parts].0)
        .collect();
    let cut = |r: &[(K, u64)], i: usize| -> usize {
        match i {
            0 => 0,
            i if i == parts => r.len(),
            i => r.partition_point(|e| e.0 < pivots[i - 1]),
        }
    };
    let merge = &merge;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..parts)
            .map(|p| {
                let slices: Vec<&[(K, u64)]> =
                    runs.iter().map(|r| &r[cut(r, p)..cut(r, p + 1)]).collect();
                scope.spawn(move || merge(&slices))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("merge thread panicked"))
            .collect()
    })
}

/// Most in-memory runs kept per gram length before they are merged into one.
const MAX_MEM_RUNS: usize = 4;

/// Counts n-gram keys: 1-grams in a dense array, longer grams by radix sorting batches of keys
/// of one length (a length-`L` key has `15·L` bits, so short grams need fewer passes).
///
/// Keys of length `L` lie in `[2^(15(L-1)), 2^(15L))` (the first code is nonzero), so runs of
/// increasing length concatenate into one sorted run.
pub struct SortCounter<K: GramKey> {
    unigrams: Vec<u64>,
    /// Pending keys per length (index `L - 2`).
    bufs: Vec<Vec<K>>,
    tmp: Vec<K>,
    chunk: usize,
    /// Sorted runs per length (index `L - 2`).
    runs: Vec<Vec<Vec<(K, u64)>>>,
    budget: usize,
    dir: SpillDir,
    disk: Vec<PathBuf>,
}

impl<K: GramKey> SortCounter<K> {
    /// A counter for keys of at most `order` characters, using about `budget` bytes.
    pub fn new(order: usize, budget: usize, dir: SpillDir) -> Self {
        let key = std::mem::size_of::<K>();
        let lens = order.saturating_sub(1);
        // Key buffers plus scratch take at most a quarter of the budget.
        let chunk = (budget / 4 / ((lens + 1).max(2) * key)).clamp(1 << 14, 1 << 20);
        SortCounter {
            unigrams: vec![0; 1 << 15],
            bufs: (0..lens).map(|_| Vec::with_capacity(chunk)).collect(),
            tmp: Vec::new(),
            chunk,
            runs: (0..lens).map(|_| Vec::new()).collect(),
            budget,
            dir,
            disk: Vec::new(),
        }
    }

    /// Counts one occurrence of `key`, a gram of `len` characters (`len == key.len()`).
    #[inline]
    pub fn push(&mut self, key: K, len: usize) -> io::Result<()> {
        if len == 1 {
            self.unigrams[key.digit(0, 15)] += 1;
            return Ok(());
        }
        let buf = &mut self.bufs[len - 2];
        buf.push(key);
        if buf.len() >= self.chunk {
            self.flush(len)?;
        }
        Ok(())
    }

    fn run_bytes(&self) -> usize {
        let e = std::mem::size_of::<(K, u64)>();
        self.runs.iter().flatten().map(|r| r.capacity() * e).sum()
    }

    fn flush(&mut self, len: usize) -> io::Result<()> {
        let buf = &mut self.bufs[len - 2];
        if buf.is_empty() {
            return Ok(());
        }
        radix_sort(buf, &mut self.tmp, 15 * len as u32);
        let run = run_length(buf);
        buf.clear();
        let runs = &mut self.runs[len - 2];
        runs.push(run);
        if runs.len() >= MAX_MEM_RUNS {
            let merged = merge_sorted(runs);
            *runs = vec![merged];
        }
        let scratch = (self.bufs.iter().map(Vec::capacity).sum::<usize>() + self.tmp.capacity())
            * std::mem::size_of::<K>();
        if self.run_bytes() + scratch > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// All counts so far as one sorted run (unigrams, then longer grams); clears the runs.
    /// Each length's runs are merged straight into the output, allocated once.
    fn take_sorted(&mut self) -> Vec<(K, u64)> {
        let unigrams = self.unigrams.iter().filter(|&&c| c > 0).count();
        let longer: usize = self.runs.iter().flatten().map(Vec::len).sum();
        let mut out: Vec<(K, u64)> = Vec::with_capacity(unigrams + longer);
        for (code, c) in self.unigrams.iter_mut().enumerate() {
            if *c > 0 {
                out.push((K::default().push(code as u16), std::mem::take(c)));
            }
        }
        for runs in self.runs.iter_mut() {
            let slices: Vec<&[(K, u64)]> = runs.iter().map(Vec::as_slice).collect();
            for_each_merged(&slices, |k, c| out.push((k, c)));
            runs.clear();
        }
        out
    }

    fn spill(&mut self) -> io::Result<()> {
        let all = self.take_sorted();
        self.disk.push(self.dir.write_run(all)?);
        Ok(())
    }

    /// Runs written to disk so far.
    pub fn disk_runs(&self) -> usize {
        self.disk.len()
    }

    /// Flushes pending keys; the counts as sorted runs in memory and on disk.
    pub fn finish(mut self) -> io::Result<SortedParts<K>> {
        for len in 2..self.bufs.len() + 2 {
            // Sort what is pending without triggering a spill decision on partial data.
            let buf = &mut self.bufs[len - 2];
            if !buf.is_empty() {
                radix_sort(buf, &mut self.tmp, 15 * len as u32);
                let run = run_length(buf);
                buf.clear();
                self.runs[len - 2].push(run);
            }
        }
        let all = self.take_sorted();
        Ok((vec![all], self.disk))
    }
}

/// Merges the results of several [`SortCounter`]s, calling `f` once per distinct key.
pub fn merge_sort_counters<K: GramKey>(
    parts: Vec<SortedParts<K>>,
    dir: &SpillDir,
    f: impl FnMut(K, u64),
) -> io::Result<()> {
    let any_disk = parts.iter().any(|(_, d)| !d.is_empty());
    if !any_disk {
        let runs: Vec<Vec<(K, u64)>> = parts.into_iter().flat_map(|(m, _)| m).collect();
        let slices: Vec<&[(K, u64)]> = runs.iter().map(Vec::as_slice).collect();
        for_each_merged(&slices, f);
        return Ok(());
    }
    let mut paths = Vec::new();
    for (mem, disk) in parts {
        paths.extend(disk);
        for r in mem {
            paths.push(dir.write_run(r)?);
        }
    }
    merge_counts(vec![Counts::Runs(paths)], dir, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_sorts() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut v: Vec<u64> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x >> 4
            })
            .collect();
        let mut want = v.clone();
        want.sort_unstable();
        radix_sort(&mut v, &mut Vec::new(), 60);
        assert_eq!(v, want);
    }

    #[test]
    fn merging_sums_equal_keys() {
        let runs = vec![
            vec![(1u64, 2), (5, 1)],
            vec![(1, 3), (2, 1), (5, 4)],
            vec![],
        ];
        assert_eq!(merge_sorted(&runs), vec![(1, 5), (2, 1), (5, 5)]);
        assert_eq!(merge_sorted(&runs[..2]), vec![(1, 5), (2, 1), (5, 5)]);
        // Ranges merged apart and concatenated equal the whole merge.
        let runs: Vec<Vec<(u64, u64)>> = vec![
            (0..1000).map(|k| (k * 3, 1)).collect(),
            (0..700).map(|k| (k * 5, 2)).collect(),
        ];
        let whole = merge_sorted(&runs);
        for parts in [1, 2, 3, 7] {
            let pieces = par_merge_ranges(&runs, parts, |s| {
                let mut v = Vec::new();
                for_each_merged(s, |k, c| v.push((k, c)));
                v
            });
            assert_eq!(pieces.concat(), whole, "{parts}");
        }
    }
}
