//! BERT: config, model, checkpoint loading (Hugging Face safetensors or `pytorch_model.bin`,
//! Google TF) and saving.
//!
//! ```no_run
//! use nlp_models::bert::{BertCheckpoint, BertInput, BertMode, LoadOptions};
//! # fn main() -> nlp_models::Result<()> {
//! let device = nlp_core::device::default_device();
//! let ckpt = BertCheckpoint::open("data-cache/minilm")?;
//! let config = ckpt.config.clone().with_mode(BertMode::Encoder);
//! let (model, _report) = ckpt.load(&config, &LoadOptions::default(), &device)?;
//! # let ids = burn::tensor::Tensor::<2, burn::tensor::Int>::zeros([1, 4], &device);
//! let out = model.forward(BertInput::new(ids));
//! # Ok(()) }
//! ```

mod config;
mod embeddings;
mod heads;
mod layer;
mod model;
mod weights;

pub use config::{BertConfig, BertMode, ConfigFlavor};
pub use embeddings::BertEmbeddings;
pub use heads::{BertMlmHead, BertNspHead, BertPooler};
pub use layer::BertLayer;
pub use model::{Bert, BertCache, BertInput, BertOutput};
pub use weights::{LoadOptions, LoadReport, Naming, detect_naming, load_weights, save_safetensors};

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::checkpoint::{PytorchFile, SafetensorsFile, TensorSource, TfCheckpoint};
use crate::error::{Error, Result};

/// Which kind of checkpoint directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    /// `config.json` + `model.safetensors`.
    HuggingFace,
    /// `config.json` + `pytorch_model.bin` (Hugging Face before safetensors; used only when
    /// there is no `model.safetensors`).
    HuggingFacePytorch,
    /// `bert_config.json` + `bert_model.ckpt.index` + `bert_model.ckpt.data-*`.
    GoogleTf,
}

/// An opened checkpoint directory: its config and its tensors.
pub struct BertCheckpoint {
    /// The directory.
    pub dir: PathBuf,
    /// Detected kind.
    pub kind: CheckpointKind,
    /// The architecture from the config file (mode and heads at their defaults: encoder,
    /// pooler only when the checkpoint has one).
    pub config: BertConfig,
    /// The tensors.
    pub source: Box<dyn TensorSource>,
}

impl std::fmt::Debug for BertCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertCheckpoint")
            .field("dir", &self.dir)
            .field("kind", &self.kind)
            .field("config", &self.config)
            .finish()
    }
}

/// The TF checkpoint prefix in `dir`: `bert_model.ckpt`, or the only `*.index` file.
fn tf_prefix(dir: &Path) -> Option<PathBuf> {
    let default = dir.join("bert_model.ckpt");
    if dir.join("bert_model.ckpt.index").is_file() {
        return Some(default);
    }
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "index"));
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(first.with_extension(""))
}

impl BertCheckpoint {
    /// Open `dir`, detecting a Hugging Face or a Google TF checkpoint.
    ///
    /// Looked for in this order: `config.json` + `model.safetensors`; `config.json` +
    /// `pytorch_model.bin` (Hugging Face's older format; not used when `model.safetensors` is
    /// there too); a single `*.ckpt.index` + `bert_config.json` (or `config.json`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(Error::NotACheckpoint {
                path: dir,
                reason: "not a directory".into(),
            });
        }
        let (kind, config, source): (_, BertConfig, Box<dyn TensorSource>) =
            if dir.join("model.safetensors").is_file() {
                let config = BertConfig::from_hf_json(dir.join("config.json"))?;
                let source = SafetensorsFile::open(dir.join("model.safetensors"))?;
                (CheckpointKind::HuggingFace, config, Box::new(source))
            } else if dir.join("pytorch_model.bin").is_file()
                && (dir.join("config.json").is_file() || tf_prefix(&dir).is_none())
            {
                let config = BertConfig::from_hf_json(dir.join("config.json"))?;
                let source = PytorchFile::open(dir.join("pytorch_model.bin"))?;
                (CheckpointKind::HuggingFacePytorch, config, Box::new(source))
            } else if let Some(prefix) = tf_prefix(&dir) {
                let config_path = ["bert_config.json", "config.json"]
                    .iter()
                    .map(|n| dir.join(n))
                    .find(|p| p.is_file())
                    .unwrap_or_else(|| dir.join("bert_config.json"));
                let config = BertConfig::from_google_json(&config_path)?;
                let source = TfCheckpoint::open(&prefix)?;
                (CheckpointKind::GoogleTf, config, Box::new(source))
            } else {
                return Err(Error::NotACheckpoint {
                    path: dir,
                    reason:
                        "no model.safetensors or pytorch_model.bin (Hugging Face) or *.ckpt.index \
                         (Google TF checkpoint) found"
                            .into(),
                });
            };
        let naming = detect_naming(source.as_ref())?;
        let has_pooler = match &naming {
            Naming::HuggingFace { prefix } => {
                source.contains(&format!("{prefix}pooler.dense.weight"))
            }
            Naming::GoogleTf => source.contains("bert/pooler/dense/kernel"),
        };
        let config = config.with_with_pool(has_pooler);
        Ok(Self {
            dir,
            kind,
            config,
            source,
        })
    }

    /// Build the model described by `config` (usually `self.config` with a mode and heads
    /// chosen) on `device` and fill it with the checkpoint's weights.
    pub fn load(
        &self,
        config: &BertConfig,
        options: &LoadOptions,
        device: &Device,
    ) -> Result<(Bert, LoadReport)> {
        let mut model = config.init(device);
        let report = load_weights(&mut model, self.source.as_ref(), options, device)?;
        let model = match &options.keep_tokens {
            Some(keep) => model.keep_tokens(keep)?,
            None => model,
        };
        Ok((model, report))
    }
}

impl Bert {
    /// Open a checkpoint directory and load it as an encoder (with its pooler when present).
    pub fn load(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let ckpt = BertCheckpoint::open(dir)?;
        Ok(ckpt.load(&ckpt.config, &LoadOptions::default(), device)?.0)
    }

    /// Save as a Hugging Face directory: `config.json` + `model.safetensors`.
    pub fn save_pretrained(&self, config: &BertConfig, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut json = config.to_hf_json();
        json["vocab_size"] = self.vocab_size().into();
        let config_path = dir.join("config.json");
        std::fs::write(
            &config_path,
            serde_json::to_string_pretty(&json).expect("JSON"),
        )
        .map_err(|e| Error::io(&config_path, e))?;
        save_safetensors(self, &dir.join("model.safetensors"))
    }
}
