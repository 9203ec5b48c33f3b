//! Linear-chain conditional random field.
//!
//! Scores a tag path `y` of a sequence with emissions `E[t, k]` as
//! `s(y) = start[y₀] + Σₜ E[t, yₜ] + Σₜ T[yₜ₋₁, yₜ] + end[y_last]`, and trains on the negative
//! log-likelihood `log Σ_y' exp s(y') − s(y)` computed with the forward algorithm over
//! variable-length (masked) sequences. [`Crf::decode`] is Viterbi.
//!
//! As in bert4keras, the transitions can learn faster than the rest of the model through a
//! learning-rate multiplier `m`: the parameter is `raw` and the transitions are `m · raw`
//! (with SGD-like optimisers this scales the effective learning rate of `T` by `m²`).
//! Hard constraints (e.g. `I-X` may not follow `O` in BIO) forbid starts, transitions and ends.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// Score added to forbidden starts, transitions and ends: finite so that no NaN can arise,
/// large enough that a forbidden path never wins.
pub const FORBIDDEN: f32 = -1.0e4;

/// Configuration of [`Crf`].
#[derive(Config, Debug)]
pub struct CrfConfig {
    /// Number of tags.
    pub num_tags: usize,
    /// bert4keras' `lr_multiplier`: transitions are `lr_multiplier · raw`.
    #[config(default = 1.0)]
    pub lr_multiplier: f64,
    /// Learn start and end scores for each tag (bert4keras has none; pytorch-crf has them).
    #[config(default = false)]
    pub start_end: bool,
}

/// Hard constraints on tag paths.
#[derive(Debug, Clone, PartialEq)]
pub struct CrfConstraints {
    /// `allowed_start[k]`: a path may start with tag `k`.
    pub allowed_start: Vec<bool>,
    /// `allowed_transitions[i * num_tags + j]`: tag `j` may follow tag `i`.
    pub allowed_transitions: Vec<bool>,
    /// `allowed_end[k]`: a path may end with tag `k`.
    pub allowed_end: Vec<bool>,
}

impl CrfConstraints {
    /// The BIO constraints for tag names like `O`, `B-PER`, `I-PER`: `I-X` may only start a path
    /// never, and may only follow `B-X` or `I-X`.
    pub fn bio<S: AsRef<str>>(tags: &[S]) -> Self {
        let n = tags.len();
        let parse = |t: &str| -> (char, String) {
            match t.split_once('-') {
                Some((p, label)) => (p.chars().next().unwrap_or('O'), label.to_string()),
                None => (t.chars().next().unwrap_or('O'), String::new()),
            }
        };
        let parsed: Vec<(char, String)> = tags.iter().map(|t| parse(t.as_ref())).collect();
        let allowed_start = parsed.iter().map(|(p, _)| *p != 'I').collect();
        let mut allowed_transitions = vec![true; n * n];
        for (i, (pi, li)) in parsed.iter().enumerate() {
            for (j, (pj, lj)) in parsed.iter().enumerate() {
                if *pj == 'I' {
                    allowed_transitions[i * n + j] = (*pi == 'B' || *pi == 'I') && li == lj;
                }
            }
        }
        Self {
            allowed_start,
            allowed_transitions,
            allowed_end: vec![true; n],
        }
    }
}

/// A linear-chain CRF layer over `num_tags` tags.
#[derive(Module, Debug)]
pub struct Crf {
    /// Raw transition parameter; the transitions are `lr_multiplier · raw`.
    pub raw_transitions: Param<Tensor<2>>,
    /// Raw start scores (when learned).
    pub raw_start: Option<Param<Tensor<1>>>,
    /// Raw end scores (when learned).
    pub raw_end: Option<Param<Tensor<1>>>,
    /// The learning-rate multiplier.
    pub lr_multiplier: f64,
    /// Number of tags.
    pub num_tags: usize,
    /// Hard constraints, if any.
    #[module(skip)]
    pub constraints: Option<CrfConstraints>,
}

