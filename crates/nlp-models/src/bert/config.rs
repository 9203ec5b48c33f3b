//! [`BertConfig`]: the architecture, read from Hugging Face `config.json` or Google's
//! `bert_config.json`, plus the build-time choices (mode, heads).

use std::path::Path;

use burn::config::Config;
use nlp_core::activation::Activation;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// How the encoder's attention is masked (bert4keras' `application`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BertMode {
    /// Bidirectional; only padding keys are hidden.
    #[default]
    Encoder,
    /// Causal language model: query `i` sees keys `j <= i`.
    Lm,
    /// UniLM seq2seq: segment 0 is bidirectional, segment 1 sees segment 0 and its own past.
    Unilm,
}

/// Architecture of a BERT plus the parts to build.
#[derive(Config, Debug)]
pub struct BertConfig {
    /// Vocabulary size (rows of the token embedding).
    pub vocab_size: usize,
    /// Width `H` of every hidden vector.
    pub hidden_size: usize,
    /// Number of encoder blocks.
    pub num_hidden_layers: usize,
    /// Attention heads per block.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer and of the MLM transform.
    #[config(default = "Activation::Gelu")]
    pub hidden_act: Activation,
    /// Dropout on embeddings and block outputs.
    #[config(default = 0.1)]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    #[config(default = 0.1)]
    pub attention_probs_dropout_prob: f64,
    /// Length of the learned position table.
    #[config(default = 512)]
    pub max_position_embeddings: usize,
    /// Number of segment (token type) ids.
    #[config(default = 2)]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Id of the padding token (padding masks come from `ids != pad_token_id`).
    #[config(default = 0)]
    pub pad_token_id: usize,
    /// Attention masking mode.
    #[config(default = "BertMode::Encoder")]
    pub mode: BertMode,
    /// Build the pooler (tanh dense on `[CLS]`).
    #[config(default = true)]
    pub with_pool: bool,
    /// Build the masked-LM head (tied to the token embedding).
    #[config(default = false)]
    pub with_mlm: bool,
    /// Build the next-sentence-prediction head (needs the pooler).
    #[config(default = false)]
    pub with_nsp: bool,
}

/// The first of `names` present (and not `null`) in `map`.
fn lookup<'m>(
    map: &'m Map<String, Value>,
    names: &[&'static str],
) -> Option<(&'static str, &'m Value)> {
    names
        .iter()
        .find_map(|&n| map.get(n).filter(|v| !v.is_null()).map(|v| (n, v)))
}

/// Which file convention a config came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFlavor {
    /// Hugging Face `config.json`.
    HuggingFace,
    /// Google's `bert_config.json`.
    Google,
}

impl BertConfig {
    /// Read a Hugging Face `config.json`.
    pub fn from_hf_json(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json_file(path.as_ref(), ConfigFlavor::HuggingFace)
    }

    /// Read Google's `bert_config.json`.
    pub fn from_google_json(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_json_file(path.as_ref(), ConfigFlavor::Google)
    }

    /// Read a config file of either flavor.
    pub fn from_json_file(path: &Path, flavor: ConfigFlavor) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::corrupt(path, format!("not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(Error::corrupt(path, "the config is not a JSON object"));
        };
        Self::from_json_map(path, &map, flavor)
    }

    /// Parse an already-read JSON object; `path` is only used in errors.
    pub fn from_json_map(
        path: &Path,
        map: &Map<String, Value>,
        flavor: ConfigFlavor,
    ) -> Result<Self> {
        let field_err = |field: &str, reason: String| Error::Config {
            path: path.to_path_buf(),
            field: field.to_string(),
            reason,
        };
        // Each field with its aliases (Google and a few other exporters use other names).
        let lookup = |names: &[&'static str]| lookup(map, names);
        let uint = |names: &[&'static str], default: Option<usize>| -> Result<usize> {
            match lookup(names) {
                Some((name, v)) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
                    field_err(name, format!("expected a non-negative integer, found {v}"))
                }),
                None => default.ok_or_else(|| field_err(names[0], "missing".to_string())),
            }
        };
        let float = |names: &[&'static str], default: f64| -> Result<f64> {
            match lookup(names) {
                Some((name, v)) => v
                    .as_f64()
                    .ok_or_else(|| field_err(name, format!("expected a number, found {v}"))),
                None => Ok(default),
            }
        };

