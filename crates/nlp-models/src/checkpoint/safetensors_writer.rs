//! Writing named tensors as a safetensors file (the inverse of [`SafetensorsFile`](super::SafetensorsFile)).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Values of one tensor to write with [`write_safetensors`].
#[derive(Debug, Clone, PartialEq)]
pub enum StValues {
    /// Stored as `F32`.
    F32(Vec<f32>),
    /// Stored as `I64`.
    I64(Vec<i64>),
}

impl StValues {
    fn byte_len(&self) -> usize {
        match self {
            Self::F32(v) => v.len() * 4,
            Self::I64(v) => v.len() * 8,
        }
    }
}

/// Write tensors `name → (shape, values)` as a safetensors file (under a temporary name first,
/// renamed when complete, so a failed or killed write never leaves a partial file at `path`).
pub fn write_safetensors(
    path: &Path,
    tensors: &BTreeMap<String, (Vec<usize>, StValues)>,
) -> Result<()> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, (shape, values)) in tensors {
        let count: usize = shape.iter().product();
        let (dtype, len) = match values {
            StValues::F32(v) => ("F32", v.len()),
            StValues::I64(v) => ("I64", v.len()),
        };
        if count != len {
            return Err(Error::Invalid(format!(
                "{}: tensor `{name}` has shape {shape:?} but {len} values",
                path.display()
            )));
        }
        let end = offset + values.byte_len();
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut header = serde_json::to_string(&header).expect("JSON of strings and numbers");
    // Pad the header so the data starts 8-byte aligned.
    while !(8 + header.len()).is_multiple_of(8) {
        header.push(' ');
    }
    let mut tmp = path.to_path_buf();
    tmp.as_mut_os_string().push(".partial");
    let io = |e| Error::io(&tmp, e);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    file.write_all(&(header.len() as u64).to_le_bytes())
        .map_err(io)?;
    file.write_all(header.as_bytes()).map_err(io)?;
    for (_, values) in tensors.values() {
        let bytes: Vec<u8> = match values {
            StValues::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            StValues::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        file.write_all(&bytes).map_err(io)?;
    }
    file.flush().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
