//! Google TensorFlow checkpoints ("tensor bundle" V2), read natively.
//!
//! `PREFIX.index` is an SSTable (LevelDB table format): data blocks of prefix-compressed
//! key/value entries, an index block pointing at them, and a 48-byte footer ending in a magic
//! number. Key `""` holds a `BundleHeaderProto` (number of shards), every other key is a tensor
//! name whose value is a `BundleEntryProto` (dtype, shape, shard, offset, size, crc32c).
//! Tensor bytes live in `PREFIX.data-0000S-of-0000N`, little-endian, row-major.
//! The two protos are decoded by hand (a few varint fields).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::{StoredDtype, TensorSource, decode_f32};
use crate::error::{Error, Result};

const TABLE_MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const FOOTER_LEN: usize = 48;
/// Most bytes a snappy block can decompress to per compressed byte (a 3-byte copy yields 64).
const SNAPPY_MAX_RATIO: usize = 22;
/// Most bytes of keys and values a table may decode to per byte of index file, plus a fixed
/// allowance. Prefix-compressed keys and index entries that point at one block many times could
/// otherwise expand a small file quadratically; real indexes expand a few times at most.
const TABLE_EXPANSION: usize = 64;
const TABLE_ALLOWANCE: usize = 1 << 20;

#[derive(Debug, Clone)]
struct BundleEntry {
    dtype: StoredDtype,
    shape: Vec<usize>,
    shard: u32,
    offset: u64,
    size: u64,
    crc32c: Option<u32>,
    sliced: bool,
}

/// A TF checkpoint: its index and memory-mapped data shards.
pub struct TfCheckpoint {
    index_path: PathBuf,
    shard_paths: Vec<PathBuf>,
    shards: Vec<Mmap>,
    entries: BTreeMap<String, BundleEntry>,
}

impl std::fmt::Debug for TfCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TfCheckpoint")
            .field("index", &self.index_path)
            .field("tensors", &self.entries.len())
            .finish()
    }
}

impl TfCheckpoint {
    /// Open a checkpoint by prefix (`dir/bert_model.ckpt`) or by its `.index` file.
    pub fn open(prefix_or_index: impl AsRef<Path>) -> Result<Self> {
        let given = prefix_or_index.as_ref();
        let prefix = match given.to_str().and_then(|s| s.strip_suffix(".index")) {
            Some(p) => PathBuf::from(p),
            None => given.to_path_buf(),
        };
        let index_path = PathBuf::from(format!("{}.index", prefix.display()));
        let index = std::fs::read(&index_path).map_err(|e| Error::io(&index_path, e))?;
        let table = read_table(&index_path, &index)?;

        let mut num_shards = 1u32;
        let mut entries = BTreeMap::new();
        for (key, value) in table {
            if key.is_empty() {
                num_shards = parse_header(&index_path, &value)?;
                continue;
            }
            let name = String::from_utf8(key)
                .map_err(|_| Error::corrupt(&index_path, "a tensor name is not UTF-8"))?;
            let entry = parse_entry(&index_path, &name, &value)?;
            entries.insert(name, entry);
        }
        if num_shards == 0 {
            return Err(Error::corrupt(
                &index_path,
                "bundle header says 0 data shards",
            ));
        }
        let mut shard_paths = Vec::new();
        let mut shards = Vec::new();
        for shard in 0..num_shards {
            let path = PathBuf::from(format!(
                "{}.data-{shard:05}-of-{num_shards:05}",
                prefix.display()
            ));
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            // SAFETY: read-only map; see SafetensorsFile::open.
            let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            shard_paths.push(path);
            shards.push(mmap);
        }
        Ok(Self {
            index_path,
            shard_paths,
            shards,
            entries,
        })
    }
}

