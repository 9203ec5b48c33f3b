//! Checkpoint names of every weight, in Hugging Face and in Google TF naming, and the two
//! walkers over them: loading (from any [`TensorSource`]) and saving (Hugging Face
//! safetensors, through [`write_safetensors`]).
//!
//! | Burn (this crate)                       | Hugging Face                                  | Google TF                                        |
//! |-----------------------------------------|-----------------------------------------------|--------------------------------------------------|
//! | `embeddings.word_embeddings`            | `embeddings.word_embeddings.weight`           | `bert/embeddings/word_embeddings`                |
//! | `layers.N.attention.query` (`[in,out]`) | `encoder.layer.N.attention.self.query.weight` (`[out,in]`) | `bert/encoder/layer_N/attention/self/query/kernel` (`[in,out]`) |
//! | `layers.N.attention_norm`               | `encoder.layer.N.attention.output.LayerNorm`  | `bert/encoder/layer_N/attention/output/LayerNorm` (`gamma`/`beta`) |
//! | `mlm.bias`                              | `cls.predictions.bias`                        | `cls/predictions/output_bias`                    |
//! | `nsp.dense` (`[H,2]`)                   | `cls.seq_relationship.weight` (`[2,H]`)       | `cls/seq_relationship/output_weights` (`[2,H]`)  |
//!
//! Hugging Face `BertModel` files have no prefix; `BertForMaskedLM`/`BertForPreTraining` put the
//! encoder under `bert.`. Linear weights are stored `[out, in]` by PyTorch and transposed here.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Tensor, TensorData};

use super::model::Bert;
use crate::checkpoint::{StValues, TensorSource, write_safetensors};
use crate::error::{Error, Result};

/// Naming convention of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Naming {
    /// Hugging Face, with the encoder under `prefix` (`""` or `"bert."`).
    HuggingFace {
        /// `""` (`BertModel`) or `"bert."` (models with heads).
        prefix: String,
    },
    /// Google's TF names (`bert/…`, `cls/…`).
    GoogleTf,
}

/// Where one linear layer lives in each naming.
struct LinearNames {
    hf: String,
    tf_weight: String,
    tf_bias: String,
    /// TF stores this weight `[out, in]` too (only `cls/seq_relationship/output_weights`).
    tf_out_in: bool,
}

fn tf_dense(base: &str) -> (String, String) {
    (format!("{base}/kernel"), format!("{base}/bias"))
}

fn linear_names(hf: String, tf_base: &str) -> LinearNames {
    let (tf_weight, tf_bias) = tf_dense(tf_base);
    LinearNames {
        hf,
        tf_weight,
        tf_bias,
        tf_out_in: false,
    }
}

/// A walker over the model's weights, given each weight's names.
trait Visitor {
    /// A `[rows, cols]` table stored the same way everywhere (embeddings).
    fn table(&mut self, param: &mut Param<Tensor<2>>, hf: &str, tf: &str) -> Result<()>;
    /// A linear layer.
    fn linear(&mut self, linear: &mut Linear, names: &LinearNames) -> Result<()>;
    /// A LayerNorm: HF `{hf}.weight`/`.bias` (old files: `gamma`/`beta`), TF `{tf}/gamma`/`beta`.
    fn norm(&mut self, norm: &mut LayerNorm, hf: &str, tf: &str) -> Result<()>;
    /// A vector stored the same way everywhere.
    fn vector(&mut self, param: &mut Param<Tensor<1>>, hf: &[&str], tf: &str) -> Result<()>;
}

/// Which parts of the model to walk.
#[derive(Debug, Clone, Copy)]
struct Parts {
    pooler: bool,
    mlm: bool,
    nsp: bool,
}

