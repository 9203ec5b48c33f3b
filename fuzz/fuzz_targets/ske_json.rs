//! SKE / DuIE JSON lines: the schema file and the samples file (the input is split in two, see
//! `split2`), then every sample's triples located in its text.
#![no_main]

use bert4burn_fuzz::{check, split2, write_file};
use libfuzzer_sys::fuzz_target;
use nlp_tasks::triples::data::{load_samples, load_schema, locate};

fuzz_target!(|data: &[u8]| {
    let (schema, samples) = split2(data);
    let schema_path = write_file("schema.json", schema);
    let samples_path = write_file("train.json", samples);
    check(data.len(), || {
        let Ok(schema) = load_schema(&schema_path) else {
            return;
        };
        let _ = load_schema(&samples_path);
        let Ok(samples) = load_samples(&samples_path, &schema) else {
            return;
        };
        for sample in &samples {
            let _ = locate(sample, &schema);
        }
    });
});
