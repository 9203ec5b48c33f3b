//! Position embeddings: learned absolute, sinusoidal, and rotary (RoPE).
//!
//! Sinusoidal and rotary embeddings use the interleaved-pair convention of RoFormer and
//! bert4keras: dimension pairs `(x0, x1), (x2, x3), …` share the frequency
//! `θᵢ = base^(−2i/d)`; the sinusoidal table is `[sin(pθ₀), cos(pθ₀), sin(pθ₁), cos(pθ₁), …]`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor};

/// Configuration of [`LearnedPositionEmbedding`].
#[derive(Config, Debug)]
pub struct LearnedPositionEmbeddingConfig {
    /// Longest sequence the table covers.
    pub max_len: usize,
    /// Embedding width.
    pub d_model: usize,
    /// Initialiser of the table.
    #[config(default = "Initializer::Normal { mean: 0.0, std: 0.02 }")]
    pub initializer: Initializer,
}

/// A trainable table of absolute position vectors (BERT's position embedding).
#[derive(Module, Debug)]
pub struct LearnedPositionEmbedding {
    /// The `[max_len, d_model]` table.
    pub table: Embedding,
}

impl LearnedPositionEmbeddingConfig {
    /// Build the table on `device`.
    pub fn init(&self, device: &Device) -> LearnedPositionEmbedding {
        LearnedPositionEmbedding {
            table: EmbeddingConfig::new(self.max_len, self.d_model)
                .with_initializer(self.initializer.clone())
                .init(device),
        }
    }
}

impl LearnedPositionEmbedding {
    /// Position vectors `[batch, len, d_model]` for positions `start..start+len`.
    ///
    /// # Panics
    /// Panics if `start + len` exceeds the table's `max_len`.
    pub fn forward(&self, batch: usize, len: usize, start: usize) -> Tensor<3> {
        let [max_len, _] = self.table.weight.dims();
        assert!(
            start + len <= max_len,
            "positions {start}..{} exceed the position table of {max_len}",
            start + len
        );
        let device = self.table.weight.device();
        let ids = Tensor::<1, Int>::arange(start as i64..(start + len) as i64, &device)
            .reshape([1, len])
            .expand([batch, len]);
        self.table.forward(ids)
    }

    /// Position vectors for explicit position ids `[batch, len]` (e.g. permuted positions in PLM).
    pub fn forward_ids(&self, position_ids: Tensor<2, Int>) -> Tensor<3> {
        self.table.forward(position_ids)
    }
}

/// Angles `p·θᵢ` as a `[len, dim/2]` tensor for positions `start..start+len`.
fn angles(len: usize, dim: usize, start: usize, base: f64, device: &Device) -> Tensor<2> {
    let half = dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| base.powf(-2.0 * i as f64 / dim as f64) as f32)
        .collect();
    let inv_freq = Tensor::<1>::from_floats(inv_freq.as_slice(), device).reshape([1, half]);
    let pos = Tensor::<1, Int>::arange(start as i64..(start + len) as i64, device)
        .float()
        .reshape([len, 1]);
    pos.mul(inv_freq)
}

/// Interleave two `[.., n]` tensors into `[.., 2n]`: `a0, b0, a1, b1, …`.
fn interleave<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let mut dims = a.dims();
    dims[D - 1] *= 2;
    // Stack on a new last axis then flatten it into the previous one.
    let stacked: Tensor<3> = Tensor::stack::<3>(
        vec![
            a.reshape([-1, dims[D - 1] as i32 / 2]),
            b.reshape([-1, dims[D - 1] as i32 / 2]),
        ],
        2,
    );
    stacked.reshape(dims)
}

/// Sinusoidal position table `[len, dim]` for positions `start..start+len`, interleaved
/// `[sin, cos]` pairs with base 10000.
///
/// # Panics
/// Panics if `dim` is odd.
pub fn sinusoidal(len: usize, dim: usize, start: usize, device: &Device) -> Tensor<2> {
    assert!(
        dim.is_multiple_of(2),
        "sinusoidal embedding needs an even dim, got {dim}"
    );
    let a = angles(len, dim, start, 10000.0, device);
    interleave(a.clone().sin(), a.cos())
}

/// Rotate `x: [batch, heads, len, dim]` by RoPE for positions `start..start+len`:
/// each pair `(x₂ᵢ, x₂ᵢ₊₁)` at position `p` is rotated by the angle `p·θᵢ`,
/// `θᵢ = base^(−2i/dim)`. Then `⟨R(m)q, R(n)k⟩` depends only on `m − n`.
///
/// # Panics
/// Panics if `dim` is odd.
pub fn apply_rotary(x: Tensor<4>, start: usize, base: f64) -> Tensor<4> {
    let [batch, heads, len, dim] = x.dims();
    assert!(
        dim.is_multiple_of(2),
        "rotary embedding needs an even dim, got {dim}"
    );
    let device = x.device();
    let a = angles(len, dim, start, base, &device);
    // cos/sin repeated per pair: [1, 1, len, dim].
    let cos = interleave(a.clone().cos(), a.clone().cos()).reshape([1, 1, len, dim]);
    let sin = interleave(a.clone().sin(), a.sin()).reshape([1, 1, len, dim]);
    // rotate_pairs(x) = (−x₁, x₀, −x₃, x₂, …).
    let pairs = x.clone().reshape([batch, heads, len, dim / 2, 2]);
    let even = pairs.clone().slice_dim(4, 0..1);
    let odd = pairs.slice_dim(4, 1..2);
    let rotated = Tensor::cat(vec![odd.neg(), even], 4).reshape([batch, heads, len, dim]);
    x.mul(cos).add(rotated.mul(sin))
}