impl TensorSource for TfCheckpoint {
    fn path(&self) -> &Path {
        &self.index_path
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
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| Error::missing_tensor(&self.index_path, name))?;
        if entry.sliced {
            return Err(Error::corrupt(
                &self.index_path,
                format!("tensor `{name}` is stored as partitioned slices, which are not supported"),
            ));
        }
        let shard = entry.shard as usize;
        let (Some(data), Some(path)) = (self.shards.get(shard), self.shard_paths.get(shard)) else {
            return Err(Error::corrupt(
                &self.index_path,
                format!(
                    "tensor `{name}` points to shard {shard} of {}",
                    self.shards.len()
                ),
            ));
        };
        let start = entry.offset;
        let end = entry.offset.saturating_add(entry.size);
        if end > data.len() as u64 {
            return Err(Error::Truncated {
                path: path.clone(),
                tensor: name.to_string(),
                shape: entry.shape.clone(),
                start,
                end,
                file_len: data.len() as u64,
            });
        }
        let bytes = &data[start as usize..end as usize];
        if let Some(stored) = entry.crc32c {
            let actual = crc32c::crc32c(bytes);
            if actual != unmask_crc(stored) && actual != stored {
                return Err(Error::corrupt(
                    path,
                    format!(
                        "tensor `{name}` (shape {:?}) fails its crc32c check",
                        entry.shape
                    ),
                ));
            }
        }
        let values = decode_f32(path, name, &entry.shape, entry.dtype, bytes)?;
        Ok((entry.shape.clone(), values))
    }
}

fn unmask_crc(masked: u32) -> u32 {
    let rot = masked.wrapping_sub(0xa282_ead8);
    rot.rotate_left(15)
}

// ---------------------------------------------------------------------------------------------
// SSTable

/// A little cursor over bytes with varint decoding; every read is bounds-checked.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn fixed32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
}

#[derive(Debug, Clone, Copy)]
struct BlockHandle {
    offset: u64,
    size: u64,
}

fn read_handle(c: &mut Cursor<'_>) -> Option<BlockHandle> {
    Some(BlockHandle {
        offset: c.varint()?,
        size: c.varint()?,
    })
}

/// All key/value pairs of an SSTable, in order.
fn read_table(path: &Path, file: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if file.len() < FOOTER_LEN {
        return Err(Error::corrupt(
            path,
            format!("{} bytes is too short for a checkpoint index", file.len()),
        ));
    }
    let footer = &file[file.len() - FOOTER_LEN..];
    let magic = u64::from_le_bytes(footer[40..48].try_into().expect("8 bytes"));
    if magic != TABLE_MAGIC {
        return Err(Error::corrupt(
            path,
            "bad table magic number: not a TF checkpoint index (or truncated)",
        ));
    }
    let mut c = Cursor::new(&footer[..40]);
    let (_meta, index) = match (read_handle(&mut c), read_handle(&mut c)) {
        (Some(m), Some(i)) => (m, i),
        _ => return Err(Error::corrupt(path, "bad footer block handles")),
    };
    let mut budget = file
        .len()
        .saturating_mul(TABLE_EXPANSION)
        .saturating_add(TABLE_ALLOWANCE);
    let index_block = read_block(path, file, index)?;
    let mut out = Vec::new();
    for (_, handle_bytes) in block_entries(path, &index_block, &mut budget)? {
        let handle = read_handle(&mut Cursor::new(&handle_bytes))
            .ok_or_else(|| Error::corrupt(path, "bad block handle in the index block"))?;
        let block = read_block(path, file, handle)?;
        out.extend(block_entries(path, &block, &mut budget)?);
    }
    Ok(out)
}

