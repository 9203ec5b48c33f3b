//! `pytorch_model.bin`: a zip (or legacy) `torch.save` file whose pickle must never run code,
//! only build known globals, within bounded memory; then every tensor is read.
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::checkpoint::{PytorchFile, TensorSource};

fuzz_target!(|data: &[u8]| {
    let path = write_file("pytorch_model.bin", data);
    check(data.len(), || {
        let Ok(file) = PytorchFile::open(&path) else {
            return;
        };
        for name in file.names() {
            let _ = file.shape(&name);
            let _ = file.read_f32(&name);
        }
    });
});
