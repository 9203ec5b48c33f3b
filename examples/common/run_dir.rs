//! A run directory holds everything prediction needs: what was trained (`run.json`), the
//! model config, the vocabulary or tokenizer, and the best weights. `eval` and `predict` read
//! only it, never the data or checkpoint training started from.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The run's description file.
const RUN_FILE: &str = "run.json";
/// The tokenizer's folder inside a run.
const TOKENIZER_DIR: &str = "tokenizer";
/// The best epoch's weights, as the training loop writes them.
const BEST_WEIGHTS: &str = "best.bpk";

/// What a run holds (`run.json`).
#[derive(Serialize, Deserialize)]
pub struct RunInfo<M> {
    /// The example that trained it (`ner`, `triples`, …).
    pub task: String,
    /// The model kind.
    pub model: M,
    /// Longest input in units (BERT tokens, or characters).
    pub max_len: usize,
}

/// A training run's directory.
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Create (or reuse, to resume) the directory of a new run described by `info`.
    pub fn create<M: Serialize>(path: &Path, info: &RunInfo<M>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        let run = Self {
            path: path.to_path_buf(),
        };
        run.save_json(RUN_FILE, info)?;
        Ok(run)
    }

    /// Open a finished run of `task` and read its description.
    pub fn open<M: DeserializeOwned>(
        path: &Path,
        task: &str,
    ) -> anyhow::Result<(Self, RunInfo<M>)> {
        if !path.join(RUN_FILE).is_file() {
            bail!(
                "{}: not a run directory (no {RUN_FILE}; `train --out` writes one)",
                path.display()
            );
        }
        let run = Self {
            path: path.to_path_buf(),
        };
        let info: RunInfo<M> = run.load_json(RUN_FILE)?;
        if info.task != task {
            bail!(
                "{}: a `{}` run, not a `{task}` run",
                path.display(),
                info.task
            );
        }
        Ok((run, info))
    }

    /// A file of the run.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Write `value` as JSON, atomically.
    pub fn save_json<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        super::write_atomic(
            &self.file(name),
            serde_json::to_string_pretty(value)?.as_bytes(),
        )
    }

    /// Read a JSON file of the run.
    pub fn load_json<T: DeserializeOwned>(&self, name: &str) -> anyhow::Result<T> {
        let path = self.file(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not the expected JSON", path.display()))
    }

    /// Copy a checkpoint's tokenizer files (`tokenizer.json`, `vocab.txt`) into the run.
    pub fn save_tokenizer(&self, checkpoint: &Path) -> anyhow::Result<()> {
        let to = self.file(TOKENIZER_DIR);
        std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
        let mut copied = false;
        for name in ["tokenizer.json", "vocab.txt"] {
            let src = checkpoint.join(name);
            if src.is_file() {
                std::fs::copy(&src, to.join(name))
                    .with_context(|| format!("copying {} to {}", src.display(), to.display()))?;
                copied = true;
            }
        }
        if !copied {
            bail!("{}: no tokenizer.json or vocab.txt", checkpoint.display());
        }
        Ok(())
    }

    /// The folder holding the run's tokenizer.
    pub fn tokenizer_dir(&self) -> PathBuf {
        self.file(TOKENIZER_DIR)
    }

    /// The best epoch's weights (an error when training has not finished an epoch).
    pub fn best_weights(&self) -> anyhow::Result<PathBuf> {
        let path = self.file(BEST_WEIGHTS);
        if !path.is_file() {
            bail!(
                "{}: no best weights yet (train at least one epoch)",
                path.display()
            );
        }
        Ok(path)
    }
}
