//! Gradient accumulation: the inner rule sees the mean of k gradients once every k steps.

use burn::optim::{StateSink, StateSource};
use burn::tensor::{Bool, Device, Tensor};

use crate::state::{keep_old, load_count, load_tensor, nested, save_count, save_tensor};
use crate::{Extension, OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Sums gradients over k calls and, on every k-th, hands their mean to the inner rule.
/// In between the parameters are untouched and the inner state (moments, step counters,
/// schedules inside) does not advance, so k micro-batches of b equal one batch of k·b.
///
/// Built with [`RuleExt::gradient_accumulation`](crate::RuleExt::gradient_accumulation).
#[derive(Clone, Debug)]
pub struct GradientAccumulation {
    steps: u64,
}

impl GradientAccumulation {
    pub(crate) fn new(steps: u64) -> Self {
        Self { steps }
    }
}

/// The running gradient sum around the inner rule's state.
#[derive(Clone, Debug)]
pub struct AccumulationState<S, const D: usize> {
    /// The inner rule's state, `None` before its first step.
    pub inner: Option<S>,
    /// Sum of the gradients since the last inner step.
    pub sum: Tensor<D>,
    /// Calls so far.
    pub count: u64,
}

impl<const D: usize, S: ParamState<D>> ParamState<D> for AccumulationState<S, D> {
    fn save(&self, prefix: &str, out: &mut StateSink) {
        if let Some(inner) = &self.inner {
            inner.save(&nested(prefix, "inner"), out);
        }
        out.push_scalar(
            prefix,
            "has_inner",
            burn_pack::Scalar::from(self.inner.is_some()),
        );
        save_tensor(out, prefix, "sum", &self.sum);
        save_count(out, prefix, "count", self.count);
    }

    fn load(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let has_inner = bool::try_from(src.take_scalar(prefix, "has_inner")?).ok()?;
        let inner = if has_inner {
            Some(S::load(&nested(prefix, "inner"), src, device)?)
        } else {
            None
        };
        Some(Self {
            inner,
            sum: load_tensor(src, prefix, "sum", device)?,
            count: load_count(src, prefix, "count")?,
        })
    }

    fn keep_rows(self, old: &Self, keep: &Tensor<D, Bool>) -> Self {
        let inner = match (self.inner, &old.inner) {
            (Some(new), Some(old)) => Some(new.keep_rows(old, keep)),
            (new, _) => new,
        };
        Self {
            inner,
            sum: keep_old(self.sum, &old.sum, keep),
            count: self.count,
        }
    }
}

impl Extension for GradientAccumulation {
    const NAME: &'static str = "gradient_accumulation";
    type State<S: ParamState<D>, const D: usize> = AccumulationState<S, D>;

    fn settings(&self) -> Option<String> {
        Some(self.steps.to_string())
    }

    fn validate(&self) -> Result<(), OptimError> {
        if self.steps == 0 {
            return Err(OptimError::InvalidParameter {
                optimizer: "gradient_accumulation",
                name: "steps",
                value: "0".into(),
                reason: "must be ≥ 1",
            });
        }
        Ok(())
    }

    fn inner_state<S: ParamState<D>, const D: usize>(
        state: &AccumulationState<S, D>,
    ) -> Option<&S> {
        state.inner.as_ref()
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AccumulationState<R::State<D>, D>>,
    ) -> (Update<D>, AccumulationState<R::State<D>, D>) {
        let (inner_state, sum, count) = match state {
            Some(s) => (s.inner, s.sum + grad, s.count + 1),
            None => (None, grad, 1),
        };
        if count % self.steps != 0 {
            let state = AccumulationState {
                inner: inner_state,
                sum,
                count,
            };
            return (Update::Unchanged, state);
        }
        let mean = sum.clone().div_scalar(self.steps as f64);
        let (update, inner_state) = inner.step(param, lr, tensor, mean, inner_state);
        let state = AccumulationState {
            inner: Some(inner_state),
            sum: sum.zeros_like(),
            count,
        };
        (update, state)
    }
}
