//! Parameter-wise learning-rate multipliers by name pattern.

use burn::tensor::Tensor;

use crate::{NamePatterns, OptimError, ParamInfo, Update, UpdateRule};

/// Multiplies the learning rate of parameters whose path matches a pattern (first matching
/// pattern wins; others keep ×1). bert4keras trains CRF transitions with a 100× rate this way.
///
/// Built with [`RuleExt::lr_multipliers`](crate::RuleExt::lr_multipliers).
#[derive(Clone, Debug)]
pub struct LrMultipliers<R> {
    inner: R,
    patterns: NamePatterns,
    multipliers: Vec<f64>,
}

impl<R> LrMultipliers<R> {
    pub(crate) fn new<S: AsRef<str>>(inner: R, rules: &[(S, f64)]) -> Self {
        let names: Vec<&str> = rules.iter().map(|(p, _)| p.as_ref()).collect();
        Self {
            inner,
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

impl<R: UpdateRule> UpdateRule for LrMultipliers<R> {
    type State<const D: usize> = R::State<D>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let lr = lr * self.multiplier(param.path);
        self.inner.step(param, lr, tensor, grad, state)
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
        self.inner.validate()
    }

    fn describe(&self) -> String {
        let rules: Vec<String> = self
            .patterns
            .patterns()
            .iter()
            .zip(&self.multipliers)
            .map(|(p, m)| format!("{p:?}×{m}"))
            .collect();
        format!(
            "lr_multipliers([{}], {})",
            rules.join(", "),
            self.inner.describe()
        )
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.inner.averaged_weights(state)
    }

    fn keeps_average(&self) -> bool {
        self.inner.keeps_average()
    }
}