impl CrfConfig {
    /// Build the layer. Transitions start Glorot-uniform (divided by the multiplier so that the
    /// effective transitions do not depend on it), start/end scores at zero.
    pub fn init(&self, device: &Device) -> Crf {
        let k = self.num_tags;
        let m = self.lr_multiplier;
        let limit = (6.0 / (2 * k) as f64).sqrt() / m;
        Crf {
            raw_transitions: Initializer::Uniform {
                min: -limit,
                max: limit,
            }
            .init([k, k], device),
            raw_start: self.start_end.then(|| Initializer::Zeros.init([k], device)),
            raw_end: self.start_end.then(|| Initializer::Zeros.init([k], device)),
            lr_multiplier: m,
            num_tags: k,
            constraints: None,
        }
    }
}

impl Crf {
    /// Attach hard constraints.
    pub fn with_constraints(mut self, constraints: CrfConstraints) -> crate::Result<Self> {
        let k = self.num_tags;
        for (what, got, expected) in [
            ("allowed_start", constraints.allowed_start.len(), k),
            (
                "allowed_transitions",
                constraints.allowed_transitions.len(),
                k * k,
            ),
            ("allowed_end", constraints.allowed_end.len(), k),
        ] {
            if got != expected {
                return Err(crate::Error::CrfConstraintSize {
                    what,
                    got,
                    expected,
                });
            }
        }
        self.constraints = Some(constraints);
        Ok(self)
    }

