//! The VQ-VAE autoencoder: a convolutional encoder that halves the image twice (×4 in all), the
//! vector quantiser on every position of its grid, and a decoder that mirrors the encoder with
//! transposed convolutions. Residual blocks are x + Conv1×1(ReLU(Conv3×3(ReLU(x)))), as in the
//! VQ-VAE paper. Loss: mean((x − x̂)²) plus the quantiser's codebook and commitment losses.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};

use super::quantizer::{VectorQuantizer, VectorQuantizerConfig};

/// Configuration of [`VqVae`].
#[derive(Config, Debug)]
pub struct VqVaeConfig {
    /// Image channels (1 for grey glyphs).
    #[config(default = 1)]
    pub channels: usize,
    /// Width of the convolutional layers.
    #[config(default = 64)]
    pub hidden: usize,
    /// Residual blocks after the encoder's convolutions and before the decoder's.
    #[config(default = 2)]
    pub residual_blocks: usize,
    /// The quantiser (its `code_dim` is the encoder's output width).
    pub quantizer: VectorQuantizerConfig,
}

/// `x + Conv1×1(ReLU(Conv3×3(ReLU(x))))`.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// The 3×3 convolution.
    pub conv3: Conv2d,
    /// The 1×1 convolution.
    pub conv1: Conv2d,
}

impl ResidualBlock {
    fn new(width: usize, device: &Device) -> Self {
        Self {
            conv3: conv(width, width, 3, 1, device),
            conv1: conv(width, width, 1, 1, device),
        }
    }

    /// `x: [batch, width, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self
            .conv1
            .forward(relu(self.conv3.forward(relu(x.clone()))));
        x.add(h)
    }
}

/// Image → grid of code-width vectors, each side divided by 4.
#[derive(Module, Debug)]
pub struct Encoder {
    /// 4×4 stride-2 convolutions: channels → hidden/2 → hidden.
    pub down: Vec<Conv2d>,
    /// 3×3 convolution at the grid size.
    pub conv: Conv2d,
    /// Residual blocks.
    pub blocks: Vec<ResidualBlock>,
    /// 1×1 projection to the code width.
    pub project: Conv2d,
}

impl Encoder {
    /// `x: [batch, channels, H, W]` → `[batch, code_dim, H/4, W/4]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = x;
        for down in &self.down {
            x = relu(down.forward(x));
        }
        let mut x = self.conv.forward(x);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.project.forward(relu(x))
    }
}

/// Grid of codes → image, each side multiplied by 4.
#[derive(Module, Debug)]
pub struct Decoder {
    /// 3×3 convolution from the code width.
    pub conv: Conv2d,
    /// Residual blocks.
    pub blocks: Vec<ResidualBlock>,
    /// 4×4 stride-2 transposed convolutions: hidden → hidden/2 → channels.
    pub up: Vec<ConvTranspose2d>,
}

impl Decoder {
    /// `z: [batch, code_dim, h, w]` → `[batch, channels, 4h, 4w]`.
    pub fn forward(&self, z: Tensor<4>) -> Tensor<4> {
        let mut x = self.conv.forward(z);
        for block in &self.blocks {
            x = block.forward(x);
        }
        for up in &self.up {
            x = up.forward(relu(x));
        }
        x
    }
}

/// Encoder, quantiser and decoder.
#[derive(Module, Debug)]
pub struct VqVae {
    /// The encoder.
    pub encoder: Encoder,
    /// The quantiser.
    pub quantizer: VectorQuantizer,
    /// The decoder.
    pub decoder: Decoder,
}

