//! VQ-VAE ("VQ-VAE的简明介绍：量子化自编码器"): a vector quantiser with straight-through
//! gradients between a convolutional encoder and decoder. The autoregressive prior over the
//! code grid is still to come (issue #17).

mod autoencoder;
mod quantizer;

pub use autoencoder::{Decoder, Encoder, ResidualBlock, VqVae, VqVaeConfig, VqVaeOutput};
pub use quantizer::{EmaStatistics, Quantized, VectorQuantizer, VectorQuantizerConfig};
