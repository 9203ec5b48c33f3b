//! Decompresses the embedded jieba dictionary at build time, so that the binary holds it as a
//! `&'static str` (checked UTF-8 at compile time) and loading skips inflating and validating.

use std::io::Read;
use std::path::PathBuf;

fn main() {
    let src = "data/jieba-0.42.1-dict.txt.gz";
    println!("cargo:rerun-if-changed={src}");
    let gz = std::fs::read(src).unwrap_or_else(|e| panic!("cannot read {src}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{src} is not gzipped UTF-8: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("jieba-dict.txt");
    std::fs::write(&out, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
