//! Greedy decoding, beam search and sampling over a [`StepModel`], batched over sources.

use rand::{Rng, SeedableRng};

use super::model::StepModel;
use super::process::{Constraints, distribution};
use crate::error::{Error, Result};

/// How the next token is chosen.
#[derive(Debug, Clone, Copy)]
pub enum Strategy {
    /// The most likely token (ties: the lower id).
    Greedy,
    /// Beam search.
    Beam(BeamSettings),
    /// Sampling.
    Sample(SampleSettings),
}

/// When beam search stops for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStopping {
    /// As soon as `beams` hypotheses are finished.
    Always,
    /// When `beams` are finished and the best running beam, ended at the next step with
    /// probability one, would not beat the worst of them (HF's default).
    Heuristic,
    /// When no running beam can beat the finished ones even at `max_len` (with a length
    /// penalty ≤ 0: at its next step), so the pool holds the true best within `max_len`.
    Never,
}

/// Settings of [`Strategy::Beam`].
#[derive(Debug, Clone, Copy)]
pub struct BeamSettings {
    /// Running hypotheses per source, K.
    pub beams: usize,
    /// α: a finished hypothesis scores log p / len^α, len counting its end token.
    pub length_penalty: f64,
    /// When a source's search stops.
    pub early_stopping: EarlyStopping,
    /// Hypotheses returned per source (≤ `beams`), best first.
    pub n_best: usize,
}

impl BeamSettings {
    /// K beams, α = 1, heuristic stopping, the best hypothesis only.
    pub fn new(beams: usize) -> Self {
        Self {
            beams,
            length_penalty: 1.0,
            early_stopping: EarlyStopping::Heuristic,
            n_best: 1,
        }
    }
}

/// Settings of [`Strategy::Sample`].
#[derive(Debug, Clone, Copy)]
pub struct SampleSettings {
    /// Logits are divided by this; 0 takes the most likely token.
    pub temperature: f64,
    /// Draw among the `top_k` most likely tokens only (0: all).
    pub top_k: usize,
    /// Draw among the most likely tokens whose probabilities first reach `top_p` (1: all).
    pub top_p: f64,
    /// Samples per source.
    pub samples: usize,
    /// Seed: the same seed, sources and settings give the same samples.
    pub seed: u64,
}

impl SampleSettings {
    /// One sample at temperature 1 from the full distribution.
    pub fn new(seed: u64) -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            samples: 1,
            seed,
        }
    }
}

/// What to generate and how.
#[derive(Debug, Clone)]
pub struct GenerationConfig {
    /// Greedy, beam or sampling.
    pub strategy: Strategy,
    /// The end tokens stay hidden until this many tokens were generated.
    pub min_len: usize,
    /// At most this many tokens, the end token included.
    pub max_len: usize,
    /// Tokens that end a hypothesis (not part of its output).
    pub end_ids: Vec<usize>,
    /// HF's repetition penalty on generated tokens (1: none): positive logits divided by it,
    /// negative ones multiplied.
    pub repetition_penalty: f64,
    /// Never repeat an n-gram of this size within the output (0: no limit).
    pub no_repeat_ngram_size: usize,
    /// Tokens never generated.
    pub banned: Vec<usize>,
}

impl GenerationConfig {
    /// `strategy` up to `max_len` tokens ending at `end_ids`, without other processors.
    pub fn new(strategy: Strategy, max_len: usize, end_ids: Vec<usize>) -> Self {
        Self {
            strategy,
            min_len: 0,
            max_len,
            end_ids,
            repetition_penalty: 1.0,
            no_repeat_ngram_size: 0,
            banned: Vec::new(),
        }
    }

    fn check(&self, vocab: usize) -> Result<()> {
        let bad = |what: String| Err(Error::Generation(what));
        if self.max_len == 0 {
            return bad("max_len must be at least 1".into());
        }
        if let Some(t) = self
            .end_ids
            .iter()
            .chain(&self.banned)
            .find(|&&t| t >= vocab)
        {
            return bad(format!("token {t} is outside the vocabulary of {vocab}"));
        }
        if self.repetition_penalty <= 0.0 {
            return bad("repetition_penalty must be positive".into());
        }
        match self.strategy {
            Strategy::Beam(b) if b.beams == 0 || b.n_best == 0 || b.n_best > b.beams => {
                bad(format!(
                    "beam search needs 1 <= n_best ({}) <= beams ({})",
                    b.n_best, b.beams
                ))
            }
            Strategy::Sample(s) if s.samples == 0 || !(s.top_p > 0.0 && s.top_p <= 1.0) => {
                bad(format!(
                    "sampling needs samples >= 1 and 0 < top_p <= 1 (got {})",
                    s.top_p
                ))
            }
            Strategy::Sample(s) if s.temperature < 0.0 => {
                bad("temperature must not be negative".into())
            }
            _ => Ok(()),
        }
    }
}

