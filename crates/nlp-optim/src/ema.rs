//! Exponential moving average of the weights, for evaluation.

use burn::tensor::Tensor;

use crate::rule::check_range;
use crate::state::param_state;
use crate::{Extension, OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Keeps a = m·a + (1−m)·θ after every update (a starts at 0) and offers the bias-corrected
/// average a/(1−mᵗ) for evaluation through
/// [`ModelOptimizer::apply_ema`](crate::ModelOptimizer::apply_ema) /
/// [`restore_weights`](crate::ModelOptimizer::restore_weights). The training weights are
/// not changed. Typical momentum: 0.999.
///
/// Built with [`RuleExt::ema`](crate::RuleExt::ema).
#[derive(Clone, Debug)]
pub struct Ema {
    momentum: f64,
}

impl Ema {
    pub(crate) fn new(momentum: f64) -> Self {
        Self { momentum }
    }
}

/// The running average around the inner rule's state.
#[derive(Clone, Debug)]
pub struct EmaState<S, const D: usize> {
    /// The inner rule's state.
    pub inner: S,
    /// The running (not yet bias-corrected) average a.
    pub average: Tensor<D>,
    /// Updates averaged so far (t).
    pub time: u64,
}

param_state!([const D: usize, S: ParamState<D>] EmaState<S, D> {
    nested inner;
    tensors average;
    counts time;
});

impl Extension for Ema {
    const NAME: &'static str = "ema";
    const KEEPS_AVERAGE: bool = true;
    type State<S: ParamState<D>, const D: usize> = EmaState<S, D>;

    fn settings(&self) -> Option<String> {
        Some(self.momentum.to_string())
    }

    fn validate(&self) -> Result<(), OptimError> {
        check_range(
            "ema",
            "momentum",
            self.momentum,
            0.0,
            1.0,
            true,
            "must be in [0, 1)",
        )
    }

    fn inner_state<S: ParamState<D>, const D: usize>(state: &EmaState<S, D>) -> Option<&S> {
        Some(&state.inner)
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<EmaState<R::State<D>, D>>,
    ) -> (Update<D>, EmaState<R::State<D>, D>) {
        let (inner_state, average, time) = match state {
            Some(s) => (Some(s.inner), Some(s.average), s.time),
            None => (None, None, 0),
        };
        let (update, inner_state) = inner.step(param, lr, tensor.clone(), grad, inner_state);
        let weights = update.clone().apply(tensor).mul_scalar(1.0 - self.momentum);
        let average = match average {
            Some(average) => average.mul_scalar(self.momentum) + weights,
            None => weights,
        };
        let state = EmaState {
            inner: inner_state,
            average,
            time: time + 1,
        };
        (update, state)
    }

    /// The bias-corrected average a/(1−mᵗ).
    fn averaged_weights<R: UpdateRule, const D: usize>(
        &self,
        _inner: &R,
        state: &EmaState<R::State<D>, D>,
    ) -> Option<Tensor<D>> {
        let time = i32::try_from(state.time).unwrap_or(i32::MAX);
        let correction = 1.0 - self.momentum.powi(time);
        Some(state.average.clone().div_scalar(correction))
    }
}
