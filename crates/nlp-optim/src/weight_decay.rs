//! Decoupled weight decay: θ ← θ − γh − γλθ.

use burn::tensor::Tensor;

use crate::rule::check_range;
use crate::{NamePatterns, OptimError, ParamInfo, Update, UpdateRule};

/// Adds γλθ to the inner rule's step (decoupled weight decay, as in AdamW), except for
/// parameters whose path matches an [`exclude`](Self::exclude) pattern (typically LayerNorm
/// and biases). Over Adam this is exactly `torch.optim.AdamW`.
///
/// Built with [`RuleExt::weight_decay`](crate::RuleExt::weight_decay).
#[derive(Clone, Debug)]
pub struct WeightDecay<R> {
    inner: R,
    rate: f64,
    exclude: NamePatterns,
}

impl<R> WeightDecay<R> {
    pub(crate) fn new(inner: R, rate: f64) -> Self {
        Self {
            inner,
            rate,
            exclude: NamePatterns::default(),
        }
    }

    /// Do not decay parameters whose path matches any of these regular expressions,
    /// e.g. `&["norm", "bias"]`.
    pub fn exclude<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.exclude = NamePatterns::new(patterns);
        self
    }
}

impl<R: UpdateRule> UpdateRule for WeightDecay<R> {
    type State<const D: usize> = R::State<D>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let (update, state) = self.inner.step(param, lr, tensor.clone(), grad, state);
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
        self.exclude.validate()?;
        self.inner.validate()
    }

    fn describe(&self) -> String {
        format!("weight_decay({}, {})", self.rate, self.inner.describe())
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.inner.averaged_weights(state)
    }

    fn keeps_average(&self) -> bool {
        self.inner.keeps_average()
    }
}
