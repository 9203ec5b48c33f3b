//! `cargo xtask bench decode`: MiniLM-L6 decoding, 256-token sources and 32 new tokens.
//!
//! Ours: `cargo bench --bench decode` in its report mode (release build): UniLM beam 4 with
//! the key/value cache against a full recompute at every step (goal ≥ 5×, same tokens), UniLM
//! greedy tokens/s at batch 1 and 32, and the causal decoder (LM mode) greedy and beam 4.
//! Peer, in the same run: transformers' `generate` (KV cache on) on the same weights saved
//! once as `BertLMHeadModel` (`scripts/peers/hf_generate.py`, into `data-cache/minilm-lm`),
//! compared with our LM mode (goal ≥ 1.5× its tokens/s) and token for token.
//!
//! Flags: `--model DIR` (default data-cache/minilm), `--python PATH`, `--profile P` (a cargo
//! profile instead of `bench`, e.g. `dev`, whose dependencies are optimised too: no second
//! optimised build of Burn on a machine that has the dev one).

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{cargo_bench, find_python, parse_lines, repo_root, run_checked};

type Line = BTreeMap<String, String>;

fn get<'a>(line: &'a Line, key: &str) -> &'a str {
    line.get(key).map_or("?", String::as_str)
}

fn number(line: &Line, key: &str) -> Option<f64> {
    line.get(key).and_then(|v| v.parse().ok())
}

fn find<'a>(lines: &'a [Line], case: &str, batch: &str) -> Option<&'a Line> {
    lines
        .iter()
        .find(|l| get(l, "case") == case && get(l, "batch") == batch)
}

/// Run the benchmark; `args` are the words after `bench decode`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let root = repo_root();
    let mut model = root.join("data-cache/minilm");
    let mut python = None;
    let mut profile = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => model = value()?.into(),
            "--python" => python = Some(value()?.clone()),
            "--profile" => profile = Some(value()?.clone()),
            "-h" | "--help" => {
                println!("cargo xtask bench decode [--model DIR] [--python PATH] [--profile P]");
                return Ok(());
            }
            other => bail!("unknown flag `{other}` (try --help)"),
        }
    }
    if !model.join("model.safetensors").is_file() {
        bail!(
            "no MiniLM checkpoint in {} (run `cargo xtask data minilm`, or pass --model DIR)",
            model.display()
        );
    }
    let script = root.join("scripts/peers/hf_generate.py");
    let lm_dir = root.join("data-cache/minilm-lm");
    let python = find_python(python, &root);
    match &python {
        Some(py) if !lm_dir.join("model.safetensors").is_file() => {
            eprintln!(
                "saving MiniLM as a BertLMHeadModel into {} …",
                lm_dir.display()
            );
            run_checked(
                Command::new(py)
                    .arg(&script)
                    .arg("save")
                    .arg(&model)
                    .arg(&lm_dir),
            )?;
        }
        Some(_) => {}
        None => eprintln!(
            "no Python with torch and transformers found (--python, $NLP_PYTHON, .venv, python3): \
             the transformers side and our LM-mode cases are skipped"
        ),
    }

    eprintln!("building and running ours (cargo bench --bench decode) …");
    let mut envs = vec![
        ("DECODE_BENCH_REPORT", std::ffi::OsStr::new("1")),
        ("DECODE_BENCH_MODEL", model.as_os_str()),
    ];
    if python.is_some() {
        envs.push(("DECODE_BENCH_LM", lm_dir.as_os_str()));
    }
    let stdout = cargo_bench("decode", None, profile.as_deref(), &envs)?;
    let ours = parse_lines(&stdout, "DECODE_BENCH ");
    if ours.is_empty() {
        bail!("no DECODE_BENCH line in the bench output:\n{stdout}");
    }
    let peer = match &python {
        Some(py) => {
            eprintln!("running transformers generate ({py}) …");
            let out = Command::new(py)
                .arg(&script)
                .arg("run")
                .arg(&lm_dir)
                .output()
                .with_context(|| format!("cannot run {py}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                bail!(
                    "the transformers benchmark failed:\n{stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            parse_lines(&stdout, "HF_DECODE ")
        }
        None => Vec::new(),
    };

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "MiniLM-L6 decoding, source 256 tokens, 32 new tokens, {cores} cores, profile {}",
        profile.as_deref().unwrap_or("bench")
    );
    if let (Some(fast), Some(full)) = (
        find(&ours, "unilm_beam4_cached", "1"),
        find(&ours, "unilm_beam4_full", "1"),
    ) {
        let speedup = number(full, "speedup").unwrap_or(f64::NAN);
        println!(
            "  UniLM beam 4: cached {} s, full recompute {} s: {speedup:.2}x (goal >= 5x: {}), \
             identical tokens: {}",
            get(fast, "seconds"),
            get(full, "seconds"),
            if speedup >= 5.0 { "met" } else { "missed" },
            get(full, "identical")
        );
    }
    for batch in ["1", "32"] {
        if let Some(l) = find(&ours, "unilm_greedy", batch) {
            println!(
                "  UniLM greedy, batch {batch:>2}: {:>8} new tokens/s",
                get(l, "tokens_per_s")
            );
        }
    }
    for (case, batch, name) in [
        ("lm_greedy", "1", "greedy, batch  1"),
        ("lm_greedy", "32", "greedy, batch 32"),
        ("lm_beam4", "1", "beam 4, batch  1"),
    ] {
        let (Some(a), Some(b)) = (find(&ours, case, batch), find(&peer, case, batch)) else {
            continue;
        };
        let ratio = number(a, "tokens_per_s").unwrap_or(f64::NAN)
            / number(b, "tokens_per_s").unwrap_or(f64::NAN);
        println!(
            "  LM {name}: bert4burn {:>8} tokens/s, transformers {} {:>8} tokens/s: {ratio:.2}x \
             (goal >= 1.5x: {}), same tokens: {}",
            get(a, "tokens_per_s"),
            get(b, "torch"),
            get(b, "tokens_per_s"),
            if ratio >= 1.5 { "met" } else { "missed" },
            get(a, "tokens") == get(b, "tokens")
        );
    }
    Ok(())
}