/// One pass of [`VqVae::forward`].
#[derive(Debug, Clone)]
pub struct VqVaeOutput {
    /// The decoded images, `[batch, channels, H, W]`.
    pub reconstruction: Tensor<4>,
    /// The code of every grid position, `[batch, H/4, W/4]`.
    pub codes: Tensor<3, Int>,
    /// mean((x − x̂)²), `[1]`.
    pub reconstruction_loss: Tensor<1>,
    /// The quantiser's codebook plus commitment loss, `[1]`.
    pub quantizer_loss: Tensor<1>,
    /// Codebook perplexity over the batch, `[1]`.
    pub perplexity: Tensor<1>,
    /// The encoder's vectors `[batch·h·w, code_dim]` (for moving-average codebook updates).
    pub encoded: Tensor<2>,
}

impl VqVaeOutput {
    /// The training loss: reconstruction plus quantiser losses.
    pub fn loss(&self) -> Tensor<1> {
        self.reconstruction_loss
            .clone()
            .add(self.quantizer_loss.clone())
    }
}

fn conv(d_in: usize, d_out: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = if kernel == 4 { 1 } else { kernel / 2 };
    Conv2dConfig::new([d_in, d_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

fn conv_up(d_in: usize, d_out: usize, device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([d_in, d_out], [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .init(device)
}

impl VqVaeConfig {
    /// Build the model on `device`.
    pub fn init(&self, device: &Device) -> VqVae {
        let (h, code) = (self.hidden, self.quantizer.code_dim);
        let blocks = || {
            (0..self.residual_blocks)
                .map(|_| ResidualBlock::new(h, device))
                .collect()
        };
        VqVae {
            encoder: Encoder {
                down: vec![
                    conv(self.channels, h / 2, 4, 2, device),
                    conv(h / 2, h, 4, 2, device),
                ],
                conv: conv(h, h, 3, 1, device),
                blocks: blocks(),
                project: conv(h, code, 1, 1, device),
            },
            quantizer: self.quantizer.init(device),
            decoder: Decoder {
                conv: conv(code, h, 3, 1, device),
                blocks: blocks(),
                up: vec![
                    conv_up(h, h / 2, device),
                    conv_up(h / 2, self.channels, device),
                ],
            },
        }
    }
}

impl VqVae {
    /// Encode, quantise and decode `images: [batch, channels, H, W]` (H and W multiples of 4).
    pub fn forward(&self, images: Tensor<4>) -> VqVaeOutput {
        let [batch, _, height, width] = images.dims();
        let (h, w) = (height / 4, width / 4);
        let flat = self.encode(images.clone());
        let code_dim = flat.dims()[1];
        let q = self.quantizer.forward(flat.clone());
        let grid = q
            .quantized
            .clone()
            .reshape([batch, h, w, code_dim])
            .permute([0, 3, 1, 2]);
        let reconstruction = self.decoder.forward(grid);
        let reconstruction_loss = reconstruction.clone().sub(images).powi_scalar(2).mean();
        VqVaeOutput {
            reconstruction,
            codes: q.codes.clone().reshape([batch, h, w]),
            reconstruction_loss,
            quantizer_loss: q.loss(),
            perplexity: q.perplexity,
            encoded: flat,
        }
    }

    /// The encoder's vector at every grid position, `[batch·(H/4)·(W/4), code_dim]`, row by
    /// row within each image (the quantiser's input).
    pub fn encode(&self, images: Tensor<4>) -> Tensor<2> {
        let z = self.encoder.forward(images);
        let [batch, code_dim, h, w] = z.dims();
        z.permute([0, 2, 3, 1]).reshape([batch * h * w, code_dim])
    }

    /// Decode a grid of codes `[batch, h, w]` (e.g. sampled from a prior) into images.
    pub fn decode_codes(&self, codes: Tensor<3, Int>) -> Tensor<4> {
        let [batch, h, w] = codes.dims();
        let vectors = self
            .quantizer
            .codebook
            .val()
            .select(0, codes.reshape([batch * h * w]));
        let code_dim = vectors.dims()[1];
        let grid = vectors
            .reshape([batch, h, w, code_dim])
            .permute([0, 3, 1, 2]);
        self.decoder.forward(grid)
    }
}
