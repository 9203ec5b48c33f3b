//! Piecewise-linear learning-rate schedule: θ ← θ − γρₜh.

use burn::tensor::Tensor;

use crate::state::param_state;
use crate::{Extension, OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// A schedule of `(step, multiplier)` points: linear in between, held after the last point,
/// and ramping from 0 at step 0 when the first point is not at step 0 (warm-up from zero),
/// like bert4keras' `piecewise_linear`.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseLinear {
    points: Vec<(u64, f64)>,
}

impl PiecewiseLinear {
    /// Check and build a schedule. Steps must be strictly increasing and multipliers finite
    /// and non-negative.
    pub fn new(points: &[(u64, f64)]) -> Result<Self, OptimError> {
        if points.is_empty() {
            return Err(OptimError::Schedule("no points".into()));
        }
        for window in points.windows(2) {
            let ((a, _), (b, _)) = (window[0], window[1]);
            if b <= a {
                return Err(OptimError::Schedule(format!(
                    "steps must be strictly increasing, found {a} then {b}"
                )));
            }
        }
        if let Some((step, m)) = points.iter().find(|(_, m)| !(m.is_finite() && *m >= 0.0)) {
            return Err(OptimError::Schedule(format!(
                "multiplier {m} at step {step} must be finite and ≥ 0"
            )));
        }
        let mut all = Vec::with_capacity(points.len() + 1);
        if points[0].0 != 0 {
            all.push((0, 0.0));
        }
        all.extend_from_slice(points);
        Ok(Self { points: all })
    }

    /// ρₜ, the multiplier at step `t` (the number of updates already taken).
    pub fn multiplier(&self, t: u64) -> f64 {
        let index = self.points.partition_point(|&(step, _)| step <= t);
        match index {
            0 => self.points[0].1,
            i if i == self.points.len() => self.points[i - 1].1,
            i => {
                let (t0, m0) = self.points[i - 1];
                let (t1, m1) = self.points[i];
                m0 + (m1 - m0) * (t - t0) as f64 / (t1 - t0) as f64
            }
        }
    }
}

/// Scales the learning rate by a [`PiecewiseLinear`] schedule of this rule's own step count
/// (inside [gradient accumulation](crate::GradientAccumulation) it counts inner steps).
///
/// Built with [`RuleExt::piecewise_linear_lr`](crate::RuleExt::piecewise_linear_lr).
#[derive(Clone, Debug)]
pub struct PiecewiseLinearLr {
    schedule: Result<PiecewiseLinear, OptimError>,
}

impl PiecewiseLinearLr {
    pub(crate) fn new(points: &[(u64, f64)]) -> Self {
        Self {
            schedule: PiecewiseLinear::new(points),
        }
    }
}

/// The schedule's step counter around the inner rule's state.
#[derive(Clone, Debug)]
pub struct ScheduleState<S> {
    /// The inner rule's state.
    pub inner: S,
    /// Updates taken so far.
    pub step: u64,
}

param_state!([const D: usize, S: ParamState<D>] ScheduleState<S> {
    nested inner;
    tensors;
    counts step;
});

impl Extension for PiecewiseLinearLr {
    const NAME: &'static str = "piecewise_linear_lr";
    type State<S: ParamState<D>, const D: usize> = ScheduleState<S>;

    fn settings(&self) -> Option<String> {
        Some(match &self.schedule {
            Ok(s) => format!("{:?}", s.points),
            Err(_) => "invalid".into(),
        })
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.schedule.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn inner_state<S: ParamState<D>, const D: usize>(state: &ScheduleState<S>) -> Option<&S> {
        Some(&state.inner)
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<ScheduleState<R::State<D>>>,
    ) -> (Update<D>, ScheduleState<R::State<D>>) {
        let (inner_state, step) = match state {
            Some(s) => (Some(s.inner), s.step),
            None => (None, 0),
        };
        // Validated at `init`; an invalid schedule never reaches a step.
        let multiplier = self.schedule.as_ref().map_or(1.0, |s| s.multiplier(step));
        let (update, inner_state) = inner.step(param, lr * multiplier, tensor, grad, inner_state);
        let state = ScheduleState {
            inner: inner_state,
            step: step + 1,
        };
        (update, state)
    }
}
