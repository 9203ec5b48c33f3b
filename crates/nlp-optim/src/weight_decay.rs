//! Decoupled weight decay: θ ← θ − γh − γλθ.

use burn::tensor::Tensor;

use crate::rule::check_range;
use crate::{
    Extended, Extension, NamePatterns, OptimError, ParamInfo, ParamState, Update, UpdateRule,
};

/// Adds γλθ to the inner rule's step (decoupled weight decay, as in AdamW), except for
/// parameters whose path matches an `exclude` pattern (typically LayerNorm and biases). Over
/// Adam this is exactly `torch.optim.AdamW`.
///
/// Built with [`RuleExt::weight_decay`](crate::RuleExt::weight_decay).
#[derive(Clone, Debug)]
pub struct WeightDecay {
    rate: f64,
    exclude: NamePatterns,
}

impl WeightDecay {
    pub(crate) fn new(rate: f64) -> Self {
        Self {
            rate,
            exclude: NamePatterns::default(),
        }
    }
}

impl<R> Extended<R, WeightDecay> {
    /// Do not decay parameters whose path matches any of these regular expressions,
    /// e.g. `&["norm", "bias"]`.
    pub fn exclude<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.extension.exclude = NamePatterns::new(patterns);
        self
    }
}

impl Extension for WeightDecay {
    const NAME: &'static str = "weight_decay";
    type State<S: ParamState<D>, const D: usize> = S;

    fn settings(&self) -> Option<String> {
        Some(self.rate.to_string())
    }

    fn validate(&self) -> Result<(), OptimError> {
        check_range(
            "weight_decay",
            "rate",
            self.rate,
            0.0,
            f64::MAX,
            false,
            "must be ≥ 0",
        )?;
        self.exclude.validate()
    }

    fn inner_state<S: ParamState<D>, const D: usize>(state: &S) -> Option<&S> {
        Some(state)
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<R::State<D>>,
    ) -> (Update<D>, R::State<D>) {
        let (update, state) = inner.step(param, lr, tensor.clone(), grad, state);
        if self.rate == 0.0 || self.exclude.matches(param.path) {
            return (update, state);
        }
        let decay = tensor.clone().mul_scalar(lr * self.rate);
        let update = match update {
            Update::Delta(delta) => Update::Delta(delta + decay),
            Update::Value(value) => Update::Value(value - decay),
            Update::Unchanged => Update::Delta(decay),
        };
        (update, state)
    }
}
