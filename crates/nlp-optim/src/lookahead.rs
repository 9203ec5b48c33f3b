//! Lookahead: every k fast steps, pull slow weights towards the fast ones and restart there.

use burn::optim::{StateSink, StateSource};
use burn::tensor::{Bool, Device, Tensor};

use crate::rule::check_range;
use crate::state::{keep_old, load_count, load_tensor, nested, save_count, save_tensor};
use crate::{OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Lookahead (k, α): every k inner steps, slow ← slow + α(θ − slow) and θ ← slow.
///
/// The slow weights start at the initial θ. (bert4keras starts them at zero, which halves
/// the weights at the first synchronisation; this does not.)
///
/// Built with [`RuleExt::lookahead`](crate::RuleExt::lookahead).
#[derive(Clone, Debug)]
pub struct Lookahead<R> {
    inner: R,
    steps: u64,
    alpha: f64,
}

impl<R> Lookahead<R> {
    pub(crate) fn new(inner: R, steps: u64, alpha: f64) -> Self {
        Self {
            inner,
            steps,
            alpha,
        }
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

impl<R: UpdateRule> UpdateRule for Lookahead<R> {
    type State<const D: usize> = LookaheadState<R::State<D>, D>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let (inner, slow, count) = match state {
            Some(s) => (Some(s.inner), s.slow, s.count),
            None => (None, tensor.clone(), 0),
        };
        let (update, inner) = self.inner.step(param, lr, tensor.clone(), grad, inner);
        let count = count + 1;
        if count % self.steps != 0 {
            return (update, LookaheadState { inner, slow, count });
        }
        let fast = update.apply(tensor);
        let slow = slow.clone() + (fast - slow).mul_scalar(self.alpha);
        let state = LookaheadState {
            inner,
            slow: slow.clone(),
            count,
        };
        (Update::Value(slow), state)
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
        )?;
        self.inner.validate()
    }

    fn describe(&self) -> String {
        format!(
            "lookahead(k={}, α={}, {})",
            self.steps,
            self.alpha,
            self.inner.describe()
        )
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.inner.averaged_weights(&state.inner)
    }

    fn keeps_average(&self) -> bool {
        self.inner.keeps_average()
    }
}
