//! The one error type of `nlp-tasks`. Every variant about a file names it (and the line, for
//! data files), so the message alone tells the user what to fix.

use std::path::{Path, PathBuf};

use nlp_optim::OptimError;

/// Why a task could not load its data, train, or save and load its model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A bad line of a data file (not UTF-8, a token without a tag, bad JSON, a predicate the
    /// schema lacks).
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// One-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A data file with nothing to use in it.
    #[error("{path}: no {what}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// What it lacks ("sentences", "lines").
        what: &'static str,
    },
    /// A file that does not fit: a tagger directory's parts, a checkpoint, model weights.
    #[error("{path}: {what}")]
    Invalid {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// An optimizer problem (e.g. its saved state does not fit).
    #[error("optimizer: {0}")]
    Optimizer(#[from] OptimError),
    /// A model or tokenizer problem (e.g. a dev text that does not tokenize).
    #[error(transparent)]
    Model(#[from] nlp_models::Error),
    /// The name pools cannot fill the synthetic triples templates.
    #[error(
        "too few names to fill the templates (need 4 persons, 3 places, 2 organisations in each \
         of train and dev; have train {train:?}, dev {dev:?})"
    )]
    TooFewNames {
        /// (persons, places, organisations) for training.
        train: (usize, usize, usize),
        /// The same for dev.
        dev: (usize, usize, usize),
    },
    /// Generation settings or a model that do not fit (e.g. `n_best` above `beams`, a step
    /// where no token is allowed).
    #[error("generation: {0}")]
    Generation(String),
    /// A reading-comprehension reader that cannot run (a vocabulary without `[MASK]`, model
    /// outputs that do not fit).
    #[error("reader: {0}")]
    Reader(String),
    /// Nothing to train on.
    #[error("no training examples")]
    NoExamples,
    /// The loss became NaN or infinite.
    #[error("loss is {loss} at step {step}")]
    Diverged {
        /// The step.
        step: usize,
        /// The loss value.
        loss: f64,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error on `path`, for `map_err`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A file that does not fit.
    pub(crate) fn invalid(path: &Path, what: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}
