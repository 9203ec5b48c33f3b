//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use nlp_text::RunConfig;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Unlimited memory, `threads` workers.
pub fn cfg(threads: usize) -> RunConfig {
    RunConfig {
        threads,
        mem_budget: usize::MAX / 4,
        quiet: true,
        ..RunConfig::default()
    }
}

/// A budget so small that every batch spills, with small batches so that there are many runs.
pub fn tiny_cfg(threads: usize, batch_bytes: usize) -> RunConfig {
    RunConfig {
        threads,
        mem_budget: 1,
        quiet: true,
        batch_bytes,
        ..RunConfig::default()
    }
}

pub fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
