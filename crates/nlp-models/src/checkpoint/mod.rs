//! Reading named tensors out of checkpoint files, with no framework installed.
//!
//! - [`SafetensorsFile`]: Hugging Face `model.safetensors` (memory-mapped).
//! - [`PytorchFile`]: Hugging Face `pytorch_model.bin`, a `torch.save`d state dict (the format
//!   before safetensors), parsed by the `pytorch-reader` crate.
//! - [`TfCheckpoint`]: Google's TensorFlow checkpoints (`*.ckpt.index` + `*.ckpt.data-*`), the
//!   "tensor bundle" format read natively: the index is an SSTable whose entries point into the
//!   data shards.
//!
//! - [`write_safetensors`]: the way back, named tensors to a safetensors file.
//!
//! All readers implement [`TensorSource`]: look a tensor up by name, get its shape, read it as `f32`.
//! Every failure is an [`Error`](crate::Error) naming the file and the tensor.

mod pickle_budget;
mod pytorch;
mod safetensors;
mod safetensors_writer;
mod tf_bundle;

pub use self::pytorch::PytorchFile;
pub use self::safetensors::SafetensorsFile;
pub use self::safetensors_writer::{StValues, write_safetensors};
pub use self::tf_bundle::TfCheckpoint;

use std::path::Path;

use crate::error::{Error, Result};

/// Element types a checkpoint may store; all float types convert to `f32` on read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredDtype {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16.
    BF16,
    /// 64-bit float.
    F64,
    /// 32-bit integer (read as floats too: e.g. `global_step` never is).
    I32,
    /// 64-bit integer.
    I64,
    /// Anything else, by the file's name for it.
    Other(&'static str),
}

impl StoredDtype {
    /// Bytes per element, `None` for unsupported types.
    pub fn size(self) -> Option<usize> {
        match self {
            Self::F32 | Self::I32 => Some(4),
            Self::F16 | Self::BF16 => Some(2),
            Self::F64 | Self::I64 => Some(8),
            Self::Other(_) => None,
        }
    }

    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::BF16 => "BF16",
            Self::F64 => "F64",
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::Other(name) => name,
        }
    }
}

/// A source of named tensors: one checkpoint.
pub trait TensorSource {
    /// The file named in errors (the index file for TF checkpoints).
    fn path(&self) -> &Path;
    /// Whether a tensor of that name exists.
    fn contains(&self, name: &str) -> bool;
    /// Names of all tensors.
    fn names(&self) -> Vec<String>;
    /// Shape of a tensor, `None` if absent.
    fn shape(&self, name: &str) -> Option<Vec<usize>>;
    /// Read a floating-point tensor as `f32` values (row-major) with its shape.
    fn read_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)>;
}

/// Bytes of a tensor of `shape` with `size`-byte elements; `None` when that overflows (a header
/// claiming such a shape is corrupt).
pub(crate) fn byte_len(shape: &[usize], size: usize) -> Option<usize> {
    shape
        .iter()
        .try_fold(size, |bytes, &dim| bytes.checked_mul(dim))
}

/// Decode little-endian `bytes` of `dtype` into `f32` values.
pub(crate) fn decode_f32(
    path: &Path,
    tensor: &str,
    shape: &[usize],
    dtype: StoredDtype,
    bytes: &[u8],
) -> Result<Vec<f32>> {
    let unsupported = || Error::UnsupportedDtype {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        shape: shape.to_vec(),
        dtype: dtype.name().to_string(),
    };
    let size = dtype.size().ok_or_else(unsupported)?;
    let expected = byte_len(shape, size).ok_or_else(|| {
        Error::corrupt(
            path,
            format!("tensor `{tensor}` has shape {shape:?}, too large for any file"),
        )
    })?;
    if bytes.len() != expected {
        return Err(Error::corrupt(
            path,
            format!(
                "tensor `{tensor}` (shape {shape:?}, {}) holds {} bytes, expected {expected}",
                dtype.name(),
                bytes.len(),
            ),
        ));
    }
    let values = match dtype {
        StoredDtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        StoredDtype::F16 => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        StoredDtype::BF16 => bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        StoredDtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        // Integer tensors are never model weights; refuse them rather than guess.
        StoredDtype::I32 | StoredDtype::I64 | StoredDtype::Other(_) => return Err(unsupported()),
    };
    Ok(values)
}
