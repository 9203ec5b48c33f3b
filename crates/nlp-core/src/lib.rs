//! Tensor ops and layers shared by every bert4burn model.
//!
//! Everything here runs on any Burn device (`flex`, `ndarray`, `cpu`, `wgpu`, `cuda`): tensors carry
//! no backend type, the backend is the runtime [`burn::tensor::Device`] chosen with [`device::parse_device`].
//!
//! # Mask convention
//! All attention masks in the workspace are boolean tensors of shape `[batch, queries, keys]`
//! where **`true` means "query may attend to key"** (visible). Padding masks are `[batch, len]`
//! with `true` on real tokens. See [`mask`].
//!
//! # Map
//! - [`mask`]: padding, LM (causal), UniLM (seq2seq) and PLM (permutation) masks.
//! - [`attention`]: multi-head attention with masks, additive biases and a key/value cache.
//! - [`position`]: learned, sinusoidal and rotary (RoPE) position embeddings.
//! - [`norm`]: LayerNorm with configurable epsilon and Conditional LayerNorm.
//! - [`activation`]: GELU (erf and tanh forms) and friends by name.
//! - [`kernels`]: fused CPU kernels (dense layer, GELU, streaming attention, each with its
//!   backward) behind Burn's backend extension, taken on `flex` and composed from Burn's ops on
//!   every other backend.
//! - [`crf`]: linear-chain CRF (NLL by the forward algorithm, Viterbi decoding).
//! - [`decode`]: half-pointer span decoding, BIO/BIOES tags ↔ typed spans.
//! - [`padding`]: padding/truncation of ragged id sequences, splitting long texts.
//! - [`reparam`]: straight-through estimator and Gumbel-softmax.
//! - [`device`]: turn a `--device` string into a [`burn::tensor::Device`].
//! - [`Error`]: the crate's one error type.

pub mod activation;
pub mod attention;
pub mod crf;
pub mod decode;
pub mod device;
mod error;
pub mod kernels;
pub mod mask;
pub mod norm;
pub mod padding;
pub mod position;
pub mod reparam;

pub use burn;
pub use error::{Error, Result};
