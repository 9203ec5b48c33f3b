//! A TF checkpoint: the index (an SSTable of bundle entries) and its data shard. The input is
//! split in two (see `split2`): the index bytes, then the shard bytes; every tensor is read.
#![no_main]

use bert4burn_fuzz::{check, split2, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::checkpoint::{TensorSource, TfCheckpoint};

fuzz_target!(|data: &[u8]| {
    let (index, shard) = split2(data);
    let index_path = write_file("ckpt.index", index);
    write_file("ckpt.data-00000-of-00001", shard);
    check(data.len(), || {
        let Ok(ckpt) = TfCheckpoint::open(&index_path) else {
            return;
        };
        for name in ckpt.names() {
            let _ = ckpt.shape(&name);
            let _ = ckpt.read_f32(&name);
        }
    });
});
