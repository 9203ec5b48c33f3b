//! New-word discovery (苏剑林, "重新写了之前的新词发现算法", 2019; and the 2017 post as a variant).
//!
//! 1. Split every text at `[^\u4e00-\u9fa50-9a-zA-Z]+` and count all character 1..n-grams of
//!    the pieces exactly (in parallel, spilling to disk over the memory budget).
//! 2. Keep grams with count ≥ `min_count`. The cohesion of a gram `s` is the minimum over binary
//!    splits `s = l·r` of `total·N(s) / (N(l)·N(r))`; 2019 keeps grams of length ≥ 2 whose
//!    `ln` cohesion is ≥ the threshold for its length (`[0, 2, 4, 6]`), with `total` = number of
//!    characters counted.
//! 3. Pre-segment every piece: adjacent characters are joined when some kept gram covers both.
//!    Count the resulting pieces and keep those with count ≥ `min_count`.
//! 4. Back-check: a piece of 3..=n characters must itself be a kept gram; a longer one needs
//!    every n-character window kept.
//!
//! The 2017 variant ("更好的新词发现算法") follows that post's code: `min_count` 128, ratio (not
//! log) thresholds `{2: 5, 3: 25, 4: 125}` compared with a strict `>`, `total` = sum of the
//! counts of the 1-grams that reach `min_count`, and a back-check requiring every window of
//! 3..=n characters of a piece of length ≥ 3 to be kept.

use std::path::PathBuf;

use hashbrown::{HashMap, HashSet};

use crate::input::{InputStats, Source, total_bytes};
use crate::ngram::{GramKey, pieces_folded, word_code};
use crate::output::{Ranked, RankedCollector};
use crate::parallel::fold_batches;
use crate::progress::Progress;
use crate::spill::{SpillCounter, SpillDir, merge_counts};
use crate::width::fold_str;
use crate::{Error, RunConfig};

mod count;
mod passes;

use self::count::count_grams;
use self::passes::{Passes, spool_stdin};

/// Which post's algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The 2019 rewrite (default): log cohesion ≥ threshold.
    V2019,
    /// The 2017 post: ratio cohesion > threshold.
    V2017,
}

/// Parameters of the discovery.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Algorithm variant.
    pub variant: Variant,
    /// Longest gram counted (n).
    pub order: usize,
    /// Minimum count for grams and for pieces.
    pub min_count: u64,
    /// Replace `min_count` by [`auto_min_count`] of the characters counted.
    pub auto_min_count: bool,
    /// Count every gram in one pass, as the post's KenLM step did, instead of skipping the
    /// grams longer than 2 that cannot reach `min_count` (same words either way).
    pub all_grams: bool,
    /// Cohesion threshold per gram length 1..=order (index 0 is length 1, unused).
    pub thresholds: Vec<f64>,
    /// Fold full-width digits and letters to ASCII first (see [`crate::width`]), so that
    /// `１９９８年` is one piece `1998年` instead of a separator and `年`.
    pub fold_width: bool,
}

impl Params {
    /// The 2019 defaults: n = 4, min_count 32, ln thresholds [0, 2, 4, 6].
    pub fn v2019() -> Self {
        Params {
            variant: Variant::V2019,
            order: 4,
            min_count: 32,
            auto_min_count: false,
            all_grams: false,
            thresholds: vec![0.0, 2.0, 4.0, 6.0],
            fold_width: true,
        }
    }

    /// The 2017 defaults: n = 4, min_count 128, ratio thresholds {2: 5, 3: 25, 4: 125}.
    pub fn v2017() -> Self {
        Params {
            variant: Variant::V2017,
            order: 4,
            min_count: 128,
            auto_min_count: false,
            all_grams: false,
            thresholds: vec![0.0, 5.0, 25.0, 125.0],
            fold_width: true,
        }
    }

    /// Default thresholds of `variant` for lengths 1..=order (the posts' progressions,
    /// `2(k-1)` for 2019 and `5^(k-1)` for 2017, extended past 4).
    pub fn default_thresholds(variant: Variant, order: usize) -> Vec<f64> {
        (0..order)
            .map(|i| match variant {
                Variant::V2019 => 2.0 * i as f64,
                Variant::V2017 if i == 0 => 0.0,
                Variant::V2017 => 5f64.powi(i as i32),
            })
            .collect()
    }

