//! A trained DGCNN + CRF tagger as one directory, ready to tag text:
//!
//! - `model.json`: the [`DgcnnCrfConfig`] (vocabulary size, tags, widths);
//! - `vocab.json`: the [`CharVocab`];
//! - the weights: `best.bpk` (burnpack, what the `ner` example's training writes) or
//!   `model.safetensors` (half precision, what [`DgcnnTagger::export`] writes for shipping).
//!
//! Loading checks that the parts fit together (vocabulary against config, every tensor's shape
//! against the model) and names the file that does not.

use std::path::Path;

use burn::config::{Config, config_to_json};
use burn::store::{FloatCastAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{DType, Device};
use nlp_core::decode::Span;

use super::dgcnn_crf::{DgcnnCrf, DgcnnCrfConfig};
use super::task::predict_spans;
use crate::error::{Error, Result};
use crate::train::{load_weights, write_atomic};
use crate::units::{CharVocab, UnitEncoder};

/// A DGCNN + CRF model with its vocabulary.
pub struct DgcnnTagger {
    model: DgcnnCrf,
    /// Characters through the vocabulary; texts are never cut (the DGCNN reads any length).
    encoder: UnitEncoder,
    config: DgcnnCrfConfig,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(Error::io(path))
}

impl DgcnnTagger {
    /// The config file of a tagger directory.
    pub const CONFIG_FILE: &str = "model.json";
    /// The vocabulary file of a tagger directory.
    pub const VOCAB_FILE: &str = "vocab.json";
    /// The weights as training writes them (full precision burnpack).
    pub const TRAINED_WEIGHTS: &str = "best.bpk";
    /// The weights as [`DgcnnTagger::export`] writes them (half-precision safetensors).
    pub const SHIPPED_WEIGHTS: &str = "model.safetensors";

    /// Put a trained model and its vocabulary together (the vocabulary must fit the config).
    pub fn new(model: DgcnnCrf, vocab: CharVocab, config: DgcnnCrfConfig) -> Self {
        Self {
            model,
            encoder: UnitEncoder::Chars {
                vocab,
                max_len: usize::MAX,
            },
            config,
        }
    }

    /// Load a tagger directory (see the module docs): `model.safetensors` when present, else
    /// `best.bpk`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::invalid(dir, "not a directory"));
        }
        let (config, vocab) = Self::parts(
            &dir.join(Self::CONFIG_FILE),
            &read(&dir.join(Self::CONFIG_FILE))?,
            &dir.join(Self::VOCAB_FILE),
            &read(&dir.join(Self::VOCAB_FILE))?,
        )?;
        let shipped = dir.join(Self::SHIPPED_WEIGHTS);
        let trained = dir.join(Self::TRAINED_WEIGHTS);
        let model = if shipped.is_file() {
            load_safetensors(config.init(device), read(&shipped)?, &shipped)?
        } else if trained.is_file() {
            load_weights(config.init(device), &trained)
                .map_err(|e| Error::invalid(&trained, e.to_string()))?
        } else {
            return Err(Error::invalid(
                dir,
                format!(
                    "holds neither {} nor {}",
                    Self::SHIPPED_WEIGHTS,
                    Self::TRAINED_WEIGHTS
                ),
            ));
        };
        Ok(Self::new(model, vocab, config))
    }

    /// Build from the bytes of `model.json`, `vocab.json` and `model.safetensors` (for a
    /// tagger embedded in a binary); `origin` names them in errors.
    pub fn from_bytes(
        config: &[u8],
        vocab: &[u8],
        safetensors: &[u8],
        origin: &Path,
        device: &Device,
    ) -> Result<Self> {
        let (config, vocab) = Self::parts(
            &origin.join(Self::CONFIG_FILE),
            config,
            &origin.join(Self::VOCAB_FILE),
            vocab,
        )?;
        let model = load_safetensors(
            config.init(device),
            safetensors.to_vec(),
            &origin.join(Self::SHIPPED_WEIGHTS),
        )?;
        Ok(Self::new(model, vocab, config))
    }

    /// Parse and cross-check the config and the vocabulary.
    fn parts(
        config_path: &Path,
        config: &[u8],
        vocab_path: &Path,
        vocab: &[u8],
    ) -> Result<(DgcnnCrfConfig, CharVocab)> {
        let config = DgcnnCrfConfig::load_binary(config)
            .map_err(|e| Error::invalid(config_path, format!("not a DGCNN + CRF config: {e}")))?;
        let vocab: CharVocab = serde_json::from_slice::<CharVocab>(vocab)
            .map_err(|e| Error::invalid(vocab_path, format!("not a character vocabulary: {e}")))?
            .reindexed();
        if vocab.len() != config.vocab_size {
            return Err(Error::invalid(
                vocab_path,
                format!(
                    "{} ids (with padding and unknown) but {} says vocab_size {}",
                    vocab.len(),
                    config_path.display(),
                    config.vocab_size
                ),
            ));
        }
        if config.tags.is_empty() {
            return Err(Error::invalid(config_path, "no tags"));
        }
        Ok((config, vocab))
    }

    /// Write `model.json`, `vocab.json` and half-precision `model.safetensors` into `dir`
    /// (created if missing). Each file is written under a temporary name and renamed, so an
    /// interrupted export never leaves a file that looks complete.
    pub fn export(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let weights_path = dir.join(Self::SHIPPED_WEIGHTS);
        let mut store = SafetensorsStore::from_bytes(None)
            .with_to_adapter(FloatCastAdapter::to(DType::F16))
            .metadata("format", "bert4burn DGCNN + CRF tagger");
        self.model
            .save_into(&mut store)
            .map_err(|e| Error::invalid(&weights_path, e.to_string()))?;
        let weights = store
            .get_bytes()
            .map_err(|e| Error::invalid(&weights_path, e.to_string()))?;
        let UnitEncoder::Chars { vocab, .. } = &self.encoder else {
            return Err(Error::invalid(dir, "the tagger does not read characters"));
        };
        let vocab = serde_json::to_vec(vocab).expect("vocabulary serialises");
        write_atomic(
            &dir.join(Self::CONFIG_FILE),
            config_to_json(&self.config).as_bytes(),
        )?;
        write_atomic(&dir.join(Self::VOCAB_FILE), &vocab)?;
        write_atomic(&weights_path, &weights)
    }

    /// Entity spans (character offsets) of each text, batched by length.
    pub fn tag(&self, texts: &[&str], batch_size: usize) -> Vec<Vec<Span>> {
        predict_spans(
            &self.model,
            &self.encoder,
            &self.config.tags,
            texts,
            batch_size,
        )
        .expect("a character encoder never fails")
    }

    /// The model.
    pub fn model(&self) -> &DgcnnCrf {
        &self.model
    }

    /// How the tagger reads text (characters through its vocabulary).
    pub fn encoder(&self) -> &UnitEncoder {
        &self.encoder
    }

    /// The model's config (tags, widths).
    pub fn config(&self) -> &DgcnnCrfConfig {
        &self.config
    }
}

