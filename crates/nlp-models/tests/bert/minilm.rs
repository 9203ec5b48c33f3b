//! The real all-MiniLM-L6-v2 checkpoint against transformers: hidden states, pooler, tokens.

use burn::tensor::{Int, Tensor, TensorData};
use nlp_models::bert::{Bert, BertInput};
use nlp_models::checkpoint::SafetensorsFile;
use nlp_models::tokenizer::BertTokenizer;
use serde_json::Value;

use crate::{
    assert_close, bool_mask, device, expected, fixtures, floats, ints, max_abs_diff, minilm_dir,
};

fn meta() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("minilm.json")).unwrap()).unwrap()
}

#[test]
fn minilm_hidden_states_and_pooler_match_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let dev = device();
    let model = Bert::load(&dir, &dev).unwrap();
    assert!(model.pooler.is_some());
    let exp = SafetensorsFile::open(fixtures().join("minilm.safetensors")).unwrap();
    for case in ["single0", "single1", "pair", "batch"] {
        let out = model.forward(
            BertInput::new(ints(&exp, &format!("{case}.input_ids"), &dev))
                .token_types(ints(&exp, &format!("{case}.token_type_ids"), &dev))
                .padding(bool_mask(&exp, &format!("{case}.attention_mask"), &dev)),
        );
        let (_, want) = expected(&exp, &format!("{case}.last_hidden_state"));
        let got = floats(out.last_hidden_state);
        eprintln!(
            "minilm {case}: last_hidden_state max abs diff {:.2e}",
            max_abs_diff(&got, &want)
        );
        assert_close(&got, &want, 1e-4, &format!("{case} last_hidden_state"));
        let (_, want) = expected(&exp, &format!("{case}.pooler_output"));
        assert_close(
            &floats(out.pooler_output.unwrap()),
            &want,
            1e-4,
            &format!("{case} pooler"),
        );
    }
}

#[test]
fn minilm_tokenizer_ids_and_offsets_match_transformers() {
    let Some(dir) = minilm_dir() else { return };
    let tok = BertTokenizer::from_dir(&dir, true).unwrap();
    check_cases(&tok, &meta());

    // Our encoding of the batch texts gives the fixture's model inputs.
    let exp = SafetensorsFile::open(fixtures().join("minilm.safetensors")).unwrap();
    let (_, ids) = exp.read_i64("single0.input_ids").unwrap();
    let enc = tok
        .encode(meta()["singles"][0].as_str().unwrap(), None, None)
        .unwrap();
    assert_eq!(enc.ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), ids);
    let _ = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64], [1]), &device());
}

/// Compare every case of a fixture file (`ids`, `type_ids`, `offsets`).
pub fn check_cases(tok: &BertTokenizer, meta: &Value) {
    for case in meta["cases"].as_array().unwrap() {
        let a = case["a"].as_str().unwrap();
        let b = case["b"].as_str();
        let maxlen = case["maxlen"].as_u64().map(|n| n as usize);
        let enc = tok.encode(a, b, maxlen).unwrap();
        let want_ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let want_types: Vec<u32> = serde_json::from_value(case["type_ids"].clone()).unwrap();
        let want_offsets: Vec<(usize, usize)> = case["offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o[0].as_u64().unwrap() as usize,
                    o[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert_eq!(
            enc.ids, want_ids,
            "ids of {a:?} / {b:?} (tokens {:?})",
            enc.tokens
        );
        assert_eq!(enc.type_ids, want_types, "type ids of {a:?} / {b:?}");
        assert_eq!(
            enc.offsets, want_offsets,
            "offsets of {a:?} / {b:?} (tokens {:?})",
            enc.tokens
        );
    }
}
