//! VQ-VAE ("VQ-VAE的简明介绍：量子化自编码器"): a vector quantiser with straight-through
//! gradients between a convolutional encoder and decoder, and an autoregressive prior over the
//! code grid to sample new images from.

mod autoencoder;
mod prior;
mod quantizer;

pub use autoencoder::{Decoder, Encoder, ResidualBlock, VqVae, VqVaeConfig, VqVaeOutput};
pub use prior::{CodePrior, CodePriorConfig, Samples, Sampling, draw};
pub use quantizer::{EmaStatistics, Quantized, VectorQuantizer, VectorQuantizerConfig};
