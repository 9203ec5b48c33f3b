//! `*.safetensors`: an 8-byte little-endian header length, a JSON header
//! `{name: {dtype, shape, data_offsets: [start, end]}}`, then the data. The header is parsed here
//! (not by the `safetensors` crate) so that a truncated file names the first tensor it cuts.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::Deserialize;

use super::{StoredDtype, TensorSource, byte_len, decode_f32};
use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// A memory-mapped safetensors file.
pub struct SafetensorsFile {
    path: PathBuf,
    mmap: Mmap,
    data_start: u64,
    entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for SafetensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("path", &self.path)
            .field("tensors", &self.entries.len())
            .finish()
    }
}

fn dtype_of(name: &str) -> StoredDtype {
    match name {
        "F32" => StoredDtype::F32,
        "F16" => StoredDtype::F16,
        "BF16" => StoredDtype::BF16,
        "F64" => StoredDtype::F64,
        "I32" => StoredDtype::I32,
        "I64" => StoredDtype::I64,
        "BOOL" => StoredDtype::Other("BOOL"),
        "U8" => StoredDtype::Other("U8"),
        "I8" => StoredDtype::Other("I8"),
        "I16" => StoredDtype::Other("I16"),
        "U16" => StoredDtype::Other("U16"),
        "U32" => StoredDtype::Other("U32"),
        "U64" => StoredDtype::Other("U64"),
        "F8_E4M3" => StoredDtype::Other("F8_E4M3"),
        "F8_E5M2" => StoredDtype::Other("F8_E5M2"),
        _ => StoredDtype::Other("unknown"),
    }
}

impl SafetensorsFile {
    /// Open and index `path`; tensor data is read lazily.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        // SAFETY: the map is read-only; a checkpoint modified while we read it gives wrong
        // numbers or a checksum/shape error, never unsoundness in this crate's logic.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        if mmap.len() < 8 {
            return Err(Error::corrupt(
                &path,
                format!("{} bytes is too short for a safetensors header", mmap.len()),
            ));
        }
        let header_len = u64::from_le_bytes(mmap[..8].try_into().expect("8 bytes"));
        let data_start = header_len
            .checked_add(8)
            .filter(|&end| end <= mmap.len() as u64)
            .ok_or_else(|| {
                Error::corrupt(
                    &path,
                    format!(
                        "header of {header_len} bytes runs past the end of the file ({} bytes)",
                        mmap.len()
                    ),
                )
            })?;
        let header = std::str::from_utf8(&mmap[8..data_start as usize])
            .map_err(|e| Error::corrupt(&path, format!("header is not UTF-8: {e}")))?;
        let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(header)
            .map_err(|e| Error::corrupt(&path, format!("header is not valid JSON: {e}")))?;
        let mut entries = BTreeMap::new();
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry = serde_json::from_value(value).map_err(|e| {
                Error::corrupt(&path, format!("header entry of tensor `{name}`: {e}"))
            })?;
            entries.insert(name, entry);
        }
        Ok(Self {
            path,
            mmap,
            data_start,
            entries,
        })
    }

    /// Read an integer tensor (`I64` or `I32`) as `i64` values with its shape.
    pub fn read_i64(&self, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        let entry = self.entry(name)?;
        let bytes = self.bytes(name, entry)?;
        let size = match entry.dtype.as_str() {
            "I64" => 8,
            _ => 4,
        };
        if matches!(entry.dtype.as_str(), "I64" | "I32")
            && byte_len(&entry.shape, size) != Some(bytes.len())
        {
            return Err(Error::corrupt(
                &self.path,
                format!(
                    "tensor `{name}` (shape {:?}, {}) holds {} bytes, which does not fit its shape",
                    entry.shape,
                    entry.dtype,
                    bytes.len()
                ),
            ));
        }
        let values = match entry.dtype.as_str() {
            "I64" => bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            "I32" => bytes
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
            other => {
                return Err(Error::UnsupportedDtype {
                    path: self.path.clone(),
                    tensor: name.to_string(),
                    shape: entry.shape.clone(),
                    dtype: other.to_string(),
                });
            }
        };
        Ok((entry.shape.clone(), values))
    }

    fn bytes(&self, name: &str, entry: &Entry) -> Result<&[u8]> {
        let [lo, hi] = entry.data_offsets;
        let file_len = self.mmap.len() as u64;
        let (start, end) = (
            self.data_start.saturating_add(lo),
            self.data_start.saturating_add(hi),
        );
        if lo > hi {
            return Err(Error::corrupt(
                &self.path,
                format!("tensor `{name}` has data_offsets [{lo}, {hi}] that run backwards"),
            ));
        }
        if end > file_len {
            return Err(Error::Truncated {
                path: self.path.clone(),
                tensor: name.to_string(),
                shape: entry.shape.clone(),
                start,
                end,
                file_len,
            });
        }
        Ok(&self.mmap[start as usize..end as usize])
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries
            .get(name)
            .ok_or_else(|| Error::missing_tensor(&self.path, name))
    }
}

impl TensorSource for SafetensorsFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.entries.get(name).map(|e| e.shape.clone())
    }

    fn read_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let entry = self.entry(name)?;
        let bytes = self.bytes(name, entry)?;
        let values = decode_f32(
            &self.path,
            name,
            &entry.shape,
            dtype_of(&entry.dtype),
            bytes,
        )
        .map_err(|e| match e {
            Error::UnsupportedDtype {
                path,
                tensor,
                shape,
                ..
            } => Error::UnsupportedDtype {
                path,
                tensor,
                shape,
                dtype: entry.dtype.clone(),
            },
            other => other,
        })?;
        Ok((entry.shape.clone(), values))
    }
}
