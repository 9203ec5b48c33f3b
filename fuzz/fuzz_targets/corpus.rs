//! `nlp-text`'s corpus input: bytes with invalid UTF-8, `\r\n`, long lines, read in batches of a
//! size picked by the first byte, with recording and replay (`corpus_count` runs the counting
//! commands on the same input).
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_text::input::{BatchReader, resolve_inputs};

fuzz_target!(|data: &[u8]| {
    let Some((&knob, text)) = data.split_first() else {
        return;
    };
    let path = write_file("corpus.txt", text);
    check(data.len(), || {
        let Ok(sources) = resolve_inputs(std::slice::from_ref(&path)) else {
            return;
        };
        let batch_bytes = 1 + usize::from(knob & 0x3f);
        let mut reader = BatchReader::new(sources, batch_bytes).recording(1 << 12);
        let mut lines = 0usize;
        while let Ok(Some(batch)) = reader.next_batch() {
            lines += batch.lines().count();
        }
        assert_eq!(lines as u64, reader.stats.lines);
        let _ = reader.stats.warning();
        if let Some(recorded) = reader.take_recording() {
            let mut replay = BatchReader::replay(recorded, reader.stats.clone());
            while let Ok(Some(_)) = replay.next_batch() {}
        }
    });
});
