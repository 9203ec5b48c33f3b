//! The random BertForMaskedLM: MLM logits in encoder/lm/unilm modes, the TF twin, keep_tokens,
//! incremental decoding, save/reload.

use burn::tensor::{Int, Tensor};
use nlp_models::bert::{
    BertCache, BertCheckpoint, BertInput, BertMode, CheckpointKind, LoadOptions,
};
use nlp_models::checkpoint::SafetensorsFile;
use nlp_models::tokenizer::{read_vocab, simplified_vocab};

use crate::{assert_close, bool_mask, device, expected, fixtures, floats, ints, temp_dir};

const MODES: [(BertMode, &str); 3] = [
    (BertMode::Encoder, "encoder"),
    (BertMode::Lm, "lm"),
    (BertMode::Unilm, "unilm"),
];

pub(crate) fn load(
    dir: &str,
    keep: Option<Vec<usize>>,
) -> (
    nlp_models::bert::Bert,
    nlp_models::bert::LoadReport,
    CheckpointKind,
) {
    let ckpt = BertCheckpoint::open(fixtures().join(dir)).unwrap();
    let config = ckpt.config.clone().with_with_mlm(true);
    let options = LoadOptions {
        keep_tokens: keep,
        ..LoadOptions::default()
    };
    let (model, report) = ckpt.load(&config, &options, &device()).unwrap();
    (model, report, ckpt.kind)
}

pub(crate) fn check_modes(dir: &str) {
    let dev = device();
    let exp = SafetensorsFile::open(fixtures().join("random_mlm/expected.safetensors")).unwrap();
    let (model, _, _) = load(dir, None);
    let ids = ints(&exp, "input_ids", &dev);
    let types = ints(&exp, "token_type_ids", &dev);
    let padding = bool_mask::<2>(&exp, "padding", &dev);
    for (mode, name) in MODES {
        let model = model.clone().with_mode(mode);
        let out = model.forward(
            BertInput::new(ids.clone())
                .token_types(types.clone())
                .padding(padding.clone()),
        );
        let (_, want) = expected(&exp, &format!("logits_{name}"));
        assert_close(
            &floats(out.mlm_logits.unwrap()),
            &want,
            1e-4,
            &format!("{dir} {name} logits"),
        );
        let (_, want_h) = expected(&exp, &format!("hidden_{name}"));
        assert_close(
            &floats(out.last_hidden_state),
            &want_h,
            1e-4,
            &format!("{dir} {name} hidden"),
        );

        // The same mask given explicitly (as HF was given it) gives the same logits.
        let mask = bool_mask::<3>(&exp, &format!("mask_{name}"), &dev);
        let out = model.clone().with_mode(BertMode::Encoder).forward(
            BertInput::new(ids.clone())
                .token_types(types.clone())
                .mask(mask),
        );
        assert_close(
            &floats(out.mlm_logits.unwrap()),
            &want,
            1e-4,
            &format!("{dir} {name} explicit mask"),
        );
    }
}

#[test]
fn hf_safetensors_logits_match_transformers_in_all_modes() {
    check_modes("random_mlm");
}

#[test]
fn google_tf_checkpoint_gives_the_same_outputs() {
    let (_, report, kind) = load("random_mlm_tf", None);
    assert_eq!(kind, CheckpointKind::GoogleTf);
    assert!(
        report.unused.iter().any(|n| n == "global_step"),
        "{:?}",
        report.unused
    );
    assert!(
        report.unused.iter().any(|n| n.ends_with("adam_m")),
        "{:?}",
        report.unused
    );
    check_modes("random_mlm_tf");
}

