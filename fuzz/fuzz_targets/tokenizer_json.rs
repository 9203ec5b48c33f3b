//! `tokenizer.json` (Hugging Face tokenizers), then tokenize and encode fixed texts.
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::tokenizer::BertTokenizer;

const TEXT: &str = "北京大学的Hello, WORLD! ##ing [UNK] café 東京 🙂 ";

fuzz_target!(|data: &[u8]| {
    let path = write_file("tokenizer.json", data);
    check(data.len(), || {
        let Ok(tok) = BertTokenizer::from_tokenizer_json(&path) else {
            return;
        };
        let _ = tok.vocab_size();
        let _ = tok.tokenize(TEXT);
        if let Ok(enc) = tok.encode(TEXT, Some("短句 pair"), Some(12)) {
            let _ = tok.decode(&enc.ids);
        }
    });
});