fn walk(model: &mut Bert, prefix: &str, parts: Parts, v: &mut dyn Visitor) -> Result<()> {
    let p = prefix;
    let e = &mut model.embeddings;
    v.table(
        &mut e.word_embeddings.weight,
        &format!("{p}embeddings.word_embeddings.weight"),
        "bert/embeddings/word_embeddings",
    )?;
    v.table(
        &mut e.position_embeddings.table.weight,
        &format!("{p}embeddings.position_embeddings.weight"),
        "bert/embeddings/position_embeddings",
    )?;
    v.table(
        &mut e.token_type_embeddings.weight,
        &format!("{p}embeddings.token_type_embeddings.weight"),
        "bert/embeddings/token_type_embeddings",
    )?;
    v.norm(
        &mut e.layer_norm,
        &format!("{p}embeddings.LayerNorm"),
        "bert/embeddings/LayerNorm",
    )?;

    for (i, layer) in model.layers.iter_mut().enumerate() {
        let hf = format!("{p}encoder.layer.{i}");
        let tf = format!("bert/encoder/layer_{i}");
        let a = &mut layer.attention;
        v.linear(
            &mut a.query,
            &linear_names(
                format!("{hf}.attention.self.query"),
                &format!("{tf}/attention/self/query"),
            ),
        )?;
        v.linear(
            &mut a.key,
            &linear_names(
                format!("{hf}.attention.self.key"),
                &format!("{tf}/attention/self/key"),
            ),
        )?;
        v.linear(
            &mut a.value,
            &linear_names(
                format!("{hf}.attention.self.value"),
                &format!("{tf}/attention/self/value"),
            ),
        )?;
        v.linear(
            &mut a.output,
            &linear_names(
                format!("{hf}.attention.output.dense"),
                &format!("{tf}/attention/output/dense"),
            ),
        )?;
        v.norm(
            &mut layer.attention_norm,
            &format!("{hf}.attention.output.LayerNorm"),
            &format!("{tf}/attention/output/LayerNorm"),
        )?;
        v.linear(
            &mut layer.intermediate,
            &linear_names(
                format!("{hf}.intermediate.dense"),
                &format!("{tf}/intermediate/dense"),
            ),
        )?;
        v.linear(
            &mut layer.output,
            &linear_names(format!("{hf}.output.dense"), &format!("{tf}/output/dense")),
        )?;
        v.norm(
            &mut layer.output_norm,
            &format!("{hf}.output.LayerNorm"),
            &format!("{tf}/output/LayerNorm"),
        )?;
    }

    if parts.pooler
        && let Some(pooler) = model.pooler.as_mut()
    {
        v.linear(
            &mut pooler.dense,
            &linear_names(format!("{p}pooler.dense"), "bert/pooler/dense"),
        )?;
    }
    if parts.mlm
        && let Some(mlm) = model.mlm.as_mut()
    {
        v.linear(
            &mut mlm.dense,
            &linear_names(
                "cls.predictions.transform.dense".into(),
                "cls/predictions/transform/dense",
            ),
        )?;
        v.norm(
            &mut mlm.layer_norm,
            "cls.predictions.transform.LayerNorm",
            "cls/predictions/transform/LayerNorm",
        )?;
        v.vector(
            &mut mlm.bias,
            &["cls.predictions.bias", "cls.predictions.decoder.bias"],
            "cls/predictions/output_bias",
        )?;
    }
    if parts.nsp
        && let Some(nsp) = model.nsp.as_mut()
    {
        v.linear(
            &mut nsp.dense,
            &LinearNames {
                hf: "cls.seq_relationship".into(),
                tf_weight: "cls/seq_relationship/output_weights".into(),
                tf_bias: "cls/seq_relationship/output_bias".into(),
                tf_out_in: true,
            },
        )?;
    }
    Ok(())
}

/// What to do when the checkpoint lacks a head the model was built with.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Keep a randomly initialised head (pooler, MLM, NSP) when the checkpoint has none,
    /// instead of failing.
    pub allow_missing_heads: bool,
    /// After loading, keep only these vocabulary rows ([`Bert::keep_tokens`]).
    pub keep_tokens: Option<Vec<usize>>,
}

/// Which heads were found in the checkpoint and loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Heads the model has but the checkpoint lacks (left randomly initialised).
    pub missing_heads: Vec<&'static str>,
    /// Checkpoint tensors no weight of the model used (optimizer slots, `position_ids`, …).
    pub unused: Vec<String>,
}

struct Loader<'a> {
    src: &'a dyn TensorSource,
    naming: Naming,
    device: Device,
    used: Vec<String>,
}