    fn validate(&self) -> Result<(), Error> {
        if self.order < 1 || self.order > 8 {
            return Err(Error::Invalid(format!(
                "--order must be in 1..=8, got {}",
                self.order
            )));
        }
        if self.thresholds.len() != self.order {
            return Err(Error::Invalid(format!(
                "need one threshold per gram length 1..={} , got {}",
                self.order,
                self.thresholds.len()
            )));
        }
        if self.min_count == 0 {
            return Err(Error::Invalid("--min-count must be at least 1".into()));
        }
        Ok(())
    }
}

/// Figures from a discovery run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Input statistics of the first pass.
    pub stats: InputStats,
    /// `total` used in the cohesion.
    pub total: u64,
    /// Characters counted (sum of all 1-gram counts).
    pub chars: u64,
    /// Distinct grams counted: all of them with `all_grams`, else every 1- and 2-gram and the
    /// longer grams whose 2-gram windows all reach min_count.
    pub distinct_grams: u64,
    /// The minimum count used (differs from the parameter with `auto_min_count`).
    pub min_count: u64,
    /// Grams with count ≥ min_count.
    pub frequent_grams: usize,
    /// Grams (length ≥ 2) that passed the cohesion test.
    pub kept_grams: usize,
    /// Distinct pre-segmented pieces.
    pub distinct_pieces: u64,
    /// Pieces with count ≥ min_count.
    pub candidates: usize,
    /// Words after the back-check.
    pub words: usize,
    /// Runs spilled to disk (all passes).
    pub spilled_runs: usize,
    /// Seconds spent in pass 1 (n-gram counting and merging), the cohesion filter, and pass 2
    /// (pre-segmentation, counting, back-check).
    pub seconds: [f64; 3],
}

/// Characters of the corpus the posts' defaults were set for: THUCNews, 2.19 GB of UTF-8
/// news text, about 7.3·10^8 characters at 3 bytes each.
pub const REFERENCE_CHARS: f64 = 7.3e8;

/// The variant's default `min_count` scaled in proportion to `chars` (the characters counted)
/// against [`REFERENCE_CHARS`], rounded, and at least 2 (a gram seen once gives no evidence of
/// cohesion) and at most the default. 1.6 M characters (People's Daily 1998-01) give 2;
/// 100 M give 4 (2019).
pub fn auto_min_count(variant: Variant, chars: u64) -> u64 {
    let default = match variant {
        Variant::V2019 => Params::v2019().min_count,
        Variant::V2017 => Params::v2017().min_count,
    };
    let scaled = (default as f64 * chars as f64 / REFERENCE_CHARS).round() as u64;
    scaled.clamp(2, default)
}

/// Cohesion of a gram: min over binary splits of `total·N(s)/(N(l)·N(r))` (a ratio, not a log).
/// Returns `None` for 1-grams or when a sub-gram count is missing.
pub fn cohesion<K: GramKey>(
    key: K,
    count: u64,
    total: f64,
    counts: &HashMap<K, u64>,
) -> Option<f64> {
    let n = key.len();
    if n < 2 {
        return None;
    }
    let mut best = f64::INFINITY;
    for j in 1..n {
        let l = *counts.get(&key.prefix(j))? as u128;
        let r = *counts.get(&key.suffix_after(j))? as u128;
        // As the post's Python: float(total) * N(s), divided by the integer product.
        best = best.min(total * count as f64 / (l * r) as f64);
    }
    Some(best)
}

/// Step 2: the grams (length ≥ 2) of `frequent` that pass the cohesion thresholds.
pub fn filter_grams<K: GramKey>(
    frequent: &HashMap<K, u64>,
    total: u64,
    params: &Params,
) -> HashSet<K> {
    let total = total as f64;
    frequent
        .iter()
        .filter(|&(&k, &c)| {
            let len = k.len();
            if len < 2 || len > params.order {
                return false;
            }
            let Some(score) = cohesion(k, c, total, frequent) else {
                return false;
            };
            let thr = params.thresholds[len - 1];
            match params.variant {
                Variant::V2019 => score.ln() >= thr,
                Variant::V2017 => score > thr,
            }
        })
        .map(|(&k, _)| k)
        .collect()
}

/// Step 3 for one piece of word characters: cut it where no kept gram covers both neighbours.
pub fn presegment<'a, K: GramKey>(
    piece: &'a str,
    kept: &HashSet<K>,
    order: usize,
    mut f: impl FnMut(&'a str),
) {
    let offs: Vec<usize> = piece
        .char_indices()
        .map(|(i, _)| i)
        .chain([piece.len()])
        .collect();
    let codes: Vec<u16> = piece.chars().map(|c| word_code(c, true)).collect();
    presegment_codes(&codes, kept, order, |a, b| f(&piece[offs[a]..offs[b]]));
}

