//! SGD with optional momentum / Nesterov momentum, delegated to Burn's `Sgd`.

use burn::optim::momentum::MomentumConfig;
use burn::optim::{Sgd as BurnSgd, SgdConfig, SgdState};
use burn::tensor::Tensor;

use crate::burn_adapter::{BurnOptimizer, BurnState};
use crate::rule::check_range;
use crate::{OptimError, ParamInfo, Update, UpdateRule};

/// SGD with momentum: v ← μv + g, θ ← θ − γv (Nesterov: θ ← θ − γ(g + μv)).
///
/// This is the heavy-ball discretisation of the damped dynamics θ̈ + λθ̇ = −∇L from
/// "从动力学角度看优化算法": with a constant γ it equals the Keras form v ← μv − γg, θ ← θ + v;
/// the two differ only in when a changing γ takes effect. The update is Burn's `Sgd` with
/// zero dampening, which is exactly `torch.optim.SGD`.
#[derive(Clone)]
pub struct Sgd {
    momentum: f64,
    nesterov: bool,
    inner: BurnOptimizer<BurnSgd>,
}

impl Default for Sgd {
    fn default() -> Self {
        Self::build(0.0, false)
    }
}

impl Sgd {
    /// Plain SGD, θ ← θ − γg.
    pub fn new() -> Self {
        Self::default()
    }

    /// Heavy-ball momentum μ (0 disables it).
    pub fn momentum(self, momentum: f64) -> Self {
        Self::build(momentum, self.nesterov)
    }

    /// Use Nesterov's variant of momentum.
    pub fn nesterov(self, nesterov: bool) -> Self {
        Self::build(self.momentum, nesterov)
    }

    fn build(momentum: f64, nesterov: bool) -> Self {
        let config = SgdConfig::new().with_momentum((momentum != 0.0).then(|| {
            MomentumConfig::new()
                .with_momentum(momentum)
                .with_dampening(0.0)
                .with_nesterov(nesterov)
        }));
        Self {
            momentum,
            nesterov,
            inner: BurnOptimizer::new(config.build(), "sgd"),
        }
    }
}

impl UpdateRule for Sgd {
    type State<const D: usize> = BurnState<SgdState<D>>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        self.inner.step(param, lr, tensor, grad, state)
    }

    fn validate(&self) -> Result<(), OptimError> {
        check_range(
            "sgd",
            "momentum",
            self.momentum,
            0.0,
            1.0,
            true,
            "must be in [0, 1)",
        )?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(OptimError::InvalidParameter {
                optimizer: "sgd",
                name: "momentum",
                value: "0".into(),
                reason: "Nesterov momentum needs a momentum > 0",
            });
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match (self.momentum, self.nesterov) {
            (0.0, _) => "sgd".into(),
            (m, false) => format!("sgd(momentum={m})"),
            (m, true) => format!("sgd(nesterov={m})"),
        }
    }

    fn averaged_weights<const D: usize>(&self, _state: &Self::State<D>) -> Option<Tensor<D>> {
        None
    }
}