impl Loader<'_> {
    fn pick<'n>(&self, names: &[&'n str]) -> &'n str {
        names
            .iter()
            .copied()
            .find(|n| self.src.contains(n))
            .unwrap_or(names[0])
    }

    /// Read `name` (expected file shape `file_shape`) as floats.
    fn read(&mut self, name: &str, file_shape: &[usize]) -> Result<Vec<f32>> {
        let path = self.src.path().to_path_buf();
        let Some(found) = self.src.shape(name) else {
            return Err(Error::MissingTensor {
                path,
                tensor: name.to_string(),
                expected: file_shape.to_vec(),
            });
        };
        if found != file_shape {
            return Err(Error::ShapeMismatch {
                path,
                tensor: name.to_string(),
                expected: file_shape.to_vec(),
                found,
            });
        }
        let (_, values) = self.src.read_f32(name)?;
        self.used.push(name.to_string());
        Ok(values)
    }

    fn matrix(&mut self, name: &str, shape: [usize; 2], transposed: bool) -> Result<Tensor<2>> {
        let file_shape = if transposed {
            [shape[1], shape[0]]
        } else {
            shape
        };
        let values = self.read(name, &file_shape)?;
        let t = Tensor::<2>::from_data(TensorData::new(values, file_shape), &self.device);
        Ok(if transposed { t.transpose() } else { t })
    }

    fn vec1(&mut self, name: &str, len: usize) -> Result<Tensor<1>> {
        let values = self.read(name, &[len])?;
        Ok(Tensor::from_data(
            TensorData::new(values, [len]),
            &self.device,
        ))
    }
}

fn set2(param: &mut Param<Tensor<2>>, t: Tensor<2>) {
    *param = Param::from_tensor(t);
}

fn set1(param: &mut Param<Tensor<1>>, t: Tensor<1>) {
    *param = Param::from_tensor(t);
}

impl Visitor for Loader<'_> {
    fn table(&mut self, param: &mut Param<Tensor<2>>, hf: &str, tf: &str) -> Result<()> {
        let name = match self.naming {
            Naming::HuggingFace { .. } => hf,
            Naming::GoogleTf => tf,
        };
        let dims = param.dims();
        set2(param, self.matrix(name, dims, false)?);
        Ok(())
    }

    fn linear(&mut self, linear: &mut Linear, names: &LinearNames) -> Result<()> {
        let dims = linear.weight.dims();
        let (w_name, b_name, transposed) = match self.naming {
            Naming::HuggingFace { .. } => (
                format!("{}.weight", names.hf),
                format!("{}.bias", names.hf),
                true,
            ),
            Naming::GoogleTf => (
                names.tf_weight.clone(),
                names.tf_bias.clone(),
                names.tf_out_in,
            ),
        };
        let weight = self.matrix(&w_name, dims, transposed)?;
        set2(&mut linear.weight, weight);
        if let Some(bias) = linear.bias.as_mut() {
            let b = self.vec1(&b_name, dims[1])?;
            set1(bias, b);
        }
        Ok(())
    }

    fn norm(&mut self, norm: &mut LayerNorm, hf: &str, tf: &str) -> Result<()> {
        let len = norm.gamma.dims()[0];
        let (g, b) = match self.naming {
            Naming::HuggingFace { .. } => {
                let (gw, gg) = (format!("{hf}.weight"), format!("{hf}.gamma"));
                let (bw, bb) = (format!("{hf}.bias"), format!("{hf}.beta"));
                (
                    self.pick(&[&gw, &gg]).to_string(),
                    self.pick(&[&bw, &bb]).to_string(),
                )
            }
            Naming::GoogleTf => (format!("{tf}/gamma"), format!("{tf}/beta")),
        };
        let gamma = self.vec1(&g, len)?;
        set1(&mut norm.gamma, gamma);
        if let Some(beta) = norm.beta.as_mut() {
            let b = self.vec1(&b, len)?;
            set1(beta, b);
        }
        Ok(())
    }

    fn vector(&mut self, param: &mut Param<Tensor<1>>, hf: &[&str], tf: &str) -> Result<()> {
        let name = match self.naming {
            Naming::HuggingFace { .. } => self.pick(hf).to_string(),
            Naming::GoogleTf => tf.to_string(),
        };
        let len = param.dims()[0];
        let t = self.vec1(&name, len)?;
        set1(param, t);
        Ok(())
    }
}

/// The checkpoint name that tells whether a head is present.
fn head_probe(naming: &Naming, head: &str) -> String {
    match (naming, head) {
        (Naming::HuggingFace { prefix }, "pooler") => format!("{prefix}pooler.dense.weight"),
        (Naming::HuggingFace { .. }, "mlm") => "cls.predictions.transform.dense.weight".into(),
        (Naming::HuggingFace { .. }, _) => "cls.seq_relationship.weight".into(),
        (Naming::GoogleTf, "pooler") => "bert/pooler/dense/kernel".into(),
        (Naming::GoogleTf, "mlm") => "cls/predictions/transform/dense/kernel".into(),
        (Naming::GoogleTf, _) => "cls/seq_relationship/output_weights".into(),
    }
}

