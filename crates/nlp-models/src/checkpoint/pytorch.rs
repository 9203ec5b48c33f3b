//! `pytorch_model.bin`: a `torch.save(model.state_dict())` file, the format Hugging Face
//! checkpoints used before safetensors. The pickle and its storages are parsed by the
//! `pytorch-reader` crate (no Python, no libtorch); opening reads only the metadata, and each
//! tensor's bytes are read when asked for. The pickle is first walked for its size
//! ([`super::pickle_budget`]), so that a tiny file cannot claim a large amount of memory.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use pytorch_reader::{DType, PytorchReader, Tensor};

use super::{StoredDtype, TensorSource, byte_len, decode_f32};
use crate::error::{Error, Result};

/// A PyTorch checkpoint (`pytorch_model.bin`, `*.pt`, `*.pth`) holding a flat state dict.
pub struct PytorchFile {
    path: PathBuf,
    /// Size of the file: no tensor read from it may need more bytes (pytorch files store
    /// tensors uncompressed), which bounds what a corrupt shape or stride can make us allocate.
    file_len: u64,
    tensors: BTreeMap<String, Tensor>,
}

impl std::fmt::Debug for PytorchFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PytorchFile")
            .field("path", &self.path)
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

fn dtype_of(dtype: DType) -> StoredDtype {
    match dtype {
        DType::F32 => StoredDtype::F32,
        DType::F16 => StoredDtype::F16,
        DType::BF16 => StoredDtype::BF16,
        DType::F64 => StoredDtype::F64,
        DType::I32 => StoredDtype::I32,
        DType::I64 => StoredDtype::I64,
        DType::I16 => StoredDtype::Other("I16"),
        DType::I8 => StoredDtype::Other("I8"),
        DType::U64 => StoredDtype::Other("U64"),
        DType::U32 => StoredDtype::Other("U32"),
        DType::U16 => StoredDtype::Other("U16"),
        DType::U8 => StoredDtype::Other("U8"),
        DType::Bool => StoredDtype::Other("BOOL"),
    }
}

impl PytorchFile {
    /// Open `path` and index its tensors; tensor data is read lazily.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // Open once ourselves so that a missing or unreadable file is an I/O error, not a
        // "corrupt file" one.
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        // `pytorch-reader` bounds its pickle's copies by a constant, not by the file.
        super::pickle_budget::check(&path, &file, file_len)?;
        let reader = PytorchReader::new(&path).map_err(|e| {
            Error::corrupt(&path, format!("not a readable PyTorch checkpoint: {e}"))
        })?;
        let tensors = reader.into_tensors().into_iter().collect();
        Ok(Self {
            path,
            file_len,
            tensors,
        })
    }

    fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::missing_tensor(&self.path, name))
    }
}

/// `pytorch-reader` hands back native-endian bytes; [`decode_f32`] takes little-endian ones.
fn native_to_le(mut bytes: Vec<u8>, size: usize) -> Vec<u8> {
    if cfg!(target_endian = "big") && size > 1 {
        for element in bytes.chunks_exact_mut(size) {
            element.reverse();
        }
    }
    bytes
}

impl TensorSource for PytorchFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn names(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.shape().to_vec())
    }

    fn read_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let tensor = self.tensor(name)?;
        let shape = tensor.shape().to_vec();
        let dtype = dtype_of(tensor.dtype());
        // Refuse non-float tensors before reading their bytes.
        if !matches!(
            dtype,
            StoredDtype::F32 | StoredDtype::F16 | StoredDtype::BF16 | StoredDtype::F64
        ) {
            return Err(Error::UnsupportedDtype {
                path: self.path.clone(),
                tensor: name.to_string(),
                shape,
                dtype: dtype.name().to_string(),
            });
        }
        let needed = byte_len(&shape, tensor.dtype().size());
        if needed.is_none_or(|n| n as u64 > self.file_len) {
            return Err(Error::corrupt(
                &self.path,
                format!(
                    "tensor `{name}` has shape {shape:?}, more than the file's {} bytes can hold",
                    self.file_len
                ),
            ));
        }
        let bytes = tensor.read().map_err(|e| match e.kind() {
            // The file disagrees with itself: a storage is missing, short or fails its checksum.
            ErrorKind::InvalidData | ErrorKind::UnexpectedEof => Error::corrupt(
                &self.path,
                format!("tensor `{name}` (shape {shape:?}) cannot be read: {e}"),
            ),
            // The OS error (its message already names the tensor).
            _ => Error::io(&self.path, e),
        })?;
        let bytes = native_to_le(bytes, tensor.dtype().size());
        let values = decode_f32(&self.path, name, &shape, dtype, &bytes)?;
        Ok((shape, values))
    }
}