        if let Some(Value::String(kind)) = map.get("model_type")
            && !matches!(kind.as_str(), "bert" | "roberta")
        {
            return Err(field_err("model_type", format!("`{kind}` is not a BERT")));
        }
        if let Some(v) = map.get("position_embedding_type")
            && v.as_str() != Some("absolute")
        {
            return Err(field_err(
                "position_embedding_type",
                format!("only `absolute` is supported, found {v}"),
            ));
        }
        if flavor == ConfigFlavor::HuggingFace
            && let Some(v) = map.get("add_cross_attention")
            && v.as_bool() == Some(true)
        {
            return Err(field_err(
                "add_cross_attention",
                "cross-attention decoders are not supported".to_string(),
            ));
        }
        // `is_decoder` without cross-attention is a causal decoder (`BertLMHeadModel`).
        let causal = flavor == ConfigFlavor::HuggingFace
            && map.get("is_decoder").and_then(Value::as_bool) == Some(true);
        let hidden_act = match lookup(&["hidden_act", "activation"]) {
            Some((name, Value::String(s))) => {
                Activation::from_name(s).map_err(|e| field_err(name, e.to_string()))?
            }
            Some((name, v)) => {
                return Err(field_err(name, format!("expected a string, found {v}")));
            }
            None => Activation::Gelu,
        };

        let config = BertConfig {
            vocab_size: uint(&["vocab_size", "n_vocab"], None)?,
            hidden_size: uint(&["hidden_size", "d_model", "n_embd"], None)?,
            num_hidden_layers: uint(&["num_hidden_layers", "num_layers", "n_layer"], None)?,
            num_attention_heads: uint(&["num_attention_heads", "num_heads", "n_head"], None)?,
            intermediate_size: uint(&["intermediate_size", "d_ff", "n_inner"], None)?,
            hidden_act,
            hidden_dropout_prob: float(&["hidden_dropout_prob", "dropout_rate"], 0.1)?,
            attention_probs_dropout_prob: float(
                &["attention_probs_dropout_prob", "attention_dropout"],
                0.1,
            )?,
            max_position_embeddings: uint(&["max_position_embeddings", "n_positions"], Some(512))?,
            type_vocab_size: uint(&["type_vocab_size"], Some(2))?,
            layer_norm_eps: float(&["layer_norm_eps", "layer_norm_epsilon"], 1e-12)?,
            pad_token_id: uint(&["pad_token_id"], Some(0))?,
            mode: if causal {
                BertMode::Lm
            } else {
                BertMode::Encoder
            },
            with_pool: true,
            with_mlm: false,
            with_nsp: false,
        };
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(field_err(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    config.num_attention_heads, config.hidden_size
                ),
            ));
        }
        for (name, p) in [
            ("hidden_dropout_prob", config.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                config.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(field_err(
                    name,
                    format!("{p} is not a probability in [0, 1)"),
                ));
            }
        }
        Ok(config)
    }

    /// The config as a Hugging Face `config.json` object (for saving).
    pub fn to_hf_json(&self) -> Value {
        let act = match self.hidden_act {
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_new",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Swish => "silu",
            Activation::Sigmoid => "sigmoid",
            Activation::Linear => "linear",
        };
        let arch = if self.with_mlm && self.with_nsp {
            "BertForPreTraining"
        } else if self.with_mlm {
            "BertForMaskedLM"
        } else {
            "BertModel"
        };
        serde_json::json!({
            "architectures": [arch],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": act,
            "hidden_dropout_prob": self.hidden_dropout_prob,
            "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps,
            "pad_token_id": self.pad_token_id,
            "initializer_range": 0.02,
            "position_embedding_type": "absolute",
        })
    }
}