/// A generated sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// The tokens, without the end token.
    pub tokens: Vec<usize>,
    /// Sum of the per-step log-probabilities (end token included), after the processors and
    /// before any sampling temperature.
    pub log_prob: f64,
    /// What it was ranked by: log_prob / len^α for beam search, log_prob otherwise.
    pub score: f64,
    /// The log-probability of every generated token (end token included).
    pub step_log_probs: Vec<f64>,
    /// Whether it ended with an end token (not cut at `max_len`).
    pub finished: bool,
}

/// A running hypothesis of one group.
#[derive(Debug, Clone)]
struct Running {
    tokens: Vec<usize>,
    log_prob: f64,
    step_log_probs: Vec<f64>,
    /// Sample index (sampling) or 0.
    id: usize,
}

impl Running {
    fn extend(&self, token: usize, log_p: f64) -> Self {
        let mut next = self.clone();
        next.tokens.push(token);
        next.log_prob += log_p;
        next.step_log_probs.push(log_p);
        next
    }

    fn end(self, log_p: Option<f64>, length_penalty: f64) -> Hypothesis {
        let mut h = Hypothesis {
            tokens: self.tokens,
            log_prob: self.log_prob,
            score: 0.0,
            step_log_probs: self.step_log_probs,
            finished: log_p.is_some(),
        };
        if let Some(l) = log_p {
            h.log_prob += l;
            h.step_log_probs.push(l);
        }
        let len = h.step_log_probs.len().max(1) as f64;
        h.score = h.log_prob / len.powf(length_penalty);
        h
    }
}

/// One group's search: its sources, running hypotheses and finished pool.
struct Group {
    sources: Vec<usize>,
    running: Vec<Running>,
    /// Finished (or cut) hypotheses with their sample index.
    pool: Vec<(usize, Hypothesis)>,
    done: bool,
}

/// Generate from every source (or every group of sources, with a merge hook). Returns, per
/// source (per group), the greedy hypothesis, the `n_best` beams best first, or the samples
/// in order.
pub fn generate<M: StepModel>(
    model: &M,
    sources: &[Vec<usize>],
    config: &GenerationConfig,
    constraints: Constraints,
) -> Result<Vec<Vec<Hypothesis>>> {
    let vocab = model.vocab_size();
    config.check(vocab)?;
    let mut groups = make_groups(sources.len(), &constraints)?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let (mut state, mut logits) = model.prefill(sources)?;
    let first = match config.strategy {
        Strategy::Sample(s) => s.samples,
        _ => 1,
    };
    for group in &mut groups {
        group.running = (0..first)
            .map(|id| Running {
                tokens: Vec::new(),
                log_prob: 0.0,
                step_log_probs: Vec::new(),
                id,
            })
            .collect();
    }
    // Row r of the state belongs to (group, running index, source); prefill gave one row per
    // source, the first layout repeats them per running hypothesis.
    let initial: Vec<usize> = groups
        .iter()
        .flat_map(|g| (0..g.running.len()).flat_map(move |_| g.sources.iter().copied()))
        .collect();
    reselect(
        model,
        &mut state,
        &mut logits,
        sources.len(),
        &initial,
        vocab,
    )?;
    let mut layout: Vec<(usize, usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| {
            (0..g.running.len()).flat_map(move |h| g.sources.iter().map(move |&s| (gi, h, s)))
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(match config.strategy {
        Strategy::Sample(s) => s.seed,
        _ => 0,
    });
    for step in 0..config.max_len {
        let last = step + 1 == config.max_len;
        // Parent (old running index) and token of every new running hypothesis, per group.
        let mut chosen: Vec<Vec<(usize, usize)>> = vec![Vec::new(); groups.len()];
        for (gi, group) in groups.iter_mut().enumerate() {
            if group.done {
                continue;
            }
            let mut dists = Vec::with_capacity(group.running.len());
            for (h, run) in group.running.iter().enumerate() {
                let rows: Vec<(&[f32], usize)> = layout
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(g, hh, _))| g == gi && hh == h)
                    .map(|(r, &(_, _, s))| (&logits[r * vocab..(r + 1) * vocab], s))
                    .collect();
                let dist =
                    distribution(&rows, &run.tokens, config, &constraints).ok_or_else(|| {
                        Error::Generation(format!(
                            "no token is allowed for source {} after {:?}",
                            group.sources[0], run.tokens
                        ))
                    })?;
                dists.push(dist);
            }
            chosen[gi] = advance(group, &dists, config, last, &mut rng);
        }
        // The rows of the next step: each new hypothesis takes its parent's rows.
        let mut rows = Vec::new();
        let mut tokens = Vec::new();
        let mut next_layout = Vec::new();
        for (gi, picks) in chosen.iter().enumerate() {
            for (h, &(parent, token)) in picks.iter().enumerate() {
                for (r, &(g, hh, s)) in layout.iter().enumerate() {
                    if g == gi && hh == parent {
                        rows.push(r);
                        tokens.push(token);
                        next_layout.push((gi, h, s));
                    }
                }
            }
        }
        if rows.is_empty() {
            break;
        }
        if rows.len() != layout.len() || rows.iter().enumerate().any(|(i, &r)| i != r) {
            model.select(&mut state, &rows)?;
        }
        layout = next_layout;
        logits = model.step(&mut state, &tokens)?;
        if logits.len() != layout.len() * vocab {
            return Err(Error::Generation(format!(
                "the model returned {} logits for {} rows of {vocab}",
                logits.len(),
                layout.len()
            )));
        }
    }
    Ok(groups.into_iter().map(|g| finish(g, config)).collect())
}

