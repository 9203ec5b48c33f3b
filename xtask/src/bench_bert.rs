//! `cargo xtask bench bert`: MiniLM-L6 forward at batch 32 × 128, ours against PyTorch in the
//! same run.
//!
//! Ours: `cargo bench --bench bert` in its report mode (release build, one
//! `BERT_BENCH key=value …` line). PyTorch: a Python with `torch` and `transformers` (found with
//! `--python`, `$NLP_PYTHON`, `.venv/bin/python`, then `python3`), running the same checkpoint
//! at the same shape with `torch.inference_mode()` and as many threads as cores. Prints
//! tokens/s, the ratio (goal ≥ 1.25×) and each side's peak resident memory.
//!
//! Flags: `--device NAME` (default flex), `--features F` (cargo features, e.g. `ndarray`),
//! `--iters N` (default 5), `--model DIR` (default data-cache/minilm), `--python PATH`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{cargo_bench, find_python, parse_line, repo_root};

const TORCH_SCRIPT: &str = r#"
import os, resource, sys, time
import torch
from transformers import BertModel
model_dir, iters = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = BertModel.from_pretrained(model_dir).eval()
vocab = model.config.vocab_size
g = torch.Generator().manual_seed(12345)
ids = torch.randint(1000, vocab, (32, 128), generator=g)
ids[:, 0] = 101
ids[:, -1] = 102
mask = torch.ones_like(ids)
with torch.inference_mode():
    for _ in range(2):
        model(input_ids=ids, attention_mask=mask)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        model(input_ids=ids, attention_mask=mask)
        times.append(time.perf_counter() - t)
times.sort()
median = times[len(times) // 2]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(f"TORCH_BENCH threads={torch.get_num_threads()} torch={torch.__version__} median_s={median:.4f} "
      f"best_s={times[0]:.4f} tokens_per_s={32 * 128 / median:.1f} peak_rss_mib={peak:.1f} "
      f"attn={model.config._attn_implementation}")
"#;

/// Run the benchmark; `args` are the words after `bench bert`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let root = repo_root();
    let mut device = "flex".to_string();
    let mut features: Option<String> = None;
    let mut iters = 5usize;
    let mut model = root.join("data-cache/minilm");
    let mut python = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--device" => device = value()?.clone(),
            "--features" => features = Some(value()?.clone()),
            "--iters" => iters = value()?.parse().context("--iters takes a number")?,
            "--model" => model = PathBuf::from(value()?),
            "--python" => python = Some(value()?.clone()),
            "-h" | "--help" => {
                println!(
                    "cargo xtask bench bert [--device flex] [--features F] [--iters 5] [--model DIR] [--python PATH]"
                );
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

    eprintln!("building and running ours (cargo bench --bench bert, device {device}) …");
    let iters_text = iters.to_string();
    let stdout = cargo_bench(
        "bert",
        features.as_deref(),
        None,
        &[
            ("BERT_BENCH_REPORT", std::ffi::OsStr::new("1")),
            ("BERT_BENCH_DEVICE", std::ffi::OsStr::new(&device)),
            ("BERT_BENCH_ITERS", std::ffi::OsStr::new(&iters_text)),
            ("BERT_BENCH_MODEL", model.as_os_str()),
        ],
    )?;
    let ours = parse_line(&stdout, "BERT_BENCH ")
        .with_context(|| format!("no BERT_BENCH line in the bench output:\n{stdout}"))?;

    let torch = match find_python(python, &root) {
        None => {
            eprintln!(
                "no Python with torch and transformers found (--python, $NLP_PYTHON, .venv, python3): PyTorch side skipped"
            );
            None
        }
        Some(py) => {
            eprintln!("running PyTorch ({py}) …");
            let out = Command::new(&py)
                .args(["-c", TORCH_SCRIPT])
                .arg(&model)
                .arg(iters.to_string())
                .output()
                .with_context(|| format!("cannot run {py}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                bail!(
                    "the PyTorch benchmark failed:\n{stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            parse_line(&stdout, "TORCH_BENCH ")
        }
    };

    let get =
        |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("MiniLM-L6 (H=384, 6 layers) forward, batch 32 x 128 tokens, {cores} cores");
    println!(
        "  bert4burn ({:<7}) {:>10} tokens/s   median {:>7} s   peak RSS {:>7} MiB",
        get(&ours, "device"),
        get(&ours, "tokens_per_s"),
        get(&ours, "median_s"),
        get(&ours, "peak_rss_mib")
    );
    if let Some(t) = &torch {
        println!(
            "  PyTorch {:<9} {:>10} tokens/s   median {:>7} s   peak RSS {:>7} MiB   ({} threads, attn {})",
            get(t, "torch"),
            get(t, "tokens_per_s"),
            get(t, "median_s"),
            get(t, "peak_rss_mib"),
            get(t, "threads"),
            get(t, "attn")
        );
        let ratio = ours["tokens_per_s"]
            .parse::<f64>()
            .ok()
            .zip(t["tokens_per_s"].parse::<f64>().ok());
        if let Some((a, b)) = ratio {
            println!(
                "  ratio bert4burn / PyTorch = {:.2}x (goal >= 1.25x: {})",
                a / b,
                if a / b >= 1.25 { "met" } else { "missed" }
            );
        }
    }
    Ok(())
}
