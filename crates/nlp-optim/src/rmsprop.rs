//! RMSprop as in "从动力学角度看优化算法(二)", with ε inside or outside the root.

use burn::tensor::Tensor;

use crate::rule::check_range;
use crate::state::param_state;
use crate::{OptimError, ParamInfo, Update, UpdateRule};

/// Where ε enters RMSprop's denominator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpsilonPlacement {
    /// g/√(G+ε), as written in the blog post (default).
    InsideRoot,
    /// g/(√G+ε), as Keras and PyTorch compute it.
    OutsideRoot,
}

/// RMSprop: G ← λG + (1−λ)g⊗g, θ ← θ − γ·g/√(G+ε).
///
/// G starts at zero (as in Keras and PyTorch). With [`EpsilonPlacement::OutsideRoot`] this is
/// `torch.optim.RMSprop` without momentum or centring. Burn's RmsProp puts ε outside only and
/// adds momentum by default, so the rule is implemented here. Defaults: λ = 0.9, ε = 1e-6.
#[derive(Clone, Debug)]
pub struct RmsProp {
    rho: f64,
    epsilon: f64,
    placement: EpsilonPlacement,
}

impl Default for RmsProp {
    fn default() -> Self {
        Self {
            rho: 0.9,
            epsilon: 1e-6,
            placement: EpsilonPlacement::InsideRoot,
        }
    }
}

impl RmsProp {
    /// RMSprop with λ = 0.9, ε = 1e-6 inside the root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set λ, the decay rate of the running mean of g².
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Set ε.
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Put ε inside (blog post) or outside (Keras/PyTorch) the square root.
    pub fn epsilon_placement(mut self, placement: EpsilonPlacement) -> Self {
        self.placement = placement;
        self
    }
}

/// RMSprop's per-parameter state.
#[derive(Clone, Debug)]
pub struct RmsPropState<const D: usize> {
    /// Running mean of g², G.
    pub square_avg: Tensor<D>,
}

param_state!([const D: usize] RmsPropState<D> {
    tensors square_avg;
    counts;
});

impl UpdateRule for RmsProp {
    type State<const D: usize> = RmsPropState<D>;

    fn step<const D: usize>(
        &self,
        _param: ParamInfo<'_>,
        lr: f64,
        _tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let fresh = grad.clone().square().mul_scalar(1.0 - self.rho);
        let square_avg = match state {
            Some(s) => s.square_avg.mul_scalar(self.rho) + fresh,
            None => fresh,
        };
        let denominator = match self.placement {
            EpsilonPlacement::InsideRoot => square_avg.clone().add_scalar(self.epsilon).sqrt(),
            EpsilonPlacement::OutsideRoot => square_avg.clone().sqrt().add_scalar(self.epsilon),
        };
        let delta = grad.mul_scalar(lr) / denominator;
        (Update::Delta(delta), RmsPropState { square_avg })
    }

    fn validate(&self) -> Result<(), OptimError> {
        check_range(
            "rmsprop",
            "rho",
            self.rho,
            0.0,
            1.0,
            true,
            "must be in [0, 1)",
        )?;
        check_range(
            "rmsprop",
            "epsilon",
            self.epsilon,
            0.0,
            f64::MAX,
            false,
            "must be ≥ 0",
        )
    }

    fn describe(&self) -> String {
        let placement = match self.placement {
            EpsilonPlacement::InsideRoot => "inside",
            EpsilonPlacement::OutsideRoot => "outside",
        };
        format!("rmsprop(λ={}, ε={} {placement})", self.rho, self.epsilon)
    }

    fn averaged_weights<const D: usize>(&self, _state: &Self::State<D>) -> Option<Tensor<D>> {
        None
    }
}
