//! Step 1 of the discovery: exact gram counts in one or two passes over the input.

use std::io;

use hashbrown::{HashMap, HashSet};

use super::passes::Passes;
use super::{Params, Report, Variant, auto_min_count, spill_err};
use crate::gramcount::{
    SortCounter, SortedParts, for_each_merged, merge_sort_counters, par_merge_ranges,
};
use crate::input::total_bytes;
use crate::ngram::{GramKey, pieces_folded, word_code};
use crate::parallel::fold_batches;
use crate::progress::Progress;
use crate::spill::SpillDir;
use crate::{Error, RunConfig};

/// Step 1: exact counts of the grams; returns the frequent ones (count ≥ min_count), with the
/// totals in `report`.
///
/// Unless `params.all_grams`, this takes two passes: every 1- and 2-gram first, then only the
/// longer grams whose 2-gram windows all reached min_count. A gram occurs at most as often as
/// any of its windows, so every gram that can reach min_count is still counted exactly; the
/// second pass just skips sorting the (many) grams that cannot.
pub(super) fn count_grams<K: GramKey>(
    passes: &mut Passes,
    params: &Params,
    cfg: &RunConfig,
    dir: &SpillDir,
    report: &mut Report,
) -> Result<HashMap<K, u64>, Error> {
    let order = params.order;
    let first = if params.all_grams {
        order
    } else {
        order.min(2)
    };
    let mut tally = count_pass::<K>(passes, params, cfg, dir, report, 1, first, None)?;
    if first < order {
        let pairs: HashSet<u32> = tally
            .frequent
            .iter()
            .filter(|(k, _)| k.len() == 2)
            .map(|&(k, _)| (k.prefix(1).digit(0, 15) << 15 | k.suffix_after(1).digit(0, 15)) as u32)
            .collect();
        let more = count_pass::<K>(passes, params, cfg, dir, report, 3, order, Some(&pairs))?;
        tally.distinct += more.distinct;
        tally.frequent.extend(more.frequent);
    }
    report.chars = tally.chars;
    report.distinct_grams = tally.distinct;
    report.frequent_grams = tally.frequent.len();
    report.total = match params.variant {
        Variant::V2019 => tally.chars,
        Variant::V2017 => tally.frequent_chars,
    };
    Ok(tally.frequent.into_iter().collect())
}

/// One counting pass over grams of `min_len..=max_len` characters; with `pairs`, a gram is
/// counted only when each of its 2-gram windows (packed `a << 15 | b`) is in `pairs`. The first
/// pass (`min_len == 1`) also fixes `report.min_count` and the input statistics.
#[allow(clippy::too_many_arguments)]
fn count_pass<K: GramKey>(
    passes: &mut Passes,
    params: &Params,
    cfg: &RunConfig,
    dir: &SpillDir,
    report: &mut Report,
    min_len: usize,
    max_len: usize,
    pairs: Option<&HashSet<u32>>,
) -> Result<GramTally<K>, Error> {
    let threads = cfg.threads();
    let per_worker = (cfg.mem_budget / threads).max(1);
    let fold = params.fold_width;
    let label = if min_len == 1 {
        "n-grams"
    } else {
        "long n-grams"
    };
    let progress = Progress::new(label, total_bytes(&passes.sources), cfg.quiet);
    let mut reader = passes.reader();
    let (states, stats) = fold_batches(
        &mut reader,
        threads,
        &progress,
        |_| {
            (
                SortCounter::<K>::new(max_len, per_worker, dir.clone()),
                0u64,
            )
        },
        |(counter, chars), batch| {
            let mut codes: Vec<u16> = Vec::new();
            // joined[j]: whether the 2-gram ending at j may be inside a counted gram.
            let mut joined: Vec<bool> = Vec::new();
            for line in batch.lines() {
                for piece in pieces_folded(line, fold) {
                    codes.clear();
                    codes.extend(piece.chars().map(|c| word_code(c, fold)));
                    let m = codes.len();
                    *chars += m as u64;
                    joined.clear();
                    joined.push(true);
                    joined.extend(codes.windows(2).map(|w| {
                        pairs.is_none_or(|p| p.contains(&((w[0] as u32) << 15 | w[1] as u32)))
                    }));
                    for i in 0..m {
                        let mut key = K::default();
                        for j in i..m.min(i + max_len) {
                            if j > i && !joined[j] {
                                break;
                            }
                            key = key.push(codes[j]);
                            let len = j - i + 1;
                            if len >= min_len {
                                counter.push(key, len).map_err(spill_err)?;
                            }
                        }
                    }
                }
            }
            Ok(())
        },
    )?;
    progress.finish();
    passes.keep(&mut reader);
    if min_len == 1 {
        if stats.lines == 0 {
            return Err(Error::EmptyInput(
                "the input has no (valid UTF-8) lines".into(),
            ));
        }
        report.stats = stats;
        let chars_counted: u64 = states.iter().map(|s| s.1).sum();
        report.min_count = if params.auto_min_count {
            auto_min_count(params.variant, chars_counted)
        } else {
            params.min_count
        };
    }
    let min_count = report.min_count;
    // Each worker's counter is finished (its runs sorted and merged) in a thread of its own.
    let finished: Vec<io::Result<SortedParts<K>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = states
            .into_iter()
            .map(|(c, _)| scope.spawn(move || c.finish()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("finishing thread panicked"))
            .collect()
    });
    let mut parts = Vec::new();
    for part in finished {
        let part = part.map_err(spill_err)?;
        report.spilled_runs += part.1.len();
        parts.push(part);
    }
    let mut tally = GramTally::default();
    if parts.iter().all(|(_, disk)| disk.is_empty()) {
        // All in memory: merge `threads` key ranges in parallel.
        let runs: Vec<Vec<(K, u64)>> = parts.into_iter().flat_map(|(m, _)| m).collect();
        for t in par_merge_ranges(&runs, threads, |slices| {
            let mut t = GramTally::default();
            for_each_merged(slices, |k, c| t.add(k, c, min_count));
            t
        }) {
            tally.absorb(t);
        }
    } else {
        merge_sort_counters(parts, dir, |k: K, c| tally.add(k, c, min_count)).map_err(spill_err)?;
    }
    Ok(tally)
}

/// What the merge of the gram counts keeps: totals and the frequent grams.
struct GramTally<K> {
    chars: u64,
    frequent_chars: u64,
    distinct: u64,
    frequent: Vec<(K, u64)>,
}

impl<K> Default for GramTally<K> {
    fn default() -> Self {
        GramTally {
            chars: 0,
            frequent_chars: 0,
            distinct: 0,
            frequent: Vec::new(),
        }
    }
}

impl<K: GramKey> GramTally<K> {
    #[inline]
    fn add(&mut self, k: K, c: u64, min_count: u64) {
        self.distinct += 1;
        let unigram = k.len() == 1;
        if unigram {
            self.chars += c;
        }
        if c >= min_count {
            if unigram {
                self.frequent_chars += c;
            }
            self.frequent.push((k, c));
        }
    }

    fn absorb(&mut self, other: Self) {
        self.chars += other.chars;
        self.frequent_chars += other.frequent_chars;
        self.distinct += other.distinct;
        self.frequent.extend(other.frequent);
    }
}
