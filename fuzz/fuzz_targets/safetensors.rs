//! `model.safetensors`: header length, JSON header, data offsets; then every tensor it lists is
//! read through the normal read path (`read_f32`, and `read_i64` for integer tensors).
#![no_main]

use bert4burn_fuzz::{check, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_models::checkpoint::{SafetensorsFile, TensorSource};

fuzz_target!(|data: &[u8]| {
    let path = write_file("model.safetensors", data);
    check(data.len(), || {
        let Ok(file) = SafetensorsFile::open(&path) else {
            return;
        };
        for name in file.names() {
            let _ = file.contains(&name);
            let _ = file.shape(&name);
            let _ = file.read_f32(&name);
            let _ = file.read_i64(&name);
        }
        let _ = file.read_f32("not.a.tensor");
    });
});