/// Detect the naming convention of a checkpoint from its tensor names.
pub fn detect_naming(src: &dyn TensorSource) -> Result<Naming> {
    if src.contains("bert/embeddings/word_embeddings") {
        Ok(Naming::GoogleTf)
    } else if src.contains("bert.embeddings.word_embeddings.weight") {
        Ok(Naming::HuggingFace {
            prefix: "bert.".into(),
        })
    } else if src.contains("embeddings.word_embeddings.weight") {
        Ok(Naming::HuggingFace {
            prefix: String::new(),
        })
    } else {
        Err(Error::MissingTensor {
            path: src.path().to_path_buf(),
            tensor:
                "embeddings.word_embeddings.weight (or bert.…, or bert/embeddings/word_embeddings)"
                    .into(),
            expected: Vec::new(),
        })
    }
}

/// Overwrite every weight of `model` with the checkpoint's.
pub fn load_weights(
    model: &mut Bert,
    src: &dyn TensorSource,
    options: &LoadOptions,
    device: &Device,
) -> Result<LoadReport> {
    let naming = detect_naming(src)?;
    let prefix = match &naming {
        Naming::HuggingFace { prefix } => prefix.clone(),
        Naming::GoogleTf => String::new(),
    };
    let mut report = LoadReport::default();
    let mut present = |head: &'static str, built: bool| -> Result<bool> {
        if !built {
            return Ok(false);
        }
        let probe = head_probe(&naming, head);
        if src.contains(&probe) {
            return Ok(true);
        }
        if options.allow_missing_heads {
            report.missing_heads.push(head);
            Ok(false)
        } else {
            Err(Error::MissingTensor {
                path: src.path().to_path_buf(),
                tensor: format!(
                    "{probe} (the model was built with a {head} head; allow missing heads to keep it random)"
                ),
                expected: Vec::new(),
            })
        }
    };
    let parts = Parts {
        pooler: present("pooler", model.pooler.is_some())?,
        mlm: present("mlm", model.mlm.is_some())?,
        nsp: present("nsp", model.nsp.is_some())?,
    };
    let mut loader = Loader {
        src,
        naming,
        device: device.clone(),
        used: Vec::new(),
    };
    walk(model, &prefix, parts, &mut loader)?;
    let used: std::collections::BTreeSet<String> = loader.used.into_iter().collect();
    report.unused = src
        .names()
        .into_iter()
        .filter(|n| !used.contains(n))
        .collect();
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Saving

struct Saver {
    tensors: BTreeMap<String, (Vec<usize>, StValues)>,
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .expect("converted to f32")
}

impl Saver {
    fn put<const D: usize>(&mut self, name: String, t: Tensor<D>) {
        let shape = t.dims().to_vec();
        self.tensors.insert(name, (shape, StValues::F32(values(t))));
    }
}

impl Visitor for Saver {
    fn table(&mut self, param: &mut Param<Tensor<2>>, hf: &str, _tf: &str) -> Result<()> {
        self.put(hf.to_string(), param.val());
        Ok(())
    }

    fn linear(&mut self, linear: &mut Linear, names: &LinearNames) -> Result<()> {
        self.put(
            format!("{}.weight", names.hf),
            linear.weight.val().transpose(),
        );
        if let Some(bias) = &linear.bias {
            self.put(format!("{}.bias", names.hf), bias.val());
        }
        Ok(())
    }

    fn norm(&mut self, norm: &mut LayerNorm, hf: &str, _tf: &str) -> Result<()> {
        self.put(format!("{hf}.weight"), norm.gamma.val());
        if let Some(beta) = &norm.beta {
            self.put(format!("{hf}.bias"), beta.val());
        }
        Ok(())
    }

    fn vector(&mut self, param: &mut Param<Tensor<1>>, hf: &[&str], _tf: &str) -> Result<()> {
        self.put(hf[0].to_string(), param.val());
        Ok(())
    }
}

/// Write `model`'s weights to `path` as safetensors under Hugging Face names (`bert.` prefix
/// when it has an MLM or NSP head, as `BertForMaskedLM`/`BertForPreTraining` save them).
pub fn save_safetensors(model: &Bert, path: &Path) -> Result<()> {
    let mut model = model.clone();
    let prefix = if model.mlm.is_some() || model.nsp.is_some() {
        "bert."
    } else {
        ""
    };
    let mut saver = Saver {
        tensors: BTreeMap::new(),
    };
    let parts = Parts {
        pooler: true,
        mlm: true,
        nsp: true,
    };
    walk(&mut model, prefix, parts, &mut saver)?;
    write_safetensors(path, &saver.tensors)
}
