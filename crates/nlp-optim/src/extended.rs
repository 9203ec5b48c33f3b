//! One wrapper shape for every derived optimizer: [`Extended`] runs an inner rule through an
//! [`Extension`] that holds only its difference, as bert4keras' `extend_with_*` are each only
//! their difference. Validation, the chain description and the moving-average forwarding are
//! written once, here.

use std::fmt::Debug;

use burn::tensor::Tensor;

use crate::{OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// What a derived optimizer adds to the rule it wraps.
pub trait Extension: Clone + Debug + Send + Sync + 'static {
    /// Its name in [`UpdateRule::describe`], e.g. `weight_decay`.
    const NAME: &'static str;

    /// Whether it keeps a moving average of the weights itself (only [`Ema`](crate::Ema)).
    const KEEPS_AVERAGE: bool = false;

    /// The state of one parameter of rank `D` around the inner rule's state `S` (`S` itself
    /// when the extension keeps nothing of its own).
    type State<S: ParamState<D>, const D: usize>: ParamState<D>;

    /// Its settings as shown before the inner rule in the description, if it has any.
    fn settings(&self) -> Option<String>;

    /// Check the settings (the inner rule is checked by [`Extended`]).
    fn validate(&self) -> Result<(), OptimError>;

    /// The inner rule's state inside `state` (`None` before the inner rule first ran).
    fn inner_state<S: ParamState<D>, const D: usize>(state: &Self::State<S, D>) -> Option<&S>;

    /// One update of one parameter, calling `inner` as the extension needs.
    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<R::State<D>, D>>,
    ) -> (Update<D>, Self::State<R::State<D>, D>);

    /// The moving average of the weights: the inner rule's, unless the extension keeps one.
    fn averaged_weights<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        state: &Self::State<R::State<D>, D>,
    ) -> Option<Tensor<D>> {
        inner.averaged_weights(Self::inner_state(state)?)
    }
}

/// An inner rule with an [`Extension`] around it. Built with the methods of
/// [`RuleExt`](crate::RuleExt); each extension's own builder methods (e.g. `exclude`) are on
/// `Extended<R, ThatExtension>`.
#[derive(Clone, Debug)]
pub struct Extended<R, E> {
    pub(crate) inner: R,
    pub(crate) extension: E,
}

impl<R, E> Extended<R, E> {
    pub(crate) fn new(inner: R, extension: E) -> Self {
        Self { inner, extension }
    }

    /// The extension's settings.
    pub fn extension(&self) -> &E {
        &self.extension
    }
}

impl<R: UpdateRule, E: Extension> UpdateRule for Extended<R, E> {
    type State<const D: usize> = E::State<R::State<D>, D>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        self.extension
            .step(&self.inner, param, lr, tensor, grad, state)
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.extension.validate()?;
        self.inner.validate()
    }

    fn describe(&self) -> String {
        match self.extension.settings() {
            Some(settings) => format!("{}({settings}, {})", E::NAME, self.inner.describe()),
            None => format!("{}({})", E::NAME, self.inner.describe()),
        }
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.extension.averaged_weights(&self.inner, state)
    }

    fn keeps_average(&self) -> bool {
        E::KEEPS_AVERAGE || self.inner.keeps_average()
    }
}
