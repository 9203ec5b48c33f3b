//! The training checkpoint file (`B4BCKPT1`, three length-prefixed parts, JSON loop state).
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_tasks::train::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let path = write_file("checkpoint.bin", data);
    check(data.len(), || {
        let _ = Checkpoint::load(&path);
    });
});
