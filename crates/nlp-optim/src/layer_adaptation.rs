//! Layer-wise adaptation of the step size (LAMB when the base is Adam).

use burn::tensor::Tensor;

use crate::{
    Extended, Extension, NamePatterns, OptimError, ParamInfo, ParamState, Update, UpdateRule,
};

/// Rescales the inner rule's step per weight tensor by ‖θ‖/‖step/γ‖, so every tensor moves
/// by about γ of its own norm (ratio 1 when either norm is 0, or when γ is 0). Over
/// `Adam::new().weight_decay(λ)` this is LAMB. Parameters whose path matches an `exclude`
/// pattern take the inner step unchanged.
///
/// Built with [`RuleExt::layer_adaptation`](crate::RuleExt::layer_adaptation).
#[derive(Clone, Debug, Default)]
pub struct LayerAdaptation {
    exclude: NamePatterns,
}

impl<R> Extended<R, LayerAdaptation> {
    /// Do not adapt parameters whose path matches any of these regular expressions.
    pub fn exclude<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.extension.exclude = NamePatterns::new(patterns);
        self
    }
}

impl Extension for LayerAdaptation {
    const NAME: &'static str = "layer_adaptation";
    type State<S: ParamState<D>, const D: usize> = S;

    fn settings(&self) -> Option<String> {
        None
    }

    fn validate(&self) -> Result<(), OptimError> {
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
}