/// Keep `rows` of the prefill state and of its logits.
fn reselect<M: StepModel>(
    model: &M,
    state: &mut M::State,
    logits: &mut Vec<f32>,
    sources: usize,
    rows: &[usize],
    vocab: usize,
) -> Result<()> {
    if logits.len() != sources * vocab {
        return Err(Error::Generation(format!(
            "prefill returned {} logits for {sources} sources of {vocab}",
            logits.len(),
        )));
    }
    if rows.len() != sources || rows.iter().enumerate().any(|(i, &r)| i != r) {
        model.select(state, rows)?;
        *logits = rows
            .iter()
            .flat_map(|&r| logits[r * vocab..(r + 1) * vocab].to_vec())
            .collect();
    }
    Ok(())
}

/// One group per source, or the merge hook's groups in order of first appearance.
fn make_groups(sources: usize, constraints: &Constraints) -> Result<Vec<Group>> {
    let new = |sources| Group {
        sources,
        running: Vec::new(),
        pool: Vec::new(),
        done: false,
    };
    let Some((ids, _)) = constraints.merge else {
        return Ok((0..sources).map(|s| new(vec![s])).collect());
    };
    if ids.len() != sources {
        return Err(Error::Generation(format!(
            "{} group ids for {sources} sources",
            ids.len()
        )));
    }
    let mut order: Vec<usize> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (s, &id) in ids.iter().enumerate() {
        match order.iter().position(|&o| o == id) {
            Some(i) => members[i].push(s),
            None => {
                order.push(id);
                members.push(vec![s]);
            }
        }
    }
    Ok(members.into_iter().map(new).collect())
}

