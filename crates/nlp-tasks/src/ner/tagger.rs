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
use super::peoples_daily::NerError;
use super::task::predict_spans;
use super::vocab::CharVocab;
use crate::train::load_weights;

/// The config file of a tagger directory.
pub const CONFIG_FILE: &str = "model.json";
/// The vocabulary file of a tagger directory.
pub const VOCAB_FILE: &str = "vocab.json";
/// The weights as training writes them (full precision burnpack).
pub const TRAINED_WEIGHTS: &str = "best.bpk";
/// The weights as [`DgcnnTagger::export`] writes them (half-precision safetensors).
pub const SHIPPED_WEIGHTS: &str = "model.safetensors";

/// A DGCNN + CRF model with its vocabulary.
pub struct DgcnnTagger {
    model: DgcnnCrf,
    vocab: CharVocab,
    config: DgcnnCrfConfig,
}

fn model_error(path: &Path, what: impl Into<String>) -> NerError {
    NerError::Model {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, NerError> {
    std::fs::read(path).map_err(|source| NerError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl DgcnnTagger {
    /// Put a trained model and its vocabulary together (the vocabulary must fit the config).
    pub fn new(model: DgcnnCrf, vocab: CharVocab, config: DgcnnCrfConfig) -> Self {
        Self {
            model,
            vocab,
            config,
        }
    }

    /// Load a tagger directory (see the module docs): `model.safetensors` when present, else
    /// `best.bpk`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, NerError> {
        if !dir.is_dir() {
            return Err(model_error(dir, "not a directory"));
        }
        let (config, vocab) = Self::parts(
            &dir.join(CONFIG_FILE),
            &read(&dir.join(CONFIG_FILE))?,
            &dir.join(VOCAB_FILE),
            &read(&dir.join(VOCAB_FILE))?,
        )?;
        let shipped = dir.join(SHIPPED_WEIGHTS);
        let trained = dir.join(TRAINED_WEIGHTS);
        let model = if shipped.is_file() {
            load_safetensors(config.init(device), read(&shipped)?, &shipped)?
        } else if trained.is_file() {
            load_weights(config.init(device), &trained)
                .map_err(|e| model_error(&trained, e.to_string()))?
        } else {
            return Err(model_error(
                dir,
                format!("holds neither {SHIPPED_WEIGHTS} nor {TRAINED_WEIGHTS}"),
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
    ) -> Result<Self, NerError> {
        let (config, vocab) = Self::parts(
            &origin.join(CONFIG_FILE),
            config,
            &origin.join(VOCAB_FILE),
            vocab,
        )?;
        let model = load_safetensors(
            config.init(device),
            safetensors.to_vec(),
            &origin.join(SHIPPED_WEIGHTS),
        )?;
        Ok(Self::new(model, vocab, config))
    }

    /// Parse and cross-check the config and the vocabulary.
    fn parts(
        config_path: &Path,
        config: &[u8],
        vocab_path: &Path,
        vocab: &[u8],
    ) -> Result<(DgcnnCrfConfig, CharVocab), NerError> {
        let config = DgcnnCrfConfig::load_binary(config)
            .map_err(|e| model_error(config_path, format!("not a DGCNN + CRF config: {e}")))?;
        let vocab: CharVocab = serde_json::from_slice::<CharVocab>(vocab)
            .map_err(|e| model_error(vocab_path, format!("not a character vocabulary: {e}")))?
            .reindexed();
        if vocab.len() != config.vocab_size {
            return Err(model_error(
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
            return Err(model_error(config_path, "no tags"));
        }
        Ok((config, vocab))
    }

    /// Write `model.json`, `vocab.json` and half-precision `model.safetensors` into `dir`
    /// (created if missing). Each file is written under a temporary name and renamed, so an
    /// interrupted export never leaves a file that looks complete.
    pub fn export(&self, dir: &Path) -> Result<(), NerError> {
        std::fs::create_dir_all(dir).map_err(|source| NerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let weights_path = dir.join(SHIPPED_WEIGHTS);
        let mut store = SafetensorsStore::from_bytes(None)
            .with_to_adapter(FloatCastAdapter::to(DType::F16))
            .metadata("format", "bert4burn DGCNN + CRF tagger");
        self.model
            .save_into(&mut store)
            .map_err(|e| model_error(&weights_path, e.to_string()))?;
        let weights = store
            .get_bytes()
            .map_err(|e| model_error(&weights_path, e.to_string()))?;
        let vocab = serde_json::to_vec(&self.vocab).expect("vocabulary serialises");
        write_atomic(
            &dir.join(CONFIG_FILE),
            config_to_json(&self.config).as_bytes(),
        )?;
        write_atomic(&dir.join(VOCAB_FILE), &vocab)?;
        write_atomic(&weights_path, &weights)
    }

    /// Entity spans (character offsets) of each text, batched by length.
    pub fn tag(&self, texts: &[&str], batch_size: usize) -> Vec<Vec<Span>> {
        predict_spans(
            &self.model,
            &self.vocab,
            &self.config.tags,
            texts,
            batch_size,
        )
    }

    /// The model.
    pub fn model(&self) -> &DgcnnCrf {
        &self.model
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &CharVocab {
        &self.vocab
    }

    /// The model's config (tags, widths).
    pub fn config(&self) -> &DgcnnCrfConfig {
        &self.config
    }
}

/// Load safetensors bytes into `model`, converting half precision back to `f32`; every tensor of
/// the model must be there with its shape.
fn load_safetensors(
    mut model: DgcnnCrf,
    bytes: Vec<u8>,
    path: &Path,
) -> Result<DgcnnCrf, NerError> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(FloatCastAdapter::to(DType::F32))
        .allow_partial(false)
        .validate(true);
    let result = model
        .load_from(&mut store)
        .map_err(|e| model_error(path, e.to_string()))?;
    if let Some(e) = result.errors.first() {
        return Err(model_error(path, e.to_string()));
    }
    if let Some((name, _)) = result.missing.first() {
        return Err(model_error(path, format!("tensor `{name}` is missing")));
    }
    Ok(model)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), NerError> {
    crate::train::write_atomic(path, bytes).map_err(|e| model_error(path, e.to_string()))
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
