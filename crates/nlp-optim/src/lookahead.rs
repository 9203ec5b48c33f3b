//! Lookahead: every k fast steps, pull slow weights towards the fast ones and restart there.

use burn::optim::{StateSink, StateSource};
use burn::tensor::{Bool, Device, Tensor};

use crate::rule::check_range;
use crate::state::{keep_old, load_count, load_tensor, nested, save_count, save_tensor};
use crate::{Extension, OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Lookahead (k, α): every k inner steps, slow ← slow + α(θ − slow) and θ ← slow.
///
/// The slow weights start at the initial θ. (bert4keras starts them at zero, which halves
/// the weights at the first synchronisation; this does not.)
///
/// Built with [`RuleExt::lookahead`](crate::RuleExt::lookahead).
#[derive(Clone, Debug)]
pub struct Lookahead {
    steps: u64,
    alpha: f64,
}

impl Lookahead {
    pub(crate) fn new(steps: u64, alpha: f64) -> Self {
        Self { steps, alpha }
    }
}

/// Slow weights and the fast-step counter around the inner rule's state.
#[derive(Clone, Debug)]
pub struct LookaheadState<S, const D: usize> {
    /// The inner rule's state.
    pub inner: S,
    /// The slow weights.
    pub slow: Tensor<D>,
    /// Fast steps taken so far.
    pub count: u64,
}

impl<const D: usize, S: ParamState<D>> ParamState<D> for LookaheadState<S, D> {
    fn save(&self, prefix: &str, out: &mut StateSink) {
        self.inner.save(&nested(prefix, "inner"), out);
        save_tensor(out, prefix, "slow", &self.slow);
        save_count(out, prefix, "count", self.count);
    }

    fn load(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            inner: S::load(&nested(prefix, "inner"), src, device)?,
            slow: load_tensor(src, prefix, "slow", device)?,
            count: load_count(src, prefix, "count")?,
        })
    }

    fn keep_rows(self, old: &Self, keep: &Tensor<D, Bool>) -> Self {
        Self {
            inner: self.inner.keep_rows(&old.inner, keep),
            slow: keep_old(self.slow, &old.slow, keep),
            count: self.count,
        }
    }
}

impl Extension for Lookahead {
    const NAME: &'static str = "lookahead";
    type State<S: ParamState<D>, const D: usize> = LookaheadState<S, D>;

    fn settings(&self) -> Option<String> {
        Some(format!("k={}, α={}", self.steps, self.alpha))
    }

    fn validate(&self) -> Result<(), OptimError> {
        if self.steps == 0 {
            return Err(OptimError::InvalidParameter {
                optimizer: "lookahead",
                name: "k",
                value: "0".into(),
                reason: "must be ≥ 1",
            });
        }
        check_range(
            "lookahead",
            "alpha",
            self.alpha,
            0.0,
            1.0,
            false,
            "must be in [0, 1]",
        )
    }

    fn inner_state<S: ParamState<D>, const D: usize>(state: &LookaheadState<S, D>) -> Option<&S> {
        Some(&state.inner)
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<LookaheadState<R::State<D>, D>>,
    ) -> (Update<D>, LookaheadState<R::State<D>, D>) {
        let (inner_state, slow, count) = match state {
            Some(s) => (Some(s.inner), s.slow, s.count),
            None => (None, tensor.clone(), 0),
        };
        let (update, inner_state) = inner.step(param, lr, tensor.clone(), grad, inner_state);
        let count = count + 1;
        if count % self.steps != 0 {
            let state = LookaheadState {
                inner: inner_state,
                slow,
                count,
            };
            return (update, state);
        }
        let fast = update.apply(tensor);
        let slow = slow.clone() + (fast - slow).mul_scalar(self.alpha);
        let state = LookaheadState {
            inner: inner_state,
            slow: slow.clone(),
            count,
        };
        (Update::Value(slow), state)
    }
}