/// [`presegment`] over character codes: calls `f(start, end)` for each piece (char indices).
pub fn presegment_codes<K: GramKey>(
    codes: &[u16],
    kept: &HashSet<K>,
    order: usize,
    f: impl FnMut(usize, usize),
) {
    presegment_with(codes, order, |k: K| Some(kept.contains(&k)), f);
}

/// The kept grams with every prefix of length ≥ 2 of each: `gram -> whether it is kept`, so
/// that pre-segmentation stops extending a gram as soon as no kept gram can start with it.
pub struct KeptPrefixes<K>(HashMap<K, bool>);

impl<K: GramKey> KeptPrefixes<K> {
    /// Builds the prefix table of `kept`.
    pub fn new(kept: &HashSet<K>) -> Self {
        let mut m = HashMap::with_capacity(kept.len() * 2);
        for &k in kept {
            for j in 2..k.len() {
                m.entry(k.prefix(j)).or_insert(false);
            }
            m.insert(k, true);
        }
        KeptPrefixes(m)
    }
}

/// [`presegment_codes`] with a prefix table: fewer lookups, same pieces.
pub fn presegment_prefixed<K: GramKey>(
    codes: &[u16],
    kept: &KeptPrefixes<K>,
    order: usize,
    f: impl FnMut(usize, usize),
) {
    presegment_with(codes, order, |k: K| kept.0.get(&k).copied(), f);
}

/// The pre-segmentation; `lookup(gram)` is `Some(kept)` for a gram that may be (the prefix of)
/// a kept gram, `None` to stop extending.
fn presegment_with<K: GramKey>(
    codes: &[u16],
    order: usize,
    lookup: impl Fn(K) -> Option<bool>,
    mut f: impl FnMut(usize, usize),
) {
    let m = codes.len();
    let mut start = 0;
    let mut reach = 0;
    for i in 0..m {
        if i > 0 && reach <= i {
            f(start, i);
            start = i;
        }
        let mut key = K::default().push(codes[i]);
        for j in 1..order.min(m - i) {
            key = key.push(codes[i + j]);
            match lookup(key) {
                None => break,
                Some(true) => reach = reach.max(i + j + 1),
                Some(false) => {}
            }
        }
        reach = reach.max(i + 1);
    }
    if m > 0 {
        f(start, m);
    }
}

/// Step 4: whether a candidate piece passes the back-check.
pub fn back_check<K: GramKey>(word: &str, kept: &HashSet<K>, params: &Params) -> bool {
    let codes: Vec<u16> = word.chars().map(|c| word_code(c, true)).collect();
    let n = codes.len();
    if n < 3 {
        return true;
    }
    let window_ok = |a: usize, len: usize| {
        let key = codes[a..a + len]
            .iter()
            .fold(K::default(), |k, &c| k.push(c));
        kept.contains(&key)
    };
    match params.variant {
        Variant::V2019 => {
            if n <= params.order {
                window_ok(0, n)
            } else {
                (0..=n - params.order).all(|a| window_ok(a, params.order))
            }
        }
        Variant::V2017 => {
            (3..=params.order.min(n)).all(|len| (0..=n - len).all(|a| window_ok(a, len)))
        }
    }
}

pub(super) fn spill_err(e: std::io::Error) -> Error {
    Error::Io(PathBuf::from("spill dir"), e)
}

/// Runs the whole discovery and returns the words ranked by count (then word).
///
/// Stdin is read twice, so it is first copied to a temporary file.
pub fn discover(
    sources: Vec<Source>,
    params: &Params,
    cfg: &RunConfig,
) -> Result<(Vec<Ranked>, Report), Error> {
    params.validate()?;
    if params.order <= u64::MAX_ORDER {
        discover_with::<u64>(sources, params, cfg)
    } else {
        discover_with::<u128>(sources, params, cfg)
    }
}