/// Load safetensors bytes into `model`, converting half precision back to `f32`; every tensor of
/// the model must be there with its shape.
fn load_safetensors(mut model: DgcnnCrf, bytes: Vec<u8>, path: &Path) -> Result<DgcnnCrf> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(FloatCastAdapter::to(DType::F32))
        .allow_partial(false)
        .validate(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| Error::invalid(path, e.to_string()))?;
    if let Some(e) = result.errors.first() {
        return Err(Error::invalid(path, e.to_string()));
    }
    if let Some((name, _)) = result.missing.first() {
        return Err(Error::invalid(path, format!("tensor `{name}` is missing")));
    }
    Ok(model)
}

/// Character ranges of the words of a text after putting entities in: `words` are a
/// segmentation of the text (consecutive pieces, as a segmenter returns them); every entity
/// becomes one word, and a word that crosses an entity boundary is cut there.
pub fn words_with_entities(words: &[&str], entities: &[Span]) -> Vec<std::ops::Range<usize>> {
    let mut cuts = std::collections::BTreeSet::from([0]);
    let mut at = 0;
    for w in words {
        at += w.chars().count();
        cuts.insert(at);
    }
    for e in entities {
        cuts.insert(e.start);
        cuts.insert(e.end.min(at));
    }
    cuts.retain(|&c| !entities.iter().any(|e| e.start < c && c < e.end));
    let cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= at).collect();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}