    fn penalty<const D: usize>(allowed: &[bool], shape: [usize; D], device: &Device) -> Tensor<D> {
        let values: Vec<f32> = allowed
            .iter()
            .map(|&a| if a { 0.0 } else { FORBIDDEN })
            .collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// Effective transition scores `[from, to]` (multiplier and constraints applied).
    pub fn transitions(&self) -> Tensor<2> {
        let trans = self.raw_transitions.val().mul_scalar(self.lr_multiplier);
        match &self.constraints {
            Some(c) => {
                let k = self.num_tags;
                trans.add(Self::penalty(
                    &c.allowed_transitions,
                    [k, k],
                    &self.raw_transitions.device(),
                ))
            }
            None => trans,
        }
    }

    /// Effective start scores `[num_tags]` (zeros when not learned; constraints applied).
    pub fn start_scores(&self) -> Tensor<1> {
        self.boundary(&self.raw_start, |c| &c.allowed_start)
    }

    /// Effective end scores `[num_tags]`.
    pub fn end_scores(&self) -> Tensor<1> {
        self.boundary(&self.raw_end, |c| &c.allowed_end)
    }

    fn boundary(
        &self,
        raw: &Option<Param<Tensor<1>>>,
        allowed: impl Fn(&CrfConstraints) -> &Vec<bool>,
    ) -> Tensor<1> {
        let device = self.raw_transitions.device();
        let k = self.num_tags;
        let base = match raw {
            Some(p) => p.val().mul_scalar(self.lr_multiplier),
            None => Tensor::zeros([k], &device),
        };
        match &self.constraints {
            Some(c) => base.add(Self::penalty(allowed(c), [k], &device)),
            None => base,
        }
    }

    /// Negative log-likelihood per sequence `[batch]`.
    ///
    /// `emissions: [batch, len, num_tags]`, `tags: [batch, len]`, `mask: [batch, len]` with `true`
    /// on real positions; each sequence's real positions must be a non-empty prefix.
    pub fn nll(
        &self,
        emissions: Tensor<3>,
        tags: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        let log_z = self.log_partition(emissions.clone(), mask.clone());
        let gold = self.path_score(emissions, tags, mask);
        log_z.sub(gold)
    }

    /// Mean negative log-likelihood over the batch (a scalar `[1]`).
    pub fn loss(
        &self,
        emissions: Tensor<3>,
        tags: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        self.nll(emissions, tags, mask).mean()
    }

    /// `log Σ_y exp s(y)` per sequence `[batch]`, by the forward algorithm.
    pub fn log_partition(&self, emissions: Tensor<3>, mask: Tensor<2, Bool>) -> Tensor<1> {
        let [batch, len, k] = emissions.dims();
        let trans = self.transitions().reshape([1, k, k]);
        let mut alpha = emissions
            .clone()
            .slice_dim(1, 0..1)
            .reshape([batch, k])
            .add(self.start_scores().reshape([1, k]));
        for t in 1..len {
            let emit = emissions.clone().slice_dim(1, t..t + 1).reshape([batch, k]);
            // next[b, j] = logsumexp_i(alpha[b, i] + T[i, j]) + E[b, t, j]
            let scores = alpha.clone().reshape([batch, k, 1]).add(trans.clone());
            let next = log_sum_exp(scores, 1).reshape([batch, k]).add(emit);
            let real = mask.clone().slice_dim(1, t..t + 1).expand([batch, k]);
            alpha = alpha.mask_where(real, next);
        }
        let last = alpha.add(self.end_scores().reshape([1, k]));
        log_sum_exp(last, 1).reshape([batch])
    }

    /// Score `s(y)` of the given tag paths `[batch]`.
    pub fn path_score(
        &self,
        emissions: Tensor<3>,
        tags: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        let [batch, len, k] = emissions.dims();
        let maskf = mask.clone().float();
        let emit = emissions
            .gather(2, tags.clone().reshape([batch, len, 1]))
            .reshape([batch, len])
            .mul(maskf.clone())
            .sum_dim(1)
            .reshape([batch]);
        let first = tags.clone().slice_dim(1, 0..1).reshape([batch]);
        let start = self.start_scores().select(0, first);
        let lengths = mask.int().sum_dim(1); // [batch, 1]
        let last_tag = tags
            .clone()
            .gather(1, lengths.sub_scalar(1))
            .reshape([batch]);
        let end = self.end_scores().select(0, last_tag);
        let mut score = emit.add(start).add(end);
        if len > 1 {
            let from = tags.clone().slice_dim(1, 0..len - 1);
            let to = tags.slice_dim(1, 1..len);
            let flat = from
                .mul_scalar(k as i64)
                .add(to)
                .reshape([batch * (len - 1)]);
            let trans = self
                .transitions()
                .reshape([k * k])
                .select(0, flat)
                .reshape([batch, len - 1])
                .mul(maskf.slice_dim(1, 1..len))
                .sum_dim(1)
                .reshape([batch]);
            score = score.add(trans);
        }
        score
    }

    /// Viterbi decoding: the best tag path of each sequence, of its real length.
    pub fn decode(&self, emissions: Tensor<3>, mask: Tensor<2, Bool>) -> Vec<Vec<usize>> {
        let [batch, len, k] = emissions.dims();
        let emissions: Vec<f32> = emissions.try_into_vec_as::<f32>().expect("f32 data");
        let lengths: Vec<i64> = mask
            .int()
            .sum_dim(1)
            .try_into_vec_as::<i64>()
            .expect("int data");
        let trans: Vec<f32> = self
            .transitions()
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        let start: Vec<f32> = self
            .start_scores()
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        let end: Vec<f32> = self
            .end_scores()
            .try_into_vec_as::<f32>()
            .expect("f32 data");
        (0..batch)
            .map(|b| {
                let n = lengths[b].max(0) as usize;
                let emit = &emissions[b * len * k..b * len * k + n * k];
                viterbi(emit, n, k, &trans, &start, &end)
            })
            .collect()
    }
}

/// Viterbi on host memory: `emit` is `[len, k]` row-major.
pub fn viterbi(
    emit: &[f32],
    len: usize,
    k: usize,
    trans: &[f32],
    start: &[f32],
    end: &[f32],
) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    let mut score: Vec<f64> = (0..k).map(|j| (start[j] + emit[j]) as f64).collect();
    let mut back = vec![0usize; len * k];
    for t in 1..len {
        let mut next = vec![f64::NEG_INFINITY; k];
        for j in 0..k {
            let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
            for (i, s) in score.iter().enumerate() {
                let v = s + trans[i * k + j] as f64;
                if v > best {
                    best = v;
                    arg = i;
                }
            }
            next[j] = best + emit[t * k + j] as f64;
            back[t * k + j] = arg;
        }
        score = next;
    }
    let mut tag = (0..k)
        .max_by(|&a, &b| {
            (score[a] + end[a] as f64)
                .total_cmp(&(score[b] + end[b] as f64))
                .then(b.cmp(&a))
        })
        .unwrap_or(0);
    let mut path = vec![tag; len];
    for t in (1..len).rev() {
        tag = back[t * k + tag];
        path[t - 1] = tag;
    }
    path
}

/// Numerically stable `log Σ exp` over `dim`, keeping the dimension.
pub fn log_sum_exp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let max = x.clone().max_dim(dim).detach();
    x.sub(max.clone()).exp().sum_dim(dim).log().add(max)
}