fn discover_with<K: GramKey>(
    sources: Vec<Source>,
    params: &Params,
    cfg: &RunConfig,
) -> Result<(Vec<Ranked>, Report), Error> {
    let dir = SpillDir::new(cfg.tmp_dir.as_deref()).map_err(spill_err)?;
    let (sources, _spool) = spool_stdin(sources, cfg)?;
    let mut report = Report::default();
    let t0 = std::time::Instant::now();
    let mut passes = Passes {
        sources,
        batch_bytes: cfg.batch_bytes,
        cap: cfg.mem_budget / 4,
        kept: None,
    };
    let frequent = count_grams::<K>(&mut passes, params, cfg, &dir, &mut report)?;
    let params = &Params {
        min_count: report.min_count,
        ..params.clone()
    };
    let t1 = std::time::Instant::now();
    let kept = filter_grams(&frequent, report.total, params);
    let t2 = std::time::Instant::now();
    drop(frequent);
    report.kept_grams = kept.len();

    let threads = cfg.threads();
    let per_worker = (cfg.mem_budget / threads).max(1);
    let order = params.order;
    let fold = params.fold_width;
    let progress = Progress::new("pre-segment", total_bytes(&passes.sources), cfg.quiet);
    let mut reader = passes.reader();
    drop(passes);
    let kept_ref = &kept;
    let prefixes = KeptPrefixes::new(&kept);
    let prefixes = &prefixes;
    // Pieces of up to K::MAX_ORDER characters are counted by packed key, longer ones by string.
    let (states, _) = fold_batches(
        &mut reader,
        threads,
        &progress,
        |_| {
            (
                SpillCounter::<K>::new(per_worker / 2, dir.clone()),
                SpillCounter::<Box<str>>::new(per_worker / 2, dir.clone()),
            )
        },
        |(short, long), batch| {
            let mut codes: Vec<u16> = Vec::new();
            let mut offs: Vec<usize> = Vec::new();
            {
                let (map, heap) = long.map_mut();
                for line in batch.lines() {
                    for piece in pieces_folded(line, fold) {
                        codes.clear();
                        offs.clear();
                        for (i, c) in piece.char_indices() {
                            offs.push(i);
                            codes.push(word_code(c, fold));
                        }
                        offs.push(piece.len());
                        presegment_prefixed(&codes, prefixes, order, |a, b| {
                            if b - a <= K::MAX_ORDER {
                                let key = codes[a..b].iter().fold(K::default(), |k, &c| k.push(c));
                                short.add(key, 1);
                            } else {
                                let w = &piece[offs[a]..offs[b]];
                                let w = if fold { fold_str(w) } else { w.into() };
                                let w: &str = &w;
                                if let Some(c) = map.get_mut(w) {
                                    *c += 1;
                                } else {
                                    *heap += w.len() + 16;
                                    map.insert(Box::from(w), 1);
                                }
                            }
                        });
                    }
                }
            }
            short.check_budget().map_err(spill_err)?;
            long.check_budget().map_err(spill_err)
        },
    )?;
    progress.finish();
    let mut short_parts = Vec::new();
    let mut parts = Vec::new();
    for (short, long) in states {
        report.spilled_runs += short.runs() + long.runs();
        short_parts.push(short.finish().map_err(spill_err)?);
        parts.push(long.finish().map_err(spill_err)?);
    }
    // Spell the short pieces and merge them with the long ones (disjoint by length).
    let mut spelled = SpillCounter::<Box<str>>::new(cfg.mem_budget.max(1), dir.clone());
    let mut err = None;
    merge_counts(short_parts, &dir, |k: K, c| {
        spelled.add(k.to_string_gram().into_boxed_str(), c);
        if err.is_none()
            && let Err(e) = spelled.check_budget()
        {
            err = Some(e);
        }
    })
    .map_err(spill_err)?;
    if let Some(e) = err {
        return Err(spill_err(e));
    }
    parts.push(spelled.finish().map_err(spill_err)?);
    let mut collector = RankedCollector::new(params.min_count, cfg.mem_budget.max(1), dir.clone());
    let (mut distinct, mut candidates) = (0u64, 0usize);
    let mut err = None;
    merge_counts(parts, &dir, |w: Box<str>, c| {
        distinct += 1;
        if c >= params.min_count {
            candidates += 1;
            if back_check(&w, kept_ref, params)
                && let Err(e) = collector.push(w, c)
                && err.is_none()
            {
                err = Some(e);
            }
        }
    })
    .map_err(spill_err)?;
    if let Some(e) = err {
        return Err(spill_err(e));
    }
    report.distinct_pieces = distinct;
    report.candidates = candidates;
    report.spilled_runs += collector.runs();
    let words = collector.into_vec(None).map_err(spill_err)?;
    report.words = words.len();
    report.seconds = [
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        t2.elapsed().as_secs_f64(),
    ];
    Ok((words, report))
}
