//! BERT + CRF tagger over word pieces: BERT encoder → dropout → dense emissions → CRF.
//!
//! bert4keras' People's Daily example: the CRF transitions learn with a large rate multiplier
//! (1000) because BERT is fine-tuned with a small learning rate (2e-5) while the transitions
//! start from zero.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Int, Tensor};
use nlp_core::crf::{Crf, CrfConfig, CrfConstraints};
use nlp_core::mask::padding_from_ids;
use nlp_models::bert::{Bert, BertConfig, BertInput};

use super::crf_tagger::CrfTagger;

/// Configuration of [`BertCrf`].
#[derive(Config, Debug)]
pub struct BertCrfConfig {
    /// The encoder (usually read from a checkpoint; heads off).
    pub bert: BertConfig,
    /// Tag names (BIO), in id order.
    pub tags: Vec<String>,
    /// Dropout on the encoder output.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// bert4keras' CRF `lr_multiplier` (transitions = m · raw).
    #[config(default = 1000.0)]
    pub crf_lr_multiplier: f64,
}

/// The tagger.
#[derive(Module, Debug)]
pub struct BertCrf {
    /// The encoder.
    pub bert: Bert,
    /// Dropout on the encoder output.
    pub dropout: Dropout,
    /// Emission scores per tag.
    pub emissions: Linear,
    /// The CRF.
    pub crf: Crf,
}

impl BertCrfConfig {
    /// Build the model with a randomly initialised encoder (weights are loaded afterwards,
    /// e.g. by `load_weights` from a saved run).
    pub fn init(&self, device: &Device) -> BertCrf {
        self.init_with_bert(self.bert.init(device), device)
    }

    /// Build the model around an already loaded encoder (a pretrained checkpoint).
    pub fn init_with_bert(&self, bert: Bert, device: &Device) -> BertCrf {
        let crf = CrfConfig::new(self.tags.len())
            .with_lr_multiplier(self.crf_lr_multiplier)
            .init(device)
            .with_constraints(CrfConstraints::bio(&self.tags))
            .expect("constraints built from the same tags");
        BertCrf {
            bert,
            dropout: DropoutConfig::new(self.dropout).init(),
            emissions: LinearConfig::new(self.bert.hidden_size, self.tags.len()).init(device),
            crf,
        }
    }
}

impl CrfTagger for BertCrf {
    fn forward(&self, ids: Tensor<2, Int>) -> (Tensor<3>, Tensor<2, Bool>) {
        let mask = padding_from_ids(ids.clone(), 0);
        let hidden = self
            .bert
            .forward(BertInput::new(ids).padding(mask.clone()))
            .last_hidden_state;
        (self.emissions.forward(self.dropout.forward(hidden)), mask)
    }

    fn crf(&self) -> &Crf {
        &self.crf
    }
}
