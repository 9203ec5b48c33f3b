//! Logit processors and the distribution of one hypothesis at one step.

use super::search::GenerationConfig;

/// Merges the probability rows of one group's sources (same prefix, one row per source, a row
/// per source that allows some token) into one distribution; the search renormalises it.
pub type Merge<'a> = dyn Fn(&[Vec<f64>]) -> Vec<f64> + Sync + 'a;

/// Tokens allowed after a prefix for a source: `(source index, prefix) → Some(tokens)`, or
/// `None` for no restriction. It may borrow what it reads (the passages, for example).
pub type Allowed<'a> = dyn Fn(usize, &[usize]) -> Option<Vec<usize>> + Sync + 'a;

/// Σp² / (1 + Σp) per token over the rows: the multi-passage merge of the seq2seq QA post
/// (a token several passages agree on beats one a single passage is unsure of).
pub fn merge_squares(rows: &[Vec<f64>]) -> Vec<f64> {
    let width = rows.first().map_or(0, Vec::len);
    (0..width)
        .map(|t| {
            let sum: f64 = rows.iter().map(|r| r[t]).sum();
            let squares: f64 = rows.iter().map(|r| r[t] * r[t]).sum();
            squares / (1.0 + sum)
        })
        .collect()
}

/// Hooks beyond the fixed processors: which tokens each source allows, and sources decoded as
/// groups with one shared output.
#[derive(Clone, Copy, Default)]
pub struct Constraints<'a> {
    pub(crate) allowed: Option<&'a Allowed<'a>>,
    pub(crate) merge: Option<(&'a [usize], &'a Merge<'a>)>,
}

impl<'a> Constraints<'a> {
    /// No hooks.
    pub fn none() -> Self {
        Self::default()
    }

    /// Restrict each step's tokens (e.g. to continuations of the passage's n-grams, plus the
    /// end token).
    pub fn allowed(mut self, allowed: &'a Allowed<'a>) -> Self {
        self.allowed = Some(allowed);
        self
    }

    /// Decode the sources with equal `groups[s]` as one output whose distribution each step is
    /// `merge` of their rows. Results come back per group, in order of first appearance.
    pub fn merge(mut self, groups: &'a [usize], merge: &'a Merge<'a>) -> Self {
        self.merge = Some((groups, merge));
        self
    }
}

/// The fixed processors on one row's logits, in place: repetition penalty and n-gram ban over
/// the generated `prefix`, banned tokens, end tokens hidden below the minimum length, then
/// the allowed-tokens hook of `source`.
pub(crate) fn process(
    logits: &mut [f64],
    prefix: &[usize],
    source: usize,
    config: &GenerationConfig,
    constraints: &Constraints,
) {
    if config.repetition_penalty != 1.0 {
        let mut seen = prefix.to_vec();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            let l = &mut logits[t];
            *l = if *l < 0.0 {
                *l * config.repetition_penalty
            } else {
                *l / config.repetition_penalty
            };
        }
    }
    let n = config.no_repeat_ngram_size;
    if n > 0 && prefix.len() + 1 >= n {
        let tail = &prefix[prefix.len() + 1 - n..];
        for window in prefix.windows(n) {
            if &window[..n - 1] == tail {
                logits[window[n - 1]] = f64::NEG_INFINITY;
            }
        }
    }
    for &t in &config.banned {
        logits[t] = f64::NEG_INFINITY;
    }
    if prefix.len() < config.min_len {
        for &t in &config.end_ids {
            logits[t] = f64::NEG_INFINITY;
        }
    }
    if let Some(allowed) = constraints.allowed
        && let Some(tokens) = allowed(source, prefix)
    {
        let mut keep = vec![false; logits.len()];
        for t in tokens {
            if let Some(k) = keep.get_mut(t) {
                *k = true;
            }
        }
        for (l, k) in logits.iter_mut().zip(keep) {
            if !k {
                *l = f64::NEG_INFINITY;
            }
        }
    }
}

/// log softmax in f64; a row without any finite logit stays all −∞.
pub(crate) fn log_softmax(logits: &mut [f64]) {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return;
    }
    let log_sum = logits.iter().map(|&l| (l - max).exp()).sum::<f64>().ln() + max;
    for l in logits.iter_mut() {
        *l -= log_sum;
    }
}

/// The log-distribution of one hypothesis: its rows' processed log-softmax, merged (and
/// renormalised) when the hypothesis spans several sources. `None` when no token is allowed.
pub(crate) fn distribution(
    rows: &[(&[f32], usize)],
    prefix: &[usize],
    config: &GenerationConfig,
    constraints: &Constraints,
) -> Option<Vec<f64>> {
    let mut processed: Vec<Vec<f64>> = rows
        .iter()
        .map(|&(logits, source)| {
            let mut l: Vec<f64> = logits.iter().map(|&v| f64::from(v)).collect();
            process(&mut l, prefix, source, config, constraints);
            log_softmax(&mut l);
            l
        })
        .filter(|l| l.iter().any(|v| v.is_finite()))
        .collect();
    if processed.is_empty() {
        return None;
    }
    match constraints.merge {
        None => processed.pop(),
        Some((_, merge)) => {
            let probs: Vec<Vec<f64>> = processed
                .iter()
                .map(|l| l.iter().map(|v| v.exp()).collect())
                .collect();
            let merged = merge(&probs);
            let total: f64 = merged.iter().sum();
            (total > 0.0).then(|| merged.iter().map(|p| (p / total).ln()).collect())
        }
    }
}
