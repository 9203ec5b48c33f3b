//! Adam with ε outside the root and optional bias correction (bert4keras defaults).

use burn::tensor::Tensor;
use nlp_core::kernels::{AdamHyper, adam_step};

use crate::rule::check_range;
use crate::state::param_state;
use crate::{OptimError, ParamInfo, Update, UpdateRule};

/// Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − γ·m̂/(√v̂ + ε).
///
/// With bias correction (the default) m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), which is exactly
/// `torch.optim.Adam`; without it m̂ = m, v̂ = v (bert4keras `bias_correction=False`).
/// Burn's own Adam has no switch for the correction, hence this implementation.
/// Defaults follow bert4keras: β₁ = 0.9, β₂ = 0.999, ε = 1e-6.
#[derive(Clone, Debug)]
pub struct Adam {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    bias_correction: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-6,
            bias_correction: true,
        }
    }
}

impl Adam {
    /// Adam with bert4keras defaults (β₁ 0.9, β₂ 0.999, ε 1e-6, bias correction on).
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the decay rates of the first and second moments.
    pub fn betas(mut self, beta_1: f64, beta_2: f64) -> Self {
        self.beta_1 = beta_1;
        self.beta_2 = beta_2;
        self
    }

    /// Set ε, added to √v̂.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Turn the 1/(1−βᵗ) bias correction on or off.
    pub fn bias_correction(mut self, enabled: bool) -> Self {
        self.bias_correction = enabled;
        self
    }
}

/// Adam's per-parameter state.
#[derive(Clone, Debug)]
pub struct AdamState<const D: usize> {
    /// First moment m.
    pub moment_1: Tensor<D>,
    /// Second moment v.
    pub moment_2: Tensor<D>,
    /// Number of updates taken (t).
    pub time: u64,
}

param_state!([const D: usize] AdamState<D> {
    tensors moment_1, moment_2;
    counts time;
});

impl UpdateRule for Adam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        _param: ParamInfo<'_>,
        lr: f64,
        _tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let (moments, time) = match state {
            Some(s) => (Some((s.moment_1, s.moment_2)), s.time + 1),
            None => (None, 1),
        };
        let (correction_1, correction_2) = if self.bias_correction {
            let t = i32::try_from(time).unwrap_or(i32::MAX);
            (1.0 - self.beta_1.powi(t), 1.0 - self.beta_2.powi(t))
        } else {
            (1.0, 1.0)
        };
        // One fused pass on the CPU backend, Burn's ops elsewhere (`nlp_core::kernels`).
        let hyper = AdamHyper {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            lr,
            correction_1,
            correction_2,
        };
        let (moment_1, moment_2, delta) = adam_step(grad, moments, hyper);
        (
            Update::Delta(delta),
            AdamState {
                moment_1,
                moment_2,
                time,
            },
        )
    }

    fn validate(&self) -> Result<(), OptimError> {
        let reason = "must be in [0, 1)";
        check_range("adam", "beta_1", self.beta_1, 0.0, 1.0, true, reason)?;
        check_range("adam", "beta_2", self.beta_2, 0.0, 1.0, true, reason)?;
        check_range(
            "adam",
            "epsilon",
            self.epsilon,
            0.0,
            f64::MAX,
            false,
            "must be ≥ 0",
        )
    }

    fn describe(&self) -> String {
        let correction = if self.bias_correction {
            ""
        } else {
            ", no bias correction"
        };
        format!(
            "adam(β₁={}, β₂={}, ε={}{correction})",
            self.beta_1, self.beta_2, self.epsilon
        )
    }

    fn averaged_weights<const D: usize>(&self, _state: &Self::State<D>) -> Option<Tensor<D>> {
        None
    }
}
