//! Fused CPU kernels behind Burn's backend extension, with the composed ops everywhere else.
//!
//! Kernels: GELU (erf and tanh forms), scaled-dot-product attention with a mask, and the dense
//! layer `x·W + b`, each with its backward pass; and one Adam step ([`adam_step`]) for the
//! optimizers.
//!
//! Each public function here takes ordinary tensors. On the `flex` CPU backend (with or without
//! autodiff) and `f32` data it runs one fused kernel of this crate — vectorised for the CPU it
//! finds at run time (AVX-512, AVX2 + FMA or the baseline) and split across rayon threads — with
//! a hand-written backward pass. On every other device and dtype it composes Burn's own ops,
//! exactly as before the kernels existed, so GPU backends keep their fused graphs.
//!
//! [`set_fused`] (or `BERT4BURN_FUSED=0` in the environment) switches the kernels off for the
//! whole process, to compare the two paths.

pub mod adam;
#[cfg(feature = "flex")]
pub mod dense;
#[cfg(feature = "flex")]
pub mod few_rows;
pub mod math;
#[cfg(feature = "flex")]
pub mod sdpa;
pub mod simd;

#[cfg(feature = "flex")]
mod extension;

use std::sync::atomic::{AtomicU8, Ordering};

use burn::nn::Linear;
use burn::tensor::module;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, DType, Device, Tensor, activation};

/// A read-only strided `R`-dimensional view into a slice of f32, as the host kernels take their
/// tensors (strided views of flex storage, never copied).
#[cfg(feature = "flex")]
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, const R: usize> {
    /// The whole storage.
    pub data: &'a [f32],
    /// Offset of the first element.
    pub offset: usize,
    /// Sizes.
    pub shape: [usize; R],
    /// Strides in elements (negative for flipped axes).
    pub strides: [isize; R],
}

#[cfg(feature = "flex")]
impl<const R: usize> Strided<'_, R> {
    /// Panics unless every element the view addresses lies inside `data`: the kernels check
    /// their views once, then index without further checks.
    fn check(&self) {
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (&n, &s) in self.shape.iter().zip(&self.strides) {
            if n == 0 {
                return;
            }
            let reach = (n as isize - 1) * s;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        assert!(
            lo >= 0 && (hi as usize) < self.data.len(),
            "fused kernel: a strided view reaches outside its storage"
        );
    }
}

/// Which GELU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeluForm {
    /// `x·Φ(x)` with the exact normal CDF (BERT's `gelu`).
    Erf,
    /// `x·(1 + tanh(√(2/π)(x + 0.044715x³)))/2` (`gelu_new`).
    Tanh,
}

/// 0 = not yet read from the environment, 1 = on, 2 = off.
static FUSED: AtomicU8 = AtomicU8::new(0);

/// Switch the fused kernels on or off for the whole process (default: on, unless the
/// environment has `BERT4BURN_FUSED=0`).
pub fn set_fused(on: bool) {
    FUSED.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether the fused kernels are switched on.
pub fn fused_enabled() -> bool {
    match FUSED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let on = std::env::var("BERT4BURN_FUSED").map_or(true, |v| v.trim() != "0");
            set_fused(on);
            on
        }
    }
}

/// Whether a tensor on `device` with `dtype` takes the fused kernels: the `flex` backend, with
/// or without autodiff, `f32`, and the kernels switched on.
pub fn takes_fused_path(device: &Device, dtype: DType) -> bool {
    #[cfg(feature = "flex")]
    {
        use burn::backend::DispatchDevice;
        let on_flex = match device.as_dispatch() {
            DispatchDevice::Flex(_) => true,
            DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
            #[allow(unreachable_patterns)]
            _ => false,
        };
        on_flex && dtype == DType::F32 && fused_enabled()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (device, dtype);
        false
    }
}

/// GELU in the given form: the fused kernel where [`takes_fused_path`] says so, Burn's
/// `gelu` / `gelu_approximate` otherwise.
pub fn gelu<const D: usize>(x: Tensor<D>, form: GeluForm) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if takes_fused_path(&x.device(), x.dtype()) {
        return extension::gelu(x, form);
    }
    match form {
        GeluForm::Erf => activation::gelu(x),
        GeluForm::Tanh => activation::gelu_approximate(x),
    }
}

