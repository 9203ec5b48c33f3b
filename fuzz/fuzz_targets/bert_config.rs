//! `config.json` (Hugging Face) and `bert_config.json` (Google) parsing.
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::bert::BertConfig;

fuzz_target!(|data: &[u8]| {
    let path = write_file("config.json", data);
    check(data.len(), || {
        if let Ok(config) = BertConfig::from_hf_json(&path) {
            let _ = config.to_hf_json();
        }
        let _ = BertConfig::from_google_json(&path);
    });
});
