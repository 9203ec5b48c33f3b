//! One error type for loading, saving and tokenizing: every variant names the file, and where a
//! tensor is involved, the tensor and the shapes.

use std::path::PathBuf;

/// Why a checkpoint, config, vocabulary or input could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not in the expected format (bad header, bad magic, bad checksum, …).
    #[error("{path}: corrupt file: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor the model needs is not in the checkpoint.
    #[error("{path}: tensor `{tensor}` is missing (expected shape {expected:?})")]
    MissingTensor {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name in the checkpoint.
        tensor: String,
        /// The shape the model expects, in the checkpoint's layout.
        expected: Vec<usize>,
    },
    /// A tensor has another shape than the model expects.
    #[error("{path}: tensor `{tensor}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name in the checkpoint.
        tensor: String,
        /// The shape the model expects, in the checkpoint's layout.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored in a dtype that cannot be turned into floats.
    #[error("{path}: tensor `{tensor}` (shape {shape:?}) has unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// The checkpoint file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The dtype, as the file names it.
        dtype: String,
    },
    /// A tensor's bytes run past the end of its file.
    #[error(
        "{path}: tensor `{tensor}` (shape {shape:?}) is truncated: needs bytes {start}..{end} but the file has {file_len} bytes"
    )]
    Truncated {
        /// The data file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// Its shape.
        shape: Vec<usize>,
        /// First byte of the tensor.
        start: u64,
        /// One past its last byte.
        end: u64,
        /// Length of the file.
        file_len: u64,
    },
    /// A config field is missing, has the wrong type or an unsupported value.
    #[error("{path}: config field `{field}`: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// The field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A directory holds no checkpoint this crate can read.
    #[error("{path}: {reason}")]
    NotACheckpoint {
        /// The directory.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// The tokenizer could not be built or failed on an input.
    #[error("{path}: tokenizer: {reason}")]
    Tokenizer {
        /// The vocabulary or tokenizer file.
        path: PathBuf,
        /// The underlying error.
        reason: String,
    },
    /// A bad argument (e.g. a `keep_tokens` id outside the vocabulary).
    #[error("{0}")]
    Invalid(String),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// `tensor` is not in the file at `path` (looked up by name, before any shape is known).
    pub(crate) fn missing_tensor(path: impl Into<PathBuf>, tensor: &str) -> Self {
        Self::MissingTensor {
            path: path.into(),
            tensor: tensor.to_string(),
            expected: Vec::new(),
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