/// The contents of a block (decompressed, checksum verified).
fn read_block(path: &Path, file: &[u8], handle: BlockHandle) -> Result<Vec<u8>> {
    let start = usize::try_from(handle.offset).unwrap_or(usize::MAX);
    let end = start
        .checked_add(usize::try_from(handle.size).unwrap_or(usize::MAX))
        .and_then(|e| e.checked_add(5))
        .filter(|&e| e <= file.len())
        .ok_or_else(|| {
            Error::corrupt(
                path,
                format!(
                    "block at {}..{} runs past the end of the file ({} bytes): truncated index",
                    handle.offset,
                    handle.offset.saturating_add(handle.size).saturating_add(5),
                    file.len()
                ),
            )
        })?;
    let contents = &file[start..end - 5];
    let kind = file[end - 5];
    let stored = u32::from_le_bytes(file[end - 4..end].try_into().expect("4 bytes"));
    let actual = crc32c::crc32c_append(crc32c::crc32c(contents), &[kind]);
    // Fuzzing builds skip the block checksum so that the fuzzer reaches what lies behind it.
    if unmask_crc(stored) != actual && !cfg!(fuzzing) {
        return Err(Error::corrupt(
            path,
            format!("block at offset {} fails its crc32c check", handle.offset),
        ));
    }
    match kind {
        0 => Ok(contents.to_vec()),
        1 => {
            let snappy_err = |e: snap::Error| {
                Error::corrupt(
                    path,
                    format!("snappy block at offset {}: {e}", handle.offset),
                )
            };
            // Snappy expands at most 64 bytes from a 3-byte copy; a block claiming more than
            // that is corrupt, and is refused before its buffer is allocated.
            let claimed = snap::raw::decompress_len(contents).map_err(snappy_err)?;
            if claimed > contents.len().saturating_mul(SNAPPY_MAX_RATIO) {
                return Err(Error::corrupt(
                    path,
                    format!(
                        "snappy block at offset {} claims {claimed} bytes from {} compressed ones",
                        handle.offset,
                        contents.len()
                    ),
                ));
            }
            snap::raw::Decoder::new()
                .decompress_vec(contents)
                .map_err(snappy_err)
        }
        other => Err(Error::corrupt(
            path,
            format!("unknown block compression {other}"),
        )),
    }
}

/// Key/value entries of a block (prefix-compressed keys; restart array at the end). `budget`
/// is what the table may still decode to, in bytes (each entry also counts its bookkeeping).
fn block_entries(path: &Path, block: &[u8], budget: &mut usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = |what: &str| Error::corrupt(path, format!("malformed table block: {what}"));
    if block.len() < 4 {
        return Err(bad("shorter than its restart count"));
    }
    let restarts =
        u32::from_le_bytes(block[block.len() - 4..].try_into().expect("4 bytes")) as usize;
    let data_end = restarts
        .checked_mul(4)
        .and_then(|r| block.len().checked_sub(4 + r))
        .ok_or_else(|| bad("restart array larger than the block"))?;
    let mut c = Cursor::new(&block[..data_end]);
    let mut key: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    while !c.done() {
        let shared = c.varint().ok_or_else(|| bad("entry header"))? as usize;
        let unshared = c.varint().ok_or_else(|| bad("entry header"))? as usize;
        let value_len = c.varint().ok_or_else(|| bad("entry header"))? as usize;
        if shared > key.len() {
            return Err(bad("shared key prefix longer than the previous key"));
        }
        key.truncate(shared);
        key.extend_from_slice(
            c.take(unshared)
                .ok_or_else(|| bad("key runs past the block"))?,
        );
        let value = c
            .take(value_len)
            .ok_or_else(|| bad("value runs past the block"))?;
        let cost = key.len() + value.len() + 2 * std::mem::size_of::<Vec<u8>>();
        *budget = budget.checked_sub(cost).ok_or_else(|| {
            Error::corrupt(
                path,
                format!(
                    "the table's keys and values expand to over {TABLE_EXPANSION} times the \
                     index file's size: corrupt index"
                ),
            )
        })?;
        out.push((key.clone(), value.to_vec()));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Protos

/// Walk the fields of a protobuf message: `(field number, wire type, varint value or bytes)`.
fn proto_fields<'a>(bytes: &'a [u8]) -> Option<Vec<(u64, ProtoValue<'a>)>> {
    let mut c = Cursor::new(bytes);
    let mut out = Vec::new();
    while !c.done() {
        let tag = c.varint()?;
        let value = match tag & 7 {
            0 => ProtoValue::Varint(c.varint()?),
            1 => {
                c.take(8)?;
                ProtoValue::Fixed64
            }
            2 => {
                let len = c.varint()? as usize;
                ProtoValue::Bytes(c.take(len)?)
            }
            5 => ProtoValue::Fixed32(c.fixed32()?),
            _ => return None,
        };
        out.push((tag >> 3, value));
    }
    Some(out)
}

#[derive(Debug, Clone, Copy)]
enum ProtoValue<'a> {
    Varint(u64),
    Fixed64,
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// `BundleHeaderProto { int32 num_shards = 1; Endianness endianness = 2; VersionDef version = 3; }`.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<u32> {
    let fields =
        proto_fields(bytes).ok_or_else(|| Error::corrupt(path, "malformed bundle header"))?;
    let mut shards = 1;
    for (field, value) in fields {
        match (field, value) {
            (1, ProtoValue::Varint(n)) => shards = n as u32,
            (2, ProtoValue::Varint(1)) => {
                return Err(Error::corrupt(
                    path,
                    "big-endian checkpoints are not supported",
                ));
            }
            _ => {}
        }
    }
    Ok(shards)
}

