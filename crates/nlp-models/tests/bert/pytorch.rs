//! `pytorch_model.bin`: the random BertForMaskedLM saved by `torch.save(model.state_dict())`
//! gives transformers' logits; element types, layouts and broken files.

use std::path::Path;

use nlp_models::Error;
use nlp_models::bert::{BertCheckpoint, CheckpointKind};
use nlp_models::checkpoint::{PytorchFile, TensorSource};

use crate::errors::{copy_dir, load_err};
use crate::random_mlm::{check_modes, load};
use crate::{fixtures, temp_dir};

#[test]
fn hf_pytorch_model_bin_logits_match_transformers_in_all_modes() {
    let (_, report, kind) = load("random_mlm_pt", None);
    assert_eq!(kind, CheckpointKind::HuggingFacePytorch);
    // The state dict repeats the tied decoder weight and bias under their own names.
    assert!(
        report
            .unused
            .iter()
            .all(|n| n.starts_with("cls.predictions.decoder.")),
        "{:?}",
        report.unused
    );
    check_modes("random_mlm_pt");
}

#[test]
fn pytorch_model_bin_holds_the_same_weights_as_model_safetensors() {
    let pt = PytorchFile::open(fixtures().join("random_mlm_pt/pytorch_model.bin")).unwrap();
    let st = nlp_models::checkpoint::SafetensorsFile::open(
        fixtures().join("random_mlm/model.safetensors"),
    )
    .unwrap();
    for name in st.names() {
        assert_eq!(
            pt.read_f32(&name).unwrap(),
            st.read_f32(&name).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn safetensors_is_preferred_when_both_exist() {
    let dir = temp_dir("pt-both");
    copy_dir(&fixtures().join("random_mlm"), &dir);
    // Not even a PyTorch file: it must not be opened at all.
    std::fs::write(dir.join("pytorch_model.bin"), b"not a checkpoint").unwrap();
    let ckpt = BertCheckpoint::open(&dir).unwrap();
    assert_eq!(ckpt.kind, CheckpointKind::HuggingFace);
    assert!(ckpt.source.path().ends_with("model.safetensors"));
}

fn check_dtypes(file: &str) {
    let path = fixtures().join(file);
    let pt = PytorchFile::open(&path).unwrap();
    let want = vec![0.5, -1.25, 2.0, 3.0, -0.125, 1024.0];
    for name in ["f32", "f16", "bf16", "f64"] {
        assert_eq!(pt.shape(name), Some(vec![2, 3]), "{file} {name}");
        assert_eq!(
            pt.read_f32(name).unwrap(),
            (vec![2, 3], want.clone()),
            "{file} {name}"
        );
    }
    // A transposed view is gathered into row-major order.
    assert_eq!(
        pt.read_f32("f32_t").unwrap(),
        (vec![3, 2], vec![0.5, 3.0, -1.25, -0.125, 2.0, 1024.0]),
        "{file} f32_t"
    );
    let err = pt.read_f32("i64").unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(file) && msg.contains("`i64`") && msg.contains("I64"),
        "{msg}"
    );
    let err = pt.read_f32("nope").unwrap_err().to_string();
    assert!(err.contains(file) && err.contains("`nope`"), "{err}");
}

#[test]
fn half_and_double_tensors_read_as_f32_and_integers_are_refused() {
    check_dtypes("pytorch_dtypes.bin");
}

#[test]
fn pre_zip_torch_save_format_reads_the_same() {
    check_dtypes("pytorch_dtypes_legacy.bin");
}

fn assert_names_file(err: &Error, file: &str) {
    let msg = err.to_string();
    assert!(msg.contains(file), "{msg}");
}

#[test]
fn truncated_pytorch_model_bin_is_an_error_naming_the_file() {
    let source = fixtures().join("random_mlm_pt");
    let bytes = std::fs::read(source.join("pytorch_model.bin")).unwrap();
    let dir = temp_dir("trunc-pt");
    copy_dir(&source, &dir);
    let file = dir.join("pytorch_model.bin");
    for len in [0, 10, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&file, &bytes[..len]).unwrap();
        let err = load_err(&dir);
        assert!(matches!(err, Error::Corrupt { .. }), "{len} bytes: {err}");
        assert_names_file(&err, "pytorch_model.bin");
    }
    // Legacy format cut short.
    let legacy = std::fs::read(fixtures().join("pytorch_dtypes_legacy.bin")).unwrap();
    let path = dir.join("legacy.bin");
    for len in [legacy.len() / 2, legacy.len() - 1] {
        std::fs::write(&path, &legacy[..len]).unwrap();
        let err = PytorchFile::open(&path)
            .and_then(|pt| pt.read_f32("f32"))
            .unwrap_err();
        assert_names_file(&err, "legacy.bin");
    }
}

#[test]
fn missing_files_are_errors_naming_them() {
    let err = PytorchFile::open(Path::new("/nonexistent/pytorch_model.bin")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert_names_file(&err, "/nonexistent/pytorch_model.bin");

    // pytorch_model.bin without config.json.
    let dir = temp_dir("pt-noconfig");
    std::fs::copy(
        fixtures().join("random_mlm_pt/pytorch_model.bin"),
        dir.join("pytorch_model.bin"),
    )
    .unwrap();
    let err = load_err(&dir);
    assert_names_file(&err, "config.json");
}
