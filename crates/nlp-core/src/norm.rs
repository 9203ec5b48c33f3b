//! LayerNorm with configurable epsilon (BERT: 1e-12) and Conditional Layer Normalization.
//!
//! The plain LayerNorm is Burn's own (`LayerNormConfig::new(d).with_epsilon(1e-12)`); the
//! conditional form (bert4keras' `LayerNormalization(conditional=True)`) lets a condition vector
//! `c` shift the scale and offset: `γ = γ₀ + W_γ·c`, `β = β₀ + W_β·c`. `W_γ`, `W_β` start at zero
//! and have no bias, so a fresh layer is exactly a plain LayerNorm.

pub use burn::nn::{LayerNorm, LayerNormConfig};

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::activation::Activation;

/// Configuration of [`ConditionalLayerNorm`].
#[derive(Config, Debug)]
pub struct ConditionalLayerNormConfig {
    /// Width of the normalised vectors.
    pub d_model: usize,
    /// Width of the condition vector.
    pub cond_dim: usize,
    /// Added to the variance for numerical stability.
    #[config(default = 1e-12)]
    pub epsilon: f64,
    /// Optional hidden projection of the condition before the two zero-initialised dense layers
    /// (bert4keras' `hidden_units`).
    #[config(default = "None")]
    pub hidden_units: Option<usize>,
    /// Activation of that hidden projection.
    #[config(default = "Activation::Linear")]
    pub hidden_activation: Activation,
}

/// LayerNorm whose γ and β are offset by dense layers on a condition vector.
#[derive(Module, Debug)]
pub struct ConditionalLayerNorm {
    /// Unconditional scale γ₀ (ones at init).
    pub gamma: Param<Tensor<1>>,
    /// Unconditional offset β₀ (zeros at init).
    pub beta: Param<Tensor<1>>,
    /// Optional projection of the condition.
    pub hidden: Option<Linear>,
    /// Activation applied after `hidden`.
    #[module(skip)]
    pub hidden_activation: Activation,
    /// `W_γ`, zero-initialised, no bias.
    pub gamma_dense: Linear,
    /// `W_β`, zero-initialised, no bias.
    pub beta_dense: Linear,
    /// Variance epsilon.
    pub epsilon: f64,
}

impl ConditionalLayerNormConfig {
    /// Build the layer on `device`; it starts as a plain LayerNorm.
    pub fn init(&self, device: &Device) -> ConditionalLayerNorm {
        let hidden = self.hidden_units.map(|units| {
            LinearConfig::new(self.cond_dim, units)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device)
        });
        let cond_width = self.hidden_units.unwrap_or(self.cond_dim);
        let zero_dense = || {
            LinearConfig::new(cond_width, self.d_model)
                .with_bias(false)
                .with_initializer(Initializer::Zeros)
                .init(device)
        };
        ConditionalLayerNorm {
            gamma: Initializer::Ones.init([self.d_model], device),
            beta: Initializer::Zeros.init([self.d_model], device),
            hidden,
            hidden_activation: self.hidden_activation,
            gamma_dense: zero_dense(),
            beta_dense: zero_dense(),
            epsilon: self.epsilon,
        }
    }
}

impl ConditionalLayerNorm {
    /// Normalise `x: [batch, len, d_model]` over its last axis with the condition
    /// `cond: [batch, cond_dim]` (one condition per sequence, broadcast over positions).
    pub fn forward(&self, x: Tensor<3>, cond: Tensor<2>) -> Tensor<3> {
        let [batch, _, d_model] = x.dims();
        let cond = match &self.hidden {
            Some(hidden) => self.hidden_activation.forward(hidden.forward(cond)),
            None => cond,
        };
        let gamma = self
            .gamma_dense
            .forward(cond.clone())
            .add(self.gamma.val().reshape([1, d_model]))
            .reshape([batch, 1, d_model]);
        let beta = self
            .beta_dense
            .forward(cond)
            .add(self.beta.val().reshape([1, d_model]))
            .reshape([batch, 1, d_model]);
        normalize(x, self.epsilon).mul(gamma).add(beta)
    }
}

/// `(x − mean) / √(var + ε)` over the last axis (biased variance, as LayerNorm uses).
pub fn normalize<const D: usize>(x: Tensor<D>, epsilon: f64) -> Tensor<D> {
    let (var, mean) = x.clone().var_mean_bias(D - 1);
    x.sub(mean).div(var.add_scalar(epsilon).sqrt())
}
