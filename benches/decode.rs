//! Decoding with MiniLM-L6 (all-MiniLM-L6-v2): a 256-token source, 32 new tokens.
//!
//! - `cargo bench --bench decode`: a criterion benchmark of cached UniLM beam-4 decoding.
//! - `cargo xtask bench decode`: the report mode (`DECODE_BENCH_REPORT=1`), printing one
//!   `DECODE_BENCH key=value …` line per case: UniLM beam 4 cached and with a full recompute at
//!   every step (same tokens required), UniLM greedy at batch 1 and 32, and the causal decoder
//!   (LM mode, the checkpoint of `DECODE_BENCH_LM` that xtask saves with transformers'
//!   `BertLMHeadModel`) greedy at batch 1 and 32 and beam 4, with the generated tokens, so
//!   xtask compares speed and output with transformers' `generate` in the same run.
//!
//! Without `DECODE_BENCH_LM` the UniLM cases run on MiniLM with a fresh (seeded) MLM head.

use std::path::PathBuf;
use std::time::Instant;

use bert4burn::burn::tensor::Device;
use bert4burn::core::device::parse_device;
use bert4burn::models::bert::{Bert, BertCheckpoint, BertMode, LoadOptions};
use bert4burn::tasks::generate::{
    BeamSettings, Constraints, GenerationConfig, Hypothesis, Strategy, generate,
};
use bert4burn::tasks::seq2seq::UnilmGenerator;
use criterion::Criterion;

const SOURCE: usize = 256;
const NEW: usize = 32;
const SEP: usize = 102;

/// `rows` deterministic sources: `[CLS]`, ordinary word-piece ids, `[SEP]` (BERT uncased ids),
/// from the LCG the peer script repeats.
fn sources(rows: usize, vocab: usize) -> Vec<Vec<usize>> {
    let mut state = 12345u64;
    (0..rows)
        .map(|_| {
            let mut ids = vec![101];
            for _ in 1..SOURCE - 1 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ids.push(1000 + (state >> 33) as usize % (vocab - 1000));
            }
            ids.push(SEP);
            ids
        })
        .collect()
}

fn load(dir: &PathBuf, mode: BertMode, device: &Device) -> Bert {
    let ckpt = BertCheckpoint::open(dir).expect("the checkpoint opens");
    let config = ckpt
        .config
        .clone()
        .with_mode(mode)
        .with_with_mlm(true)
        .with_with_pool(false);
    device.seed(7);
    let options = LoadOptions {
        allow_missing_heads: true,
        ..Default::default()
    };
    ckpt.load(&config, &options, device)
        .expect("the checkpoint loads")
        .0
}

/// Exactly `NEW` tokens (the end token hidden until then).
fn config(strategy: Strategy) -> GenerationConfig {
    let mut c = GenerationConfig::new(strategy, NEW, vec![SEP]);
    c.min_len = NEW;
    c
}

fn run(g: &UnilmGenerator, sources: &[Vec<usize>], c: &GenerationConfig) -> (f64, Vec<Vec<usize>>) {
    let start = Instant::now();
    let out: Vec<Vec<Hypothesis>> = generate(g, sources, c, Constraints::none()).expect("decodes");
    let seconds = start.elapsed().as_secs_f64();
    (
        seconds,
        out.into_iter().map(|h| h[0].tokens.clone()).collect(),
    )
}

fn tokens_text(tokens: &[Vec<usize>]) -> String {
    tokens
        .iter()
        .map(|t| t.iter().map(usize::to_string).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join(";")
}

fn report(case: &str, batch: usize, seconds: f64, tokens: &[Vec<usize>], extra: &str) {
    println!(
        "DECODE_BENCH case={case} batch={batch} seconds={seconds:.4} tokens_per_s={:.1}{extra} tokens={}",
        (batch * NEW) as f64 / seconds,
        tokens_text(tokens)
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let minilm = std::env::var_os("DECODE_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("data-cache/minilm"));
    if !minilm.join("model.safetensors").is_file() {
        eprintln!(
            "SKIPPED: no MiniLM checkpoint in {} (run `cargo xtask data minilm`)",
            minilm.display()
        );
        return;
    }
    let lm_dir = std::env::var_os("DECODE_BENCH_LM").map(PathBuf::from);
    let device_name = std::env::var("DECODE_BENCH_DEVICE").unwrap_or_else(|_| "flex".into());
    let device =
        parse_device(&device_name).expect("DECODE_BENCH_DEVICE names a compiled-in backend");
    let weights = lm_dir.clone().unwrap_or(minilm);
    let unilm = load(&weights, BertMode::Unilm, &device);
    let vocab = unilm.vocab_size();
    let cached = UnilmGenerator::new(&unilm).expect("UniLM mode with its head");
    let one = sources(1, vocab);
    let beam = config(Strategy::Beam(BeamSettings::new(4)));

    if std::env::var_os("DECODE_BENCH_REPORT").is_none() {
        let mut c = Criterion::default().configure_from_args().sample_size(10);
        c.bench_function("unilm_beam4_256_plus_32", |b| {
            b.iter(|| run(&cached, &one, &beam))
        });
        c.final_summary();
        return;
    }

    let _ = run(&cached, &one, &config(Strategy::Greedy)); // warm-up
    let (fast, fast_tokens) = run(&cached, &one, &beam);
    let full = UnilmGenerator::new(&unilm).expect("UniLM").without_cache();
    let (slow, slow_tokens) = run(&full, &one, &beam);
    report("unilm_beam4_cached", 1, fast, &fast_tokens, "");
    report(
        "unilm_beam4_full",
        1,
        slow,
        &slow_tokens,
        &format!(
            " speedup={:.2} identical={}",
            slow / fast,
            slow_tokens == fast_tokens
        ),
    );
    for batch in [1, 32] {
        let s = sources(batch, vocab);
        let (t, tokens) = run(&cached, &s, &config(Strategy::Greedy));
        report("unilm_greedy", batch, t, &tokens, "");
    }
    if let Some(dir) = lm_dir {
        let lm = load(&dir, BertMode::Lm, &device);
        let g = UnilmGenerator::new(&lm).expect("LM mode with its head");
        for batch in [1, 32] {
            let s = sources(batch, vocab);
            let (t, tokens) = run(&g, &s, &config(Strategy::Greedy));
            report("lm_greedy", batch, t, &tokens, "");
        }
        let (t, tokens) = run(&g, &one, &beam);
        report("lm_beam4", 1, t, &tokens, "");
    }
}