fn tf_dtype(code: u64) -> StoredDtype {
    match code {
        1 => StoredDtype::F32,
        2 => StoredDtype::F64,
        3 => StoredDtype::I32,
        9 => StoredDtype::I64,
        14 => StoredDtype::BF16,
        19 => StoredDtype::F16,
        4 => StoredDtype::Other("DT_UINT8"),
        5 => StoredDtype::Other("DT_INT16"),
        6 => StoredDtype::Other("DT_INT8"),
        7 => StoredDtype::Other("DT_STRING"),
        10 => StoredDtype::Other("DT_BOOL"),
        _ => StoredDtype::Other("DT_UNKNOWN"),
    }
}

/// `BundleEntryProto { DataType dtype = 1; TensorShapeProto shape = 2; int32 shard_id = 3;
/// int64 offset = 4; int64 size = 5; fixed32 crc32c = 6; repeated TensorSliceProto slices = 7; }`.
fn parse_entry(path: &Path, name: &str, bytes: &[u8]) -> Result<BundleEntry> {
    let bad = || Error::corrupt(path, format!("malformed index entry of tensor `{name}`"));
    let mut entry = BundleEntry {
        dtype: StoredDtype::Other("DT_INVALID"),
        shape: Vec::new(),
        shard: 0,
        offset: 0,
        size: 0,
        crc32c: None,
        sliced: false,
    };
    for (field, value) in proto_fields(bytes).ok_or_else(bad)? {
        match (field, value) {
            (1, ProtoValue::Varint(v)) => entry.dtype = tf_dtype(v),
            (2, ProtoValue::Bytes(shape)) => entry.shape = parse_shape(shape).ok_or_else(bad)?,
            (3, ProtoValue::Varint(v)) => entry.shard = v as u32,
            (4, ProtoValue::Varint(v)) => entry.offset = v,
            (5, ProtoValue::Varint(v)) => entry.size = v,
            (6, ProtoValue::Fixed32(v)) => entry.crc32c = Some(v),
            (7, _) => entry.sliced = true,
            _ => {}
        }
    }
    Ok(entry)
}

/// `TensorShapeProto { repeated Dim dim = 2; bool unknown_rank = 3; }`, `Dim { int64 size = 1; }`.
fn parse_shape(bytes: &[u8]) -> Option<Vec<usize>> {
    let mut shape = Vec::new();
    for (field, value) in proto_fields(bytes)? {
        if let (2, ProtoValue::Bytes(dim)) = (field, value) {
            let mut size = 0;
            for (f, v) in proto_fields(dim)? {
                if let (1, ProtoValue::Varint(s)) = (f, v) {
                    size = s as usize;
                }
            }
            shape.push(size);
        }
    }
    Some(shape)
}
