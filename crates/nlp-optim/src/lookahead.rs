//! Lookahead: every k fast steps, pull slow weights towards the fast ones and restart there.

use burn::tensor::Tensor;

use crate::rule::check_range;
use crate::state::param_state;
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

param_state!([const D: usize, S: ParamState<D>] LookaheadState<S, D> {
    nested inner;
    tensors slow;
    counts count;
});

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