#[test]
fn keep_tokens_selects_embedding_rows_and_bias() {
    let dev = device();
    let vocab = read_vocab(fixtures().join("random_mlm/vocab.txt")).unwrap();
    let (keep, tokens) = simplified_vocab(&vocab, &["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    for dropped in [
        "中国",
        "北京大学",
        "##们",
        "##的",
        "。。",
        "ok!",
        "[unused1]",
    ] {
        assert!(
            !tokens.iter().any(|t| t == dropped),
            "{dropped} should be dropped"
        );
    }
    for kept in ["hello", "##ing", "的", "，", "a"] {
        assert!(tokens.iter().any(|t| t == kept), "{kept} should be kept");
    }
    assert_eq!(
        &tokens[..5],
        &["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    );

    let exp = SafetensorsFile::open(fixtures().join("random_mlm/expected.safetensors")).unwrap();
    let (model, _, _) = load("random_mlm", Some(keep.clone()));
    assert_eq!(model.vocab_size(), keep.len());
    // Re-map the inputs to the new ids.
    let (shape, old_ids) = exp.read_i64("input_ids").unwrap();
    let new_ids: Vec<i64> = old_ids
        .iter()
        .map(|&id| keep.iter().position(|&k| k as i64 == id).unwrap() as i64)
        .collect();
    let ids = Tensor::<2, Int>::from_data(
        burn::tensor::TensorData::new(new_ids, [shape[0], shape[1]]),
        &dev,
    );
    let out = model.forward(
        BertInput::new(ids)
            .token_types(ints(&exp, "token_type_ids", &dev))
            .padding(bool_mask(&exp, "padding", &dev)),
    );
    let (eshape, full) = expected(&exp, "logits_encoder");
    let v = eshape[2];
    let want: Vec<f32> = full
        .chunks(v)
        .flat_map(|row| keep.iter().map(|&k| row[k]).collect::<Vec<_>>())
        .collect();
    assert_close(
        &floats(out.mlm_logits.unwrap()),
        &want,
        1e-4,
        "keep_tokens logits",
    );

    let err = load_err_keep(vec![0, 100_000]);
    assert!(err.contains("100000"), "{err}");
}

fn load_err_keep(keep: Vec<usize>) -> String {
    let ckpt = BertCheckpoint::open(fixtures().join("random_mlm")).unwrap();
    let options = LoadOptions {
        keep_tokens: Some(keep),
        ..LoadOptions::default()
    };
    ckpt.load(
        &ckpt.config.clone().with_with_mlm(true),
        &options,
        &device(),
    )
    .unwrap_err()
    .to_string()
}

/// Feeding tokens piece by piece through the cache gives the full forward's logits.
/// The pre-norm hook: LayerNorm of `last_pre_norm`, computed here by hand in f64 with the last
/// block's γ, β and ε, is transformers' encoder output in every mode.
#[test]
fn last_pre_norm_is_the_input_of_the_final_layer_norm() {
    let dev = device();
    let exp = SafetensorsFile::open(fixtures().join("random_mlm/expected.safetensors")).unwrap();
    let (model, _, _) = load("random_mlm", None);
    let eps = BertCheckpoint::open(fixtures().join("random_mlm"))
        .unwrap()
        .config
        .layer_norm_eps;
    let norm = &model.layers.last().unwrap().output_norm;
    let gamma = floats(norm.gamma.val());
    let beta = floats(norm.beta.as_ref().unwrap().val());
    let h = gamma.len();
    for (mode, name) in MODES {
        let out = model.clone().with_mode(mode).forward(
            BertInput::new(ints(&exp, "input_ids", &dev))
                .token_types(ints(&exp, "token_type_ids", &dev))
                .padding(bool_mask::<2>(&exp, "padding", &dev))
                .with_last_pre_norm(),
        );
        let pre_norm = floats(out.last_pre_norm.unwrap());
        let mut by_hand = Vec::with_capacity(pre_norm.len());
        for row in pre_norm.chunks(h) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / h as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / h as f64;
            by_hand.extend(row.iter().enumerate().map(|(i, &v)| {
                ((v as f64 - mean) / (var + eps).sqrt() * gamma[i] as f64 + beta[i] as f64) as f32
            }));
        }
        let (_, want) = expected(&exp, &format!("hidden_{name}"));
        // Not the normalised output itself: the hook returns the residual sum.
        let apart = pre_norm
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            apart > 0.1,
            "{name}: last_pre_norm equals the output ({apart})"
        );
        assert_close(&by_hand, &want, 1e-4, &format!("{name} LN(last_pre_norm)"));
    }
}

#[test]
fn incremental_decoding_equals_full_forward() {
    let dev = device();
    let exp = SafetensorsFile::open(fixtures().join("random_mlm/expected.safetensors")).unwrap();
    let (model, _, _) = load("random_mlm", None);
    let (shape, ids) = exp.read_i64("input_ids").unwrap();
    let (_, types) = exp.read_i64("token_type_ids").unwrap();
    let (_, padding) = exp.read_i64("padding").unwrap();
    let len = shape[1];
    // Row 0: unpadded, with a 3-token target (segment 1) at its end.
    let n = padding[..len].iter().filter(|&&p| p != 0).count();
    let row_ids = &ids[..n];
    let row_types = &types[..n];
    let source = row_types.iter().position(|&t| t == 1).unwrap();
    let tensor = |v: &[i64]| {
        Tensor::<2, Int>::from_data(
            burn::tensor::TensorData::new(v.to_vec(), [1, v.len()]),
            &dev,
        )
    };

    for (mode, name) in [(BertMode::Lm, "lm"), (BertMode::Unilm, "unilm")] {
        let model = model.clone().with_mode(mode);
        let full = floats(
            model
                .forward(BertInput::new(tensor(row_ids)).token_types(tensor(row_types)))
                .mlm_logits
                .unwrap(),
        );
        let v = full.len() / n;
        let mut cache = BertCache::new();
        // First piece: the source at once (UniLM) or the first token (LM); then one at a time.
        let first = if mode == BertMode::Unilm { source } else { 1 };
        let mut got = Vec::new();
        let mut start = 0;
        for end in std::iter::once(first).chain(first + 1..=n) {
            let out = model.forward_cached(
                BertInput::new(tensor(&row_ids[start..end]))
                    .token_types(tensor(&row_types[start..end])),
                &mut cache,
            );
            got.extend(floats(out.mlm_logits.unwrap()));
            start = end;
        }
        assert_eq!(cache.len(), n);
        assert_close(&got, &full[..n * v], 1e-4, &format!("{name} incremental"));
        let (_, want) = expected(&exp, &format!("logits_{name}"));
        assert_close(
            &got,
            &want[..n * v],
            1e-4,
            &format!("{name} incremental vs transformers"),
        );
    }
}

#[test]
fn save_then_reload_gives_the_same_logits() {
    let dev = device();
    let (model, _, _) = load("random_mlm_tf", None);
    let ckpt = BertCheckpoint::open(fixtures().join("random_mlm_tf")).unwrap();
    let dir = temp_dir("save");
    model
        .save_pretrained(&ckpt.config.clone().with_with_mlm(true), &dir)
        .unwrap();
    let re = BertCheckpoint::open(&dir).unwrap();
    assert_eq!(re.kind, CheckpointKind::HuggingFace);
    let (reloaded, report) = re
        .load(
            &re.config.clone().with_with_mlm(true),
            &LoadOptions::default(),
            &dev,
        )
        .unwrap();
    assert!(report.unused.is_empty(), "{:?}", report.unused);
    let exp = SafetensorsFile::open(fixtures().join("random_mlm/expected.safetensors")).unwrap();
    let out = reloaded.forward(
        BertInput::new(ints(&exp, "input_ids", &dev))
            .token_types(ints(&exp, "token_type_ids", &dev))
            .padding(bool_mask(&exp, "padding", &dev)),
    );
    let (_, want) = expected(&exp, "logits_encoder");
    assert_close(
        &floats(out.mlm_logits.unwrap()),
        &want,
        1e-4,
        "reloaded logits",
    );
    // NLP_TEST_KEEP_SAVED=1 keeps the directory (to load it back with transformers).
    if std::env::var_os("NLP_TEST_KEEP_SAVED").is_some() {
        eprintln!("saved model kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn missing_head_is_an_error_unless_allowed() {
    let ckpt = BertCheckpoint::open(fixtures().join("random_mlm")).unwrap();
    // BertForMaskedLM has no pooler.
    assert!(!ckpt.config.with_pool);
    let config = ckpt.config.clone().with_with_pool(true);
    let err = ckpt
        .load(&config, &LoadOptions::default(), &device())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pooler") && err.contains("model.safetensors"),
        "{err}"
    );
    let options = LoadOptions {
        allow_missing_heads: true,
        ..LoadOptions::default()
    };
    let (_, report) = ckpt.load(&config, &options, &device()).unwrap();
    assert_eq!(report.missing_heads, vec!["pooler"]);
}
