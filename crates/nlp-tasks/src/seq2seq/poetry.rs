//! Poem → title pairs from chinese-poetry 2.0.1 (`cargo xtask data poetry`): the Tang
//! (`poet.tang.*.json`) and Song (`poet.song.*.json`) shi of its `quantangshi` collection.
//!
//! Source = the paragraphs joined, cut to [`MAX_SOURCE_CHARS`] characters; target = the title.
//! Poems with an empty title or one over [`MAX_TITLE_CHARS`] characters are dropped. The only
//! normalisation is trimming whitespace at both ends of the title and of each paragraph; the
//! characters stay as the collection has them (traditional). The collection repeats many poems
//! under several ids: of identical sources only the first (in file order) is kept, so that no
//! poem is both trained on and tested. The split is by a hash of the source (FNV-1a, 64 bit):
//! the [`HELD_OUT`] sources of smallest hash are dev, the next [`HELD_OUT`] test, the rest train
//! (in file order).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::pairs::Pair;
use crate::error::{Error, Result};

/// Longest source kept, in characters.
pub const MAX_SOURCE_CHARS: usize = 256;
/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 32;
/// Pairs in each of dev and test of the task's split.
pub const HELD_OUT: usize = 2000;

/// The three splits and what was dropped on the way.
#[derive(Debug, Clone, Default)]
pub struct PoetrySplits {
    /// Training pairs, in file order.
    pub train: Vec<Pair>,
    /// Dev pairs, by hash.
    pub dev: Vec<Pair>,
    /// Test pairs, by hash.
    pub test: Vec<Pair>,
    /// Poems read.
    pub poems: usize,
    /// Dropped for an empty title (or no text).
    pub empty: usize,
    /// Dropped for a title over [`MAX_TITLE_CHARS`].
    pub long_title: usize,
    /// Dropped as a repeat of an earlier source.
    pub duplicates: usize,
}

#[derive(Deserialize)]
struct Poem {
    #[serde(default)]
    title: String,
    #[serde(default)]
    paragraphs: Vec<String>,
}

/// 64-bit FNV-1a of the UTF-8 bytes: a split that never changes between platforms or releases.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The poem files of the `quantangshi` directory under `dir` (searched for, since the npm
/// package nests it under `dist/`; the package's other copies of the same poems, such as
/// `quantangshi/error/`, `rank/` and `strains/`, are not read): Tang first, then Song, each by
/// the number in the file name.
fn poem_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(Error::io(&d))? {
            let path = entry.map_err(Error::io(&d))?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let in_collection = path
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| n == "quantangshi");
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !in_collection {
                continue;
            }
            for (rank, prefix) in ["poet.tang.", "poet.song."].iter().enumerate() {
                if let Some(number) = name
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix(".json"))
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    files.push((rank, number, path.clone()));
                }
            }
        }
    }
    if files.is_empty() {
        return Err(Error::invalid(
            dir,
            "no quantangshi/poet.tang.*.json or poet.song.*.json files (run `cargo xtask data poetry`)",
        ));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}

/// Read every Tang and Song poem under `dir` and split the pairs, `held_out` each for dev and
/// test (see the module docs). `progress` is called with (files done, files in all).
pub fn load_poetry(
    dir: &Path,
    held_out: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<PoetrySplits> {
    let files = poem_files(dir)?;
    let mut splits = PoetrySplits::default();
    let mut seen = HashSet::new();
    let mut pairs = Vec::new();
    for (done, path) in files.iter().enumerate() {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        let poems: Vec<Poem> = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(path, format!("not a list of poems: {e}")))?;
        for poem in poems {
            splits.poems += 1;
            let title = poem.title.trim();
            let text: String = poem.paragraphs.iter().map(|p| p.trim()).collect();
            let src: String = text.chars().take(MAX_SOURCE_CHARS).collect();
            if title.is_empty() || src.is_empty() {
                splits.empty += 1;
            } else if title.chars().count() > MAX_TITLE_CHARS {
                splits.long_title += 1;
            } else if !seen.insert(src.clone()) {
                splits.duplicates += 1;
            } else {
                pairs.push(Pair {
                    src,
                    tgt: title.to_string(),
                });
            }
        }
        progress(done + 1, files.len());
    }
    let mut by_hash: Vec<(u64, usize)> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (fnv1a(&p.src), i))
        .collect();
    by_hash.sort_unstable();
    let mut held = vec![false; pairs.len()];
    for (rank, &(_, i)) in by_hash.iter().enumerate().take(2 * held_out) {
        held[i] = true;
        let split = if rank < held_out {
            &mut splits.dev
        } else {
            &mut splits.test
        };
        split.push(pairs[i].clone());
    }
    splits.train = pairs
        .into_iter()
        .zip(held)
        .filter(|(_, held)| !held)
        .map(|(p, _)| p)
        .collect();
    Ok(splits)
}
