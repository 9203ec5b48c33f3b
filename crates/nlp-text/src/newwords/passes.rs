//! The input the discovery reads several times: its sources, or the batches of the first pass.

use std::path::PathBuf;
use std::sync::Arc;

use super::spill_err;
use crate::input::{Batch, BatchReader, InputStats, Source};
use crate::{Error, RunConfig};

/// The input of the passes: the sources, or the first pass's batches kept in memory when they
/// take at most a quarter of the memory budget (so later passes skip reading and checking).
pub(super) struct Passes {
    pub(super) sources: Vec<Source>,
    pub(super) batch_bytes: usize,
    pub(super) cap: usize,
    pub(super) kept: Option<(Arc<Vec<Batch>>, InputStats)>,
}

impl Passes {
    pub(super) fn reader(&self) -> BatchReader {
        match &self.kept {
            Some((b, stats)) => BatchReader::replay(b.clone(), stats.clone()),
            None => BatchReader::new(self.sources.clone(), self.batch_bytes).recording(self.cap),
        }
    }

    pub(super) fn keep(&mut self, reader: &mut BatchReader) {
        if self.kept.is_none() {
            match reader.take_recording() {
                Some(b) => self.kept = Some((b, reader.stats.clone())),
                None => self.cap = 0, // did not fit: later passes read without recording
            }
        }
    }
}

/// Copies stdin (if among the sources) to a temporary file so that it can be read twice.
pub(super) fn spool_stdin(
    sources: Vec<Source>,
    cfg: &RunConfig,
) -> Result<(Vec<Source>, Option<tempfile::NamedTempFile>), Error> {
    if !sources.contains(&Source::Stdin) {
        return Ok((sources, None));
    }
    let mut tmp = match cfg.tmp_dir.as_deref() {
        Some(d) => tempfile::NamedTempFile::new_in(d),
        None => tempfile::NamedTempFile::new(),
    }
    .map_err(spill_err)?;
    std::io::copy(&mut std::io::stdin().lock(), tmp.as_file_mut())
        .map_err(|e| Error::Io(PathBuf::from("<stdin>"), e))?;
    let path = tmp.path().to_path_buf();
    let sources = sources
        .into_iter()
        .map(|s| {
            if s == Source::Stdin {
                Source::File(path.clone())
            } else {
                s
            }
        })
        .collect();
    Ok((sources, Some(tmp)))
}
