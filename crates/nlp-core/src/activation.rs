//! Activations chosen by name, as checkpoints' configs name them (`hidden_act`).

use burn::tensor::Tensor;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

use crate::kernels::{self, GeluForm};

/// An elementwise activation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// Identity.
    Linear,
    /// `x·Φ(x)` with the exact normal CDF (erf form): BERT's `gelu`.
    Gelu,
    /// The tanh approximation `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`: `gelu_new`.
    GeluTanh,
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// `x·sigmoid(x)` (SiLU).
    Swish,
    /// `sigmoid(x)`.
    Sigmoid,
}

/// An activation name no variant matches.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown activation `{0}`; expected one of: linear, gelu, gelu_new, gelu_pytorch_tanh, relu, tanh, swish, silu, sigmoid"
)]
pub struct UnknownActivation(pub String);

impl Activation {
    /// Parse a config name (`gelu`, `gelu_new`, `gelu_pytorch_tanh`, `relu`, `tanh`, `swish`/`silu`, …).
    pub fn from_name(name: &str) -> Result<Self, UnknownActivation> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "linear" | "identity" | "none" => Self::Linear,
            "gelu" | "gelu_erf" => Self::Gelu,
            "gelu_new" | "gelu_tanh" | "gelu_pytorch_tanh" | "gelu_fast" => Self::GeluTanh,
            "relu" => Self::Relu,
            "tanh" => Self::Tanh,
            "swish" | "silu" => Self::Swish,
            "sigmoid" => Self::Sigmoid,
            _ => return Err(UnknownActivation(name.to_string())),
        })
    }

    /// Apply the activation elementwise (GELU through the fused kernels of [`kernels`] where
    /// they apply).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Linear => x,
            Self::Gelu => kernels::gelu(x, GeluForm::Erf),
            Self::GeluTanh => kernels::gelu(x, GeluForm::Tanh),
            Self::Relu => activation::relu(x),
            Self::Tanh => x.tanh(),
            Self::Swish => activation::silu(x),
            Self::Sigmoid => activation::sigmoid(x),
        }
    }
}