/// Choose a group's next hypotheses from their distributions; returns (parent, token) of each
/// new running hypothesis and moves finished ones into the pool.
fn advance(
    group: &mut Group,
    dists: &[Vec<f64>],
    config: &GenerationConfig,
    last: bool,
    rng: &mut impl Rng,
) -> Vec<(usize, usize)> {
    let is_end = |t: usize| config.end_ids.contains(&t);
    let mut next: Vec<(usize, Running)> = Vec::new();
    match config.strategy {
        Strategy::Greedy | Strategy::Sample(_) => {
            let old = std::mem::take(&mut group.running);
            for (h, (run, dist)) in old.into_iter().zip(dists).enumerate() {
                let t = match config.strategy {
                    Strategy::Sample(s) if s.temperature > 0.0 => sample(dist, s, rng),
                    _ => argmax(dist),
                };
                if is_end(t) {
                    group.pool.push((run.id, run.end(Some(dist[t]), 0.0)));
                } else {
                    next.push((h, run.extend(t, dist[t])));
                }
            }
        }
        Strategy::Beam(b) => {
            let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
            for (h, (run, dist)) in group.running.iter().zip(dists).enumerate() {
                for (t, &l) in dist.iter().enumerate() {
                    if l.is_finite() {
                        candidates.push((run.log_prob + l, h, t));
                    }
                }
            }
            // Only the best 2·beams are ever read: select them (linear time) and order just
            // those. The order is total (score, then beam, then token), so ties are decided
            // the same way a full sort would.
            let order = |a: &(f64, usize, usize), b: &(f64, usize, usize)| {
                b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
            };
            let keep = (2 * b.beams).min(candidates.len());
            if keep < candidates.len() {
                candidates.select_nth_unstable_by(keep, order);
                candidates.truncate(keep);
            }
            candidates.sort_by(order);
            for (rank, &(_, h, t)) in candidates.iter().enumerate() {
                let run = &group.running[h];
                if is_end(t) {
                    if rank < b.beams {
                        let ended = run.clone().end(Some(dists[h][t]), b.length_penalty);
                        group.pool.push((0, ended));
                    }
                } else {
                    next.push((h, run.extend(t, dists[h][t])));
                }
                if next.len() == b.beams {
                    break;
                }
            }
            group.pool.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
            group.pool.truncate(b.beams);
            group.done = beam_done(group, &next, b, config.max_len);
        }
    }
    if last || group.done {
        let penalty = match config.strategy {
            Strategy::Beam(b) => b.length_penalty,
            _ => 0.0,
        };
        if !group.done || matches!(config.strategy, Strategy::Greedy | Strategy::Sample(_)) {
            for (_, run) in next.drain(..) {
                group.pool.push((run.id, run.end(None, penalty)));
            }
        }
        group.done = true;
        return Vec::new();
    }
    group.done = next.is_empty();
    let picks = next
        .iter()
        .map(|(h, run)| (*h, *run.tokens.last().unwrap_or(&0)))
        .collect();
    group.running = next.into_iter().map(|(_, run)| run).collect();
    picks
}

/// Whether a beam group can stop: `beams` finished and no running beam can beat them.
fn beam_done(group: &Group, next: &[(usize, Running)], b: BeamSettings, max_len: usize) -> bool {
    if group.pool.len() < b.beams {
        return false;
    }
    let Some((_, best)) = next.first() else {
        return true;
    };
    let worst = group.pool.last().map_or(f64::NEG_INFINITY, |h| h.1.score);
    let len_next = (best.tokens.len() + 1) as f64;
    let bound = match b.early_stopping {
        EarlyStopping::Always => return true,
        EarlyStopping::Heuristic => best.log_prob / len_next.powf(b.length_penalty),
        EarlyStopping::Never if b.length_penalty > 0.0 => {
            best.log_prob / (max_len as f64).powf(b.length_penalty)
        }
        EarlyStopping::Never => best.log_prob / len_next.powf(b.length_penalty),
    };
    worst >= bound
}

/// The most likely token (ties: the lower id).
fn argmax(dist: &[f64]) -> usize {
    let mut best = 0;
    for (t, &l) in dist.iter().enumerate() {
        if l > dist[best] {
            best = t;
        }
    }
    best
}

/// Draw from the distribution at temperature T, truncated to the top k and to the smallest
/// head whose probability reaches top p.
fn sample(dist: &[f64], s: SampleSettings, rng: &mut impl Rng) -> usize {
    let mut order: Vec<usize> = (0..dist.len()).filter(|&t| dist[t].is_finite()).collect();
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    if s.top_k > 0 {
        order.truncate(s.top_k);
    }
    let best = dist[order[0]];
    let mut weights: Vec<f64> = order
        .iter()
        .map(|&t| ((dist[t] - best) / s.temperature).exp())
        .collect();
    if s.top_p < 1.0 {
        let total: f64 = weights.iter().sum();
        let mut cumulative = 0.0;
        let keep = weights
            .iter()
            .position(|w| {
                cumulative += w / total;
                cumulative >= s.top_p
            })
            .map_or(weights.len(), |i| i + 1);
        weights.truncate(keep);
    }
    let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (&t, &w) in order.iter().zip(&weights) {
        if u < w {
            return t;
        }
        u -= w;
    }
    order[weights.len() - 1]
}

/// A group's output: greedy's one, the n best beams, or the samples in order.
fn finish(mut group: Group, config: &GenerationConfig) -> Vec<Hypothesis> {
    match config.strategy {
        Strategy::Beam(b) => {
            group.pool.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
            group.pool.truncate(b.n_best);
        }
        _ => group.pool.sort_by_key(|(id, _)| *id),
    }
    group.pool.into_iter().map(|(_, h)| h).collect()
}
