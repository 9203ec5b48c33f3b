//! Bad checkpoints and configs give one error naming the file, the tensor and the shapes.

use std::path::Path;

use nlp_models::Error;
use nlp_models::bert::{BertCheckpoint, BertMode, LoadOptions};
use nlp_models::checkpoint::{PytorchFile, SafetensorsFile, TensorSource, TfCheckpoint};

use crate::{device, fixtures, temp_dir};

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

pub(crate) fn load_err(dir: &Path) -> Error {
    match BertCheckpoint::open(dir) {
        Err(e) => e,
        Ok(ckpt) => {
            let config = ckpt.config.clone().with_with_mlm(true);
            ckpt.load(&config, &LoadOptions::default(), &device())
                .unwrap_err()
        }
    }
}

#[test]
fn truncated_safetensors_names_the_tensor() {
    let dir = temp_dir("trunc-st");
    copy_dir(&fixtures().join("random_mlm"), &dir);
    let file = dir.join("model.safetensors");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("model.safetensors") && msg.contains("truncated") && msg.contains('['),
        "{msg}"
    );
}

#[test]
fn shape_mismatch_names_both_shapes() {
    let dir = temp_dir("shape");
    copy_dir(&fixtures().join("random_mlm"), &dir);
    let config = dir.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vocab = json["vocab_size"].as_u64().unwrap();
    json["vocab_size"] = (vocab + 7).into();
    std::fs::write(&config, json.to_string()).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("bert.embeddings.word_embeddings.weight")
            && err.contains(&format!("[{}, 32]", vocab + 7))
            && err.contains(&format!("[{vocab}, 32]")),
        "{err}"
    );
}

#[test]
fn missing_tensor_and_unsupported_dtype() {
    let dir = temp_dir("missing");
    copy_dir(&fixtures().join("random_mlm"), &dir);
    let file = dir.join("model.safetensors");
    let mut bytes = std::fs::read(&file).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap();
    // Rename one tensor (same length, so offsets stay valid): it is then missing.
    let renamed = header.replace(
        "encoder.layer.1.output.dense.weight",
        "encoder.layer.1.output.dense.wEIGHT",
    );
    bytes[8..8 + header_len].copy_from_slice(renamed.as_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("encoder.layer.1.output.dense.weight") && err.contains("missing"),
        "{err}"
    );

    // Declare one weight as I32 (same byte size): unsupported dtype, named.
    let key = "\"bert.encoder.layer.0.output.dense.bias\":{\"dtype\":\"F32\"";
    assert!(
        header.contains(key),
        "fixture header layout changed: {header}"
    );
    let retyped = header.replace(key, &key.replace("F32", "I32"));
    bytes[8..8 + header_len].copy_from_slice(retyped.as_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, Error::UnsupportedDtype { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("bert.encoder.layer.0.output.dense.bias"),
        "{err}"
    );
}

#[test]
fn broken_tf_checkpoints_are_errors() {
    // Truncated data shard.
    let dir = temp_dir("trunc-tf");
    copy_dir(&fixtures().join("random_mlm_tf"), &dir);
    let data = dir.join("bert_model.ckpt.data-00000-of-00001");
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() - 100]).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("data-00000-of-00001"), "{err}");

    // A flipped byte in the data: crc32c.
    let mut flipped = bytes.clone();
    flipped[1000] ^= 0x55;
    std::fs::write(&data, &flipped).unwrap();
    let err = load_err(&dir).to_string();
    assert!(err.contains("crc32c"), "{err}");

    // Truncated or corrupted index.
    std::fs::write(&data, &bytes).unwrap();
    let index = dir.join("bert_model.ckpt.index");
    let ibytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &ibytes[..ibytes.len() - 10]).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("bert_model.ckpt.index") && err.contains("corrupt"),
        "{err}"
    );
    let mut bad = ibytes.clone();
    bad[20] ^= 0xff;
    std::fs::write(&index, &bad).unwrap();
    let err = load_err(&dir).to_string();
    assert!(err.contains("bert_model.ckpt.index"), "{err}");
}

#[test]
fn config_errors_name_the_field() {
    let dir = temp_dir("config");
    copy_dir(&fixtures().join("random_mlm_tf"), &dir);
    let config = dir.join("bert_config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json.as_object_mut().unwrap().remove("vocab_size");
    std::fs::write(&config, json.to_string()).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("bert_config.json") && err.contains("vocab_size") && err.contains("missing"),
        "{err}"
    );

    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["hidden_act"] = "swooshy".into();
    std::fs::write(&config, json.to_string()).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("hidden_act") && err.contains("swooshy"),
        "{err}"
    );

    let err = load_err(&dir.join("nope")).to_string();
    assert!(err.contains("not a directory"), "{err}");
    let empty = temp_dir("empty");
    let err = load_err(&empty).to_string();
    assert!(err.contains("no model.safetensors"), "{err}");
}

