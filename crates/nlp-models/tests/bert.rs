//! BERT checks against committed fixtures from an independent reference
//! (`scripts/fixtures/make_bert_fixtures.py`: transformers, torch and TensorFlow).
//!
//! One test binary. The device comes from `NLP_TEST_DEVICE` (default `flex`). Checks on the
//! real MiniLM checkpoint need `data-cache/minilm` (`cargo xtask data minilm`) or
//! `NLP_MINILM_DIR`, and are skipped with a message when it is absent — except with `CI=true`,
//! where a missing checkpoint fails the test (CI fetches it first, so a skip would hide a gap).

#[path = "bert/errors.rs"]
mod errors;
#[path = "bert/minilm.rs"]
mod minilm;
#[path = "bert/pytorch.rs"]
mod pytorch;
#[path = "bert/random_mlm.rs"]
mod random_mlm;
#[path = "bert/tokenizer.rs"]
mod tokenizer;

use std::path::PathBuf;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use nlp_models::checkpoint::{SafetensorsFile, TensorSource};

pub fn device() -> Device {
    let name = std::env::var("NLP_TEST_DEVICE").unwrap_or_else(|_| "flex".to_string());
    nlp_core::device::parse_device(&name).expect("NLP_TEST_DEVICE names a compiled-in backend")
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// The MiniLM checkpoint directory, or `None` (with a message) when it is not there. Panics
/// instead under `CI=true`: there the checkpoint must be present.
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NLP_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-cache/minilm")
        });
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "CI=true but the MiniLM checkpoint is missing from {} (run `cargo xtask data minilm`)",
            dir.display()
        );
        eprintln!(
            "SKIPPED: MiniLM checkpoint not found in {} (run `cargo xtask data minilm` or set NLP_MINILM_DIR)",
            dir.display()
        );
        None
    }
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

pub fn ints(file: &SafetensorsFile, name: &str, device: &Device) -> Tensor<2, Int> {
    let (shape, values) = file.read_i64(name).unwrap();
    Tensor::from_data(TensorData::new(values, [shape[0], shape[1]]), device)
}

pub fn bool_mask<const D: usize>(
    file: &SafetensorsFile,
    name: &str,
    device: &Device,
) -> Tensor<D, Bool> {
    let (shape, values) = file.read_i64(name).unwrap();
    let values: Vec<bool> = values.into_iter().map(|v| v != 0).collect();
    let shape: [usize; D] = shape.try_into().unwrap();
    Tensor::from_data(TensorData::new(values, shape), device)
}

pub fn expected(file: &SafetensorsFile, name: &str) -> (Vec<usize>, Vec<f32>) {
    file.read_f32(name).unwrap()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    let diff = max_abs_diff(actual, expected);
    assert!(diff <= tol, "{what}: max abs difference {diff} > {tol}");
}

/// A fresh empty directory under the target dir's tmp.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("nlp-models-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
