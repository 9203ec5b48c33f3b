//! The per-parameter update rule every optimizer and wrapper implements.

use burn::tensor::Tensor;

use crate::{OptimError, ParamState};

/// What an update rule asks the parameter to become.
///
/// Rules report a *delta* (`θ ← θ − Δ`) whenever they can, so that wrappers such as
/// [layer adaptation](crate::LayerAdaptation) can rescale the step exactly instead of
/// recovering it as the difference of two nearly equal weights.
#[derive(Clone, Debug)]
pub enum Update<const D: usize> {
    /// `θ ← θ − Δ`, where Δ already includes the learning rate.
    Delta(Tensor<D>),
    /// `θ ← value` (e.g. a Lookahead synchronisation).
    Value(Tensor<D>),
    /// `θ` unchanged (e.g. between gradient-accumulation steps).
    Unchanged,
}

impl<const D: usize> Update<D> {
    /// The new parameter value.
    pub fn apply(self, tensor: Tensor<D>) -> Tensor<D> {
        match self {
            Update::Delta(delta) => tensor - delta,
            Update::Value(value) => value,
            Update::Unchanged => tensor,
        }
    }

    /// The step Δ = θ − θ' (`None` when unchanged).
    pub fn delta(self, tensor: &Tensor<D>) -> Option<Tensor<D>> {
        match self {
            Update::Delta(delta) => Some(delta),
            Update::Value(value) => Some(tensor.clone() - value),
            Update::Unchanged => None,
        }
    }
}

/// Which parameter a step is for: rules that select parameters by name look at `path`.
#[derive(Clone, Copy, Debug)]
pub struct ParamInfo<'a> {
    /// The parameter's module path, e.g. `encoder.layers.0.attention.query.weight`.
    pub path: &'a str,
}

/// A per-parameter optimizer: a base rule (SGD, RMSprop, Adam, any Burn optimizer through
/// [`BurnOptimizer`](crate::BurnOptimizer)) or a wrapper around another rule.
///
/// Wrappers are added with the builder methods of [`RuleExt`](crate::RuleExt) and apply in
/// the order written: in `Adam::new().weight_decay(0.01).layer_adaptation()`, layer adaptation
/// rescales the step that Adam-with-weight-decay produced (which is LAMB).
pub trait UpdateRule: Clone + Send + Sync + 'static {
    /// The state kept for one parameter of rank `D`.
    type State<const D: usize>: ParamState<D>;

    /// One update of one parameter. `lr` is the learning rate the rule must use (the caller's
    /// rate, already scaled by any outer schedule or multiplier); `state` is `None` on the
    /// parameter's first step.
    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>);

    /// Check the whole chain's configuration.
    fn validate(&self) -> Result<(), OptimError>;

    /// A short description of the chain, e.g. `ema(0.999, layer_adaptation(weight_decay(adam)))`.
    /// Saved with the state so that a record is not loaded into a different chain.
    fn describe(&self) -> String;

    /// The bias-corrected moving average of the weights, if the chain keeps one
    /// ([`Ema`](crate::Ema)); wrappers forward to their inner rule.
    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>>;

    /// Whether the chain keeps a moving average of the weights ([`Ema`](crate::Ema)).
    /// Base rules keep the default; wrappers forward to their inner rule.
    fn keeps_average(&self) -> bool {
        false
    }
}

/// Check that `value` is finite and within `[lo, hi]` (or `[lo, hi)` when `hi_open`).
pub(crate) fn check_range(
    optimizer: &'static str,
    name: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
    hi_open: bool,
    reason: &'static str,
) -> Result<(), OptimError> {
    let ok = value.is_finite() && value >= lo && (if hi_open { value < hi } else { value <= hi });
    if ok {
        Ok(())
    } else {
        Err(OptimError::InvalidParameter {
            optimizer,
            name,
            value: value.to_string(),
            reason,
        })
    }
}
