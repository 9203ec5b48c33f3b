//! Training checkpoints: model, optimizer (with EMA and schedule), and loop position, in one file
//! written atomically (temporary file, fsync, rename), so a run killed at any moment leaves either
//! the previous checkpoint or the new one, never a torn file.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"B4BCKPT1";

/// Where the loop stands; enough to continue exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Epoch being run (0-based).
    pub epoch: usize,
    /// Batches of this epoch already done.
    pub batch_in_epoch: usize,
    /// Optimizer steps taken in total.
    pub global_step: usize,
    /// Best evaluation score so far.
    pub best_score: Option<f64>,
    /// Epoch of the best score.
    pub best_epoch: Option<usize>,
    /// Mean training loss of each finished epoch.
    pub epoch_losses: Vec<f64>,
    /// Evaluation score of each finished epoch.
    pub epoch_scores: Vec<f64>,
    /// Loss of every step (for the curve).
    pub step_losses: Vec<f64>,
    /// Sum of this epoch's losses so far.
    pub running_loss: f64,
    /// Seconds spent training, over all runs.
    pub train_seconds: f64,
}

/// The three parts of a checkpoint.
pub struct Checkpoint {
    /// Loop position and history.
    pub state: LoopState,
    /// Model parameters (burnpack bytes).
    pub model: Vec<u8>,
    /// Optimizer state (burnpack bytes from `ModelOptimizer::to_bytes`).
    pub optimizer: Vec<u8>,
}

impl Checkpoint {
    /// Write atomically to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let state = serde_json::to_vec(&self.state).expect("loop state serializes");
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
            f.write_all(MAGIC).map_err(io)?;
            for part in [&state, &self.model, &self.optimizer] {
                f.write_all(&(part.len() as u64).to_le_bytes())
                    .map_err(io)?;
                f.write_all(part).map_err(io)?;
            }
            let f = f.into_inner().map_err(|e| io(e.into_error()))?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Read a checkpoint written by [`save`](Self::save).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        let corrupt = |what: &str| Error::invalid(path, what);
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(corrupt("not a bert4burn checkpoint (bad magic)"));
        }
        let mut at = 8;
        let mut parts = Vec::new();
        for name in ["state", "model", "optimizer"] {
            let len_bytes: [u8; 8] = bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt(&format!("truncated before the {name} length")))?;
            let len = u64::from_le_bytes(len_bytes);
            at += 8;
            let end = usize::try_from(len)
                .ok()
                .and_then(|len| at.checked_add(len))
                .filter(|&end| end <= bytes.len());
            let part = end.and_then(|end| bytes.get(at..end)).ok_or_else(|| {
                corrupt(&format!(
                    "truncated inside the {name} part ({len} bytes expected)"
                ))
            })?;
            parts.push(part.to_vec());
            at += part.len();
        }
        let optimizer = parts.pop().unwrap_or_default();
        let model = parts.pop().unwrap_or_default();
        let state =
            serde_json::from_slice(&parts[0]).map_err(|e| corrupt(&format!("loop state: {e}")))?;
        Ok(Self {
            state,
            model,
            optimizer,
        })
    }
}
