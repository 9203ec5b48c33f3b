//! Parameter-wise learning-rate multipliers by name pattern.

use burn::tensor::Tensor;

use crate::{
    Extended, Extension, NamePatterns, OptimError, ParamInfo, ParamState, Update, UpdateRule,
};

/// Multiplies the learning rate of parameters whose path matches a pattern (first matching
/// pattern wins; others keep ×1). bert4keras trains CRF transitions with a 100× rate this way.
///
/// Built with [`RuleExt::lr_multipliers`](crate::RuleExt::lr_multipliers).
#[derive(Clone, Debug)]
pub struct LrMultipliers {
    patterns: NamePatterns,
    multipliers: Vec<f64>,
}

impl LrMultipliers {
    pub(crate) fn new<S: AsRef<str>>(rules: &[(S, f64)]) -> Self {
        let names: Vec<&str> = rules.iter().map(|(p, _)| p.as_ref()).collect();
        Self {
            patterns: NamePatterns::new(&names),
            multipliers: rules.iter().map(|(_, m)| *m).collect(),
        }
    }

    /// The multiplier applied to the parameter at `path`.
    pub fn multiplier(&self, path: &str) -> f64 {
        self.patterns
            .first_match(path)
            .map_or(1.0, |index| self.multipliers[index])
    }
}

impl<R> Extended<R, LrMultipliers> {
    /// The multiplier applied to the parameter at `path`.
    pub fn multiplier(&self, path: &str) -> f64 {
        self.extension.multiplier(path)
    }
}

impl Extension for LrMultipliers {
    const NAME: &'static str = "lr_multipliers";
    type State<S: ParamState<D>, const D: usize> = S;

    fn settings(&self) -> Option<String> {
        let rules: Vec<String> = self
            .patterns
            .patterns()
            .iter()
            .zip(&self.multipliers)
            .map(|(p, m)| format!("{p:?}×{m}"))
            .collect();
        Some(format!("[{}]", rules.join(", ")))
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.patterns.validate()?;
        for (pattern, &multiplier) in self.patterns.patterns().iter().zip(&self.multipliers) {
            if !(multiplier.is_finite() && multiplier >= 0.0) {
                return Err(OptimError::InvalidParameter {
                    optimizer: "lr_multipliers",
                    name: "multiplier",
                    value: format!("{multiplier} (for {pattern:?})"),
                    reason: "must be finite and ≥ 0",
                });
            }
        }
        Ok(())
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
        inner.step(param, lr * self.multiplier(param.path), tensor, grad, state)
    }
}
