//! DGCNN + CRF tagger over characters: embedding → DGCNN stack → dense emissions → CRF.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Int, Tensor};
use nlp_core::crf::{Crf, CrfConfig, CrfConstraints};
use nlp_core::mask::padding_from_ids;
use nlp_models::dgcnn::{Dgcnn, DgcnnConfig};

use super::crf_tagger::CrfTagger;

/// Configuration of [`DgcnnCrf`].
#[derive(Config, Debug)]
pub struct DgcnnCrfConfig {
    /// Character vocabulary size (with padding and unknown).
    pub vocab_size: usize,
    /// Tag names (BIO), in id order.
    pub tags: Vec<String>,
    /// Width of the embedding and of every DGCNN block.
    #[config(default = 128)]
    pub d_model: usize,
    /// Dilations of the DGCNN blocks.
    #[config(default = "vec![1, 2, 5, 1, 2, 5, 1, 2, 5, 1, 1, 1]")]
    pub dilations: Vec<usize>,
    /// Dropout after the embedding.
    #[config(default = 0.25)]
    pub embedding_dropout: f64,
    /// Dropout on the DGCNN gates.
    #[config(default = 0.1)]
    pub gate_dropout: f64,
    /// bert4keras' CRF `lr_multiplier` (transitions = m · raw).
    #[config(default = 10.0)]
    pub crf_lr_multiplier: f64,
}

/// The tagger.
#[derive(Module, Debug)]
pub struct DgcnnCrf {
    /// Character embedding.
    pub embedding: Embedding,
    /// Dropout after the embedding.
    pub dropout: Dropout,
    /// The convolution stack.
    pub dgcnn: Dgcnn,
    /// Emission scores per tag.
    pub emissions: Linear,
    /// The CRF.
    pub crf: Crf,
}

impl DgcnnCrfConfig {
    /// Build the model (BIO constraints on the CRF).
    pub fn init(&self, device: &burn::tensor::Device) -> DgcnnCrf {
        let crf = CrfConfig::new(self.tags.len())
            .with_lr_multiplier(self.crf_lr_multiplier)
            .init(device)
            .with_constraints(CrfConstraints::bio(&self.tags))
            .expect("constraints built from the same tags");
        DgcnnCrf {
            embedding: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            dropout: DropoutConfig::new(self.embedding_dropout).init(),
            dgcnn: DgcnnConfig::new(self.d_model)
                .with_dilations(self.dilations.clone())
                .with_gate_dropout(self.gate_dropout)
                .init(device),
            emissions: LinearConfig::new(self.d_model, self.tags.len()).init(device),
            crf,
        }
    }
}

impl CrfTagger for DgcnnCrf {
    fn forward(&self, ids: Tensor<2, Int>) -> (Tensor<3>, Tensor<2, Bool>) {
        let mask = padding_from_ids(ids.clone(), crate::units::PAD);
        let x = self.dropout.forward(self.embedding.forward(ids));
        let h = self.dgcnn.forward(x, &mask);
        (self.emissions.forward(h), mask)
    }

    fn crf(&self) -> &Crf {
        &self.crf
    }
}
