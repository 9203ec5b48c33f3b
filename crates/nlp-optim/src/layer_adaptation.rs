//! Layer-wise adaptation of the step size (LAMB when the base is Adam).

use burn::tensor::Tensor;

use crate::{NamePatterns, OptimError, ParamInfo, Update, UpdateRule};

/// Rescales the inner rule's step per weight tensor by ‖θ‖/‖step/γ‖, so every tensor moves
/// by about γ of its own norm (ratio 1 when either norm is 0, or when γ is 0). Over
/// `Adam::new().weight_decay(λ)` this is LAMB. Parameters whose path matches an
/// [`exclude`](Self::exclude) pattern take the inner step unchanged.
///
/// Built with [`RuleExt::layer_adaptation`](crate::RuleExt::layer_adaptation).
#[derive(Clone, Debug)]
pub struct LayerAdaptation<R> {
    inner: R,
    exclude: NamePatterns,
}

impl<R> LayerAdaptation<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            exclude: NamePatterns::default(),
        }
    }

    /// Do not adapt parameters whose path matches any of these regular expressions.
    pub fn exclude<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.exclude = NamePatterns::new(patterns);
        self
    }
}

impl<R: UpdateRule> UpdateRule for LayerAdaptation<R> {
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
        if lr <= 0.0 || self.exclude.matches(param.path) {
            return (update, state);
        }
        let Some(delta) = update.delta(&tensor) else {
            return (Update::Unchanged, state);
        };
        // ratio·Δ with ratio = ‖θ‖ / ‖Δ/γ‖ = γ‖θ‖/‖Δ‖, computed on the device (no host sync).
        let weight_norm = tensor.square().sum().sqrt();
        let step_norm = delta.clone().square().sum().sqrt();
        let both_positive = (weight_norm.clone() * step_norm.clone()).greater_elem(0.0);
        let ratio = weight_norm.mul_scalar(lr) / step_norm;
        let scale = ratio.ones_like().mask_where(both_positive, ratio);
        (Update::Delta(delta * scale.unsqueeze::<D>()), state)
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.exclude.validate()?;
        self.inner.validate()
    }

    fn describe(&self) -> String {
        format!("layer_adaptation({})", self.inner.describe())
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.inner.averaged_weights(state)
    }

    fn keeps_average(&self) -> bool {
        self.inner.keeps_average()
    }
}
