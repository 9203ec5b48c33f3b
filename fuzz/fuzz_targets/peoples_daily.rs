//! People's Daily 1998 lines (`word/POS` tokens): `parse_line` on each line and `load` on the
//! whole file, then the BIO tags of every sentence.
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_tasks::ner::peoples_daily::{load, parse_line};

fuzz_target!(|data: &[u8]| {
    let path = write_file("199801.txt", data);
    check(data.len(), || {
        for raw in data.split(|&b| b == b'\n') {
            if let Ok(line) = std::str::from_utf8(raw) {
                let _ = parse_line(line);
            }
        }
        if let Ok(corpus) = load(&path) {
            for s in corpus.train.iter().chain(&corpus.dev).chain(&corpus.test) {
                let _ = s.bio_tags();
            }
        }
    });
});
