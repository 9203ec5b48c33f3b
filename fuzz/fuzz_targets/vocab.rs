//! `vocab.txt`: build the WordPiece tokenizer from it, then tokenize, encode and decode fixed
//! texts. The first byte picks lower-casing.
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::tokenizer::{BertTokenizer, read_vocab};

const TEXT: &str = "北京大学的Hello, WORLD! ##ing [UNK] café 東京 🙂 ";

fuzz_target!(|data: &[u8]| {
    let lowercase = data.first().is_some_and(|b| b & 1 == 1);
    let path = write_file("vocab.txt", data);
    check(data.len(), || {
        let _ = read_vocab(&path);
        let Ok(tok) = BertTokenizer::from_vocab(&path, lowercase) else {
            return;
        };
        let _ = tok.vocab_size();
        let _ = tok.tokenize(TEXT);
        if let Ok(enc) = tok.encode(TEXT, Some("短句 pair"), Some(12)) {
            let _ = tok.decode(&enc.ids);
        }
        let _ = tok.id_to_token(0);
    });
});
