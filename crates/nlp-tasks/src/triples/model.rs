//! What both extraction models offer: an encoding of a batch, subject pointer probabilities,
//! and object pointer probabilities given one subject per row. The loss, decoding and scoring
//! are written once against this trait.

use burn::module::Module;
use burn::tensor::{Bool, Int, Tensor};

use super::decoding::Thresholds;

/// A model factoring P(s, p, o) = P(s) · P(o, p | s) with half-pointer heads.
pub trait TripleModel: Module {
    /// Whatever the heads need from one encoder pass.
    type State: Clone;

    /// Encode unit ids `[batch, len]` (padding id 0).
    fn encode(&self, ids: Tensor<2, Int>) -> Self::State;

    /// The padding mask `[batch, len]` of a state (`true` = real unit).
    fn padding(&self, state: &Self::State) -> Tensor<2, Bool>;

    /// Subject probabilities `[batch, len, 2]` (start, end).
    fn subject_probs(&self, state: &Self::State) -> Tensor<3>;

    /// Object probabilities `[n, len, predicates, 2]` for `n` subjects: subject `k` lies in batch
    /// row `rows[k]` and spans units `subjects[k, 0]..=subjects[k, 1]`.
    fn object_probs(
        &self,
        state: &Self::State,
        rows: Tensor<1, Int>,
        subjects: Tensor<2, Int>,
    ) -> Tensor<4>;

    /// Number of predicates.
    fn num_predicates(&self) -> usize;

    /// Decoding thresholds of subjects and objects.
    fn thresholds(&self) -> Thresholds;
}

/// Vectors of `x: [batch, len, d]` at one position per row (`index: [batch]`) → `[batch, d]`.
pub fn gather_positions(x: Tensor<3>, index: Tensor<1, Int>) -> Tensor<2> {
    let [batch, _, d] = x.dims();
    let index = index.reshape([batch, 1, 1]).expand([batch, 1, d]);
    x.gather(1, index).reshape([batch, d])
}

/// Element-wise binary cross-entropy of probabilities (clipped to `[1e-7, 1 − 1e-7]`, as Keras
/// does).
pub fn bce<const D: usize>(probs: Tensor<D>, labels: Tensor<D>) -> Tensor<D> {
    let p = probs.clamp(1e-7, 1.0 - 1e-7);
    let one_minus = p.clone().neg().add_scalar(1.0);
    labels
        .clone()
        .mul(p.log())
        .add(labels.neg().add_scalar(1.0).mul(one_minus.log()))
        .neg()
}

/// Mean of a per-position loss `[batch, len]` over the real positions of `padding`.
pub fn masked_mean(loss: Tensor<2>, padding: Tensor<2, Bool>) -> Tensor<1> {
    let mask = padding.float();
    loss.mul(mask.clone()).sum().div(mask.sum().clamp_min(1.0))
}
