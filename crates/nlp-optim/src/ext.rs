//! Builder methods that stack wrappers over any rule, in the order written.

use crate::{
    Ema, Extended, GradientAccumulation, LayerAdaptation, Lazy, Lookahead, LrMultipliers,
    ModelOptimizer, OptimError, PiecewiseLinearLr, UpdateRule, WeightDecay,
};

/// The `extend_with_*` of bert4keras as builder methods on every [`UpdateRule`].
///
/// Each method wraps the chain built so far, so the last one written is the outermost:
/// `Adam::new().weight_decay(0.01).layer_adaptation()` adapts the step of Adam-with-decay
/// (LAMB). Nothing is checked until [`init`](Self::init).
pub trait RuleExt: UpdateRule + Sized {
    /// Decoupled weight decay θ ← θ − γh − γλθ; see `exclude`.
    fn weight_decay(self, rate: f64) -> Extended<Self, WeightDecay> {
        Extended::new(self, WeightDecay::new(rate))
    }

    /// Rescale each tensor's step by ‖θ‖/‖step/γ‖ (LAMB over Adam with weight decay).
    fn layer_adaptation(self) -> Extended<Self, LayerAdaptation> {
        Extended::new(self, LayerAdaptation::default())
    }

    /// Multiply the learning rate by a piecewise-linear schedule of `(step, multiplier)`
    /// points; see [`PiecewiseLinear`](crate::PiecewiseLinear).
    fn piecewise_linear_lr(self, points: &[(u64, f64)]) -> Extended<Self, PiecewiseLinearLr> {
        Extended::new(self, PiecewiseLinearLr::new(points))
    }

    /// Average the gradients of `steps` calls and update once every `steps` calls.
    fn gradient_accumulation(self, steps: u64) -> Extended<Self, GradientAccumulation> {
        Extended::new(self, GradientAccumulation::new(steps))
    }

    /// Lookahead with synchronisation every `steps` fast steps and slow step size `alpha`
    /// (the post's defaults are 5 and 0.5).
    fn lookahead(self, steps: u64, alpha: f64) -> Extended<Self, Lookahead> {
        Extended::new(self, Lookahead::new(steps, alpha))
    }

    /// Leave rows with an all-zero gradient (and their state) untouched; see `only`.
    fn lazy(self) -> Extended<Self, Lazy> {
        Extended::new(self, Lazy::default())
    }

    /// Keep an exponential moving average of the weights (e.g. `momentum = 0.999`).
    fn ema(self, momentum: f64) -> Extended<Self, Ema> {
        Extended::new(self, Ema::new(momentum))
    }

    /// Multiply the learning rate of parameters whose path matches a pattern, e.g.
    /// `&[("crf", 100.0)]`; the first matching pattern wins.
    fn lr_multipliers<S: AsRef<str>>(self, rules: &[(S, f64)]) -> Extended<Self, LrMultipliers> {
        Extended::new(self, LrMultipliers::new(rules))
    }

    /// Check the configuration and return an optimizer for whole modules.
    fn init(self) -> Result<ModelOptimizer<Self>, OptimError> {
        ModelOptimizer::new(self)
    }
}

impl<R: UpdateRule> RuleExt for R {}