/// `softmax(Q·Kᵀ/√d + bias, mask)·V` for `q: [b, h, lq, d]`, `k: [b, h, lk, d]`,
/// `v: [b, h, lk, dv]`, `mask: [b, lq, lk]` (`true` = visible) and a bias broadcastable to
/// `[b, h, lq, lk]`: hidden keys get exactly zero probability and a query with no visible key
/// gets a zero output. Without a bias, where [`takes_fused_path`] says so, this crate's streaming
/// kernel (memory linear in the length) with its backward pass; otherwise Burn's own fused op
/// (flash or tiled on the CPU, FlashAttention on GPUs).
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<3, Bool>>,
    bias: Option<Tensor<4>>,
) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if bias.is_none() && takes_fused_path(&q.device(), q.dtype()) {
        return extension::attention(q, k, v, mask);
    }
    let [batch, heads, len_q, _] = q.dims();
    let len_k = k.dims()[2];
    let shape = [batch, heads, len_q, len_k];
    // Burn's op takes `true` = hidden.
    let hidden = mask.map(|m| m.bool_not().unsqueeze_dim::<4>(1).expand(shape));
    let bias = bias.map(|b| b.expand(shape));
    module::attention(q, k, v, hidden, bias, AttentionModuleOptions::default())
}

/// `layer.forward(x)` (`x·W + b` over the last axis) through [`affine`].
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    affine(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// `x·weight + bias` over the last axis of `x` (`weight: [d_in, d_out]`, any strides, so a
/// transposed embedding serves as an output layer without a copy): one multi-threaded gemm over
/// all rows with the bias written first, where [`takes_fused_path`] says so; Burn's
/// `module::linear` (what `Linear::forward` runs) otherwise.
pub fn affine<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if takes_fused_path(&x.device(), x.dtype()) {
        return extension::linear(x, weight, bias);
    }
    module::linear(x, weight, bias)
}

/// Adam's settings for one step of one parameter (see [`adam_step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamHyper {
    /// Decay of the first moment, β₁.
    pub beta_1: f64,
    /// Decay of the second moment, β₂.
    pub beta_2: f64,
    /// Added to the corrected root of the second moment.
    pub epsilon: f64,
    /// Learning rate γ.
    pub lr: f64,
    /// Bias correction of the first moment, 1 − β₁ᵗ (1 without correction).
    pub correction_1: f64,
    /// Bias correction of the second moment, 1 − β₂ᵗ (1 without correction).
    pub correction_2: f64,
}

/// One Adam step: the new moments `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²` (from zeros when
/// `moments` is `None`) and the step `δ = (γ/c₁)·m / (√v/√c₂ + ε)`, returned as `(m, v, δ)`.
/// One pass of [`adam::step`] where [`takes_fused_path`] says so (the moments updated in place
/// when nothing else holds them); Burn's composed ops otherwise, with the same f32 results.
pub fn adam_step<const D: usize>(
    grad: Tensor<D>,
    moments: Option<(Tensor<D>, Tensor<D>)>,
    h: AdamHyper,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    #[cfg(feature = "flex")]
    if takes_fused_path(&grad.device(), grad.dtype()) {
        let (m, v) = moments.unwrap_or_else(|| (grad.zeros_like(), grad.zeros_like()));
        let scalars = adam::AdamScalars {
            beta_1: h.beta_1 as f32,
            one_minus_beta_1: (1.0 - h.beta_1) as f32,
            beta_2: h.beta_2 as f32,
            one_minus_beta_2: (1.0 - h.beta_2) as f32,
            inv_sqrt_correction_2: (1.0 / h.correction_2.sqrt()) as f32,
            epsilon: h.epsilon as f32,
            step: (h.lr / h.correction_1) as f32,
        };
        return extension::adam(grad, m, v, scalars);
    }
    let (m, v) = match moments {
        Some((m, v)) => (
            m.mul_scalar(h.beta_1) + grad.clone().mul_scalar(1.0 - h.beta_1),
            v.mul_scalar(h.beta_2) + grad.square().mul_scalar(1.0 - h.beta_2),
        ),
        None => (
            grad.clone().mul_scalar(1.0 - h.beta_1),
            grad.square().mul_scalar(1.0 - h.beta_2),
        ),
    };
    let denominator = v
        .clone()
        .sqrt()
        .mul_scalar(1.0 / h.correction_2.sqrt())
        .add_scalar(h.epsilon);
    let delta = m.clone().mul_scalar(h.lr / h.correction_1) / denominator;
    (m, v, delta)
}
