//! VQ-VAE ("VQ-VAE的简明介绍：量子化自编码器"): a vector quantiser with straight-through
//! gradients. The convolutional encoder/decoder and the autoregressive prior over the code grid
//! are still to come (issue #17).

mod quantizer;

pub use quantizer::{EmaStatistics, Quantized, VectorQuantizer, VectorQuantizerConfig};
