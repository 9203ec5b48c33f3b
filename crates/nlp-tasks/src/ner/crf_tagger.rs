//! What the NER models share: emission scores from unit ids with a CRF on top. Loss and
//! Viterbi decoding come with the trait, so each model writes only its encoder.

use burn::tensor::{Bool, Int, Tensor};
use nlp_core::crf::Crf;

/// A sequence tagger: an encoder giving emission scores, and a CRF.
pub trait CrfTagger {
    /// Emission scores `[batch, len, tags]` and the padding mask for unit ids `[batch, len]`
    /// (padding id 0).
    fn forward(&self, ids: Tensor<2, Int>) -> (Tensor<3>, Tensor<2, Bool>);

    /// The CRF over the emissions.
    fn crf(&self) -> &Crf;

    /// Mean CRF negative log-likelihood of gold tags `[batch, len]`.
    fn loss(&self, ids: Tensor<2, Int>, tags: Tensor<2, Int>) -> Tensor<1> {
        let (emissions, mask) = self.forward(ids);
        self.crf().loss(emissions, tags, mask)
    }

    /// Viterbi tag ids of each sequence, of its real length.
    fn decode(&self, ids: Tensor<2, Int>) -> Vec<Vec<usize>> {
        let (emissions, mask) = self.forward(ids);
        self.crf().decode(emissions, mask)
    }
}