/// `is_decoder` alone (transformers' `BertLMHeadModel`) opens as a causal LM; a decoder with
/// cross-attention is refused, naming the field.
#[test]
fn causal_decoder_configs_open_in_lm_mode() {
    let dir = temp_dir("decoder");
    copy_dir(&fixtures().join("random_mlm"), &dir);
    let config = dir.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["is_decoder"] = true.into();
    std::fs::write(&config, json.to_string()).unwrap();
    let ckpt = BertCheckpoint::open(&dir).unwrap();
    assert_eq!(ckpt.config.mode, BertMode::Lm);
    json["add_cross_attention"] = true.into();
    std::fs::write(&config, json.to_string()).unwrap();
    let err = load_err(&dir).to_string();
    assert!(
        err.contains("config.json") && err.contains("add_cross_attention"),
        "{err}"
    );
}

/// A crash reproducer found by fuzzing, committed under `fuzz/regressions/TARGET/NAME`.
fn reproducer(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The two files of a two-part fuzz input: a little-endian `u16` length, the first, the rest.
fn split2(data: &[u8]) -> (&[u8], &[u8]) {
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])).min(data.len() - 2);
    (&data[2..2 + n], &data[2 + n..])
}

#[test]
fn fuzzed_safetensors_headers_are_errors() {
    let dir = temp_dir("fuzz-st");
    let file = dir.join("model.safetensors");
    for (name, expected) in [
        // data_offsets near u64::MAX overflowed the data start.
        ("offset_overflow", "truncated"),
        // A shape whose element count overflows usize.
        ("shape_overflow", "shape"),
    ] {
        std::fs::write(&file, reproducer("safetensors", name)).unwrap();
        let st = SafetensorsFile::open(&file).unwrap();
        for tensor in st.names() {
            let errors = [
                st.read_f32(&tensor).unwrap_err().to_string(),
                st.read_i64(&tensor).unwrap_err().to_string(),
            ];
            for err in errors {
                assert!(
                    err.contains("model.safetensors") && err.contains(expected),
                    "{name}: {err}"
                );
            }
        }
    }
}

#[test]
fn fuzzed_tf_indexes_are_errors() {
    let dir = temp_dir("fuzz-tf");
    for (name, expected) in [
        // Block handles near u64::MAX overflowed the error message's arithmetic.
        ("block_handle_overflow", "runs past the end of the file"),
        // A 5-byte snappy block claiming 4 GiB was allocated before decoding.
        ("snappy_claims_4gib", "claims 4294967295 bytes"),
        // A shape whose element count overflows usize.
        ("shape_overflow", "too large for any file"),
        // Prefix-compressed keys expanding a 2 KB index to 96 MB.
        ("shared_key_blowup", "expand to over"),
    ] {
        let data = reproducer("tf_checkpoint", name);
        let (index, shard) = split2(&data);
        std::fs::write(dir.join("ckpt.index"), index).unwrap();
        std::fs::write(dir.join("ckpt.data-00000-of-00001"), shard).unwrap();
        let err = match TfCheckpoint::open(dir.join("ckpt")) {
            Err(e) => e,
            Ok(ckpt) => ckpt
                .names()
                .iter()
                .find_map(|n| ckpt.read_f32(n).err())
                .expect("a tensor read fails"),
        }
        .to_string();
        assert!(
            err.contains("ckpt.") && err.contains(expected),
            "{name}: {err}"
        );
    }
}

#[test]
fn fuzzed_pickle_memory_bomb_is_refused_before_it_is_run() {
    // `] 2 a 2 a …`: DUP + APPEND doubles a list every two bytes; 120 bytes once cost
    // pytorch-reader's pickle machine over 64 MiB.
    let path = temp_dir("fuzz-pt").join("pytorch_model.bin");
    std::fs::write(&path, reproducer("pytorch", "pickle_dup_append_blowup")).unwrap();
    let err = PytorchFile::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("pytorch_model.bin") && err.contains("memory bomb"),
        "{err}"
    );
    // The TAR layout of PyTorch before 0.1.10 is not walked, so it is refused by name.
    let mut tar = vec![0u8; 1024];
    tar[257..262].copy_from_slice(b"ustar");
    std::fs::write(&path, tar).unwrap();
    let err = PytorchFile::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("pytorch_model.bin") && err.contains("TAR"),
        "{err}"
    );
}

#[test]
fn a_tensor_larger_than_its_file_is_refused_before_it_is_read() {
    // The dtype fixture with the `f32` tensor's storage and shape claiming 2^28 floats (1 GiB)
    // in a 2 KB file (made by fuzz/make_seeds.py).
    let path = temp_dir("pt-oversized").join("pytorch_model.bin");
    std::fs::write(&path, reproducer("pytorch", "shape_beyond_file")).unwrap();
    let pt = PytorchFile::open(&path).unwrap();
    assert_eq!(pt.shape("f32"), Some(vec![16384, 16384]));
    let err = pt.read_f32("f32").unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("pytorch_model.bin")
            && msg.contains("`f32`")
            && msg.contains("more than the file"),
        "{msg}"
    );
    // The other tensors of the file still read.
    assert_eq!(pt.read_f32("f16").unwrap().0, vec![2, 3]);
}
