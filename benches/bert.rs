//! MiniLM-L6 (all-MiniLM-L6-v2) forward pass at batch 32 × 128 tokens.
//!
//! - `cargo bench --bench bert`: a criterion benchmark of the forward pass.
//! - `cargo xtask bench bert`: the report mode (`BERT_BENCH_REPORT=1`), which times a few
//!   forwards itself, prints one `BERT_BENCH key=value …` line (tokens/s, peak RSS) and lets
//!   xtask compare with PyTorch in the same run. With `BERT_BENCH_PROFILE=1` it also prints
//!   the seconds per forward spent in the dense layers, the activation, the attention core,
//!   and residual + LayerNorm (`scripts/peers/torch_minilm_profile.py` times the same parts in
//!   PyTorch).
//!
//! With `BERT_BENCH_TRAIN=1` as well, it times training steps instead (forward, backward and
//! AdamW at batch 16 × 128) and prints a `BERT_TRAIN …` line. With `BERT_BENCH_MIXED=FILE`
//! (a People's Daily tagged file) it encodes the file's first 4,096 sentences of mixed length
//! instead, as `bert_encode` does (sorted by length, batches of 32 neighbours, each padded to
//! its longest), and prints a `BERT_MIXED …` line.
//!
//! The checkpoint comes from `BERT_BENCH_MODEL` or `data-cache/minilm`; the device from
//! `BERT_BENCH_DEVICE` (default `flex`). Without the checkpoint the bench prints a message and
//! does nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bert4burn::burn::optim::GradientsParams;
use bert4burn::burn::tensor::{Device, Int, Tensor, TensorData};
use bert4burn::core::device::parse_device;
use bert4burn::core::kernels;
use bert4burn::core::padding::{PadOptions, pad_to_tensor};
use bert4burn::models::bert::{Bert, BertCheckpoint, BertInput, LoadOptions};
use bert4burn::models::tokenizer::BertTokenizer;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::visit_tagged_lines;
use criterion::Criterion;

const BATCH: usize = 32;
const LEN: usize = 128;
/// Batch of the training-step benchmark.
const TRAIN_BATCH: usize = 16;
/// Sentences of the mixed-length benchmark.
const MIXED_SENTENCES: usize = 4096;

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BERT_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data-cache/minilm"));
    dir.join("model.safetensors").is_file().then_some(dir)
}

/// Deterministic ids: `[CLS]`, 126 ordinary word-piece ids, `[SEP]` (BERT-base uncased ids).
fn inputs(vocab: usize, batch: usize, device: &Device) -> Tensor<2, Int> {
    let mut state = 12345u64;
    let mut ids = Vec::with_capacity(batch * LEN);
    for _ in 0..batch {
        ids.push(101);
        for _ in 1..LEN - 1 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ids.push(1000 + ((state >> 33) as usize % (vocab - 1000)) as i64);
        }
        ids.push(102);
    }
    Tensor::from_data(TensorData::new(ids, [batch, LEN]), device)
}

/// `BERT_BENCH_TRAIN=1`: seconds of each training step (forward, backward, AdamW with weight
/// decay 0.01, lr 1e-4) at batch 16 × 128, dropout off, loss = mean squared last hidden state;
/// the first step is a warm-up and not returned.
fn train_steps(dir: &Path, device: &Device, iters: usize) -> Vec<f64> {
    let ckpt = BertCheckpoint::open(dir).expect("MiniLM opens");
    let mut config = ckpt.config.clone();
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    let device = device.clone().autodiff();
    let (mut model, _) = ckpt
        .load(&config, &LoadOptions::default(), &device)
        .expect("MiniLM loads");
    let ids = inputs(model.vocab_size(), TRAIN_BATCH, &device);
    let mut optim = Adam::new().weight_decay(0.01).init().expect("AdamW");
    let mut times = Vec::with_capacity(iters);
    // Seconds in the forward (to the loss), backward and optimizer step, summed over the steps.
    let mut parts = [0.0f64; 3];
    for step in 0..=iters {
        let start = Instant::now();
        let out = model.forward(BertInput::new(ids.clone()));
        let loss = out.last_hidden_state.square().mean();
        let forward = start.elapsed().as_secs_f64();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let backward = start.elapsed().as_secs_f64();
        model = optim.step(1e-4, model, grads);
        let total = start.elapsed().as_secs_f64();
        if step > 0 {
            times.push(total);
            parts[0] += forward;
            parts[1] += backward - forward;
            parts[2] += total - backward;
        }
    }
    let n = iters.max(1) as f64;
    println!(
        "TRAIN_PARTS seconds per step: forward={:.4} backward={:.4} optimizer={:.4}",
        parts[0] / n,
        parts[1] / n,
        parts[2] / n
    );
    times
}

fn forward(model: &Bert, ids: &Tensor<2, Int>) -> f32 {
    let out = model.forward(BertInput::new(ids.clone()));
    // Read a value back so the whole graph really runs.
    out.last_hidden_state
        .slice([0..1, 0..1, 0..1])
        .into_scalar::<f32>()
}

/// `BERT_BENCH_MIXED=FILE`: the first [`MIXED_SENTENCES`] sentences of a People's Daily tagged
/// file, tokenized (at most [`LEN`] tokens) before the clock starts; timed: sorting by length,
/// building each batch of [`BATCH`] neighbours padded to its longest, and the forwards.
fn mixed(model: &Bert, dir: &Path, corpus: &Path, device: &Device) {
    let mut texts = Vec::with_capacity(MIXED_SENTENCES);
    visit_tagged_lines(corpus, |_, tokens| {
        if texts.len() < MIXED_SENTENCES {
            texts.push(tokens.iter().map(|t| t.0).collect::<String>());
        }
    })
    .expect("the People's Daily file reads");
    let tokenizer = BertTokenizer::from_dir(dir, true).expect("the tokenizer loads");
    let encodings: Vec<Vec<i64>> = texts
        .iter()
        .map(|t| {
            let enc = tokenizer
                .encode(t, None, Some(LEN))
                .expect("a sentence encodes");
            enc.ids.iter().map(|&id| i64::from(id)).collect()
        })
        .collect();
    let batch_of = |rows: &[usize]| {
        let seqs: Vec<&[i64]> = rows.iter().map(|&i| encodings[i].as_slice()).collect();
        // Padded with id 0 ([PAD]); every real token is a non-zero id.
        let ids = pad_to_tensor(&seqs, PadOptions::default(), device);
        let [b, len] = ids.dims();
        let real = ids.clone().not_equal_elem(0);
        (BertInput::new(ids).padding(real), b * len)
    };
    // Warm-up: one batch.
    let (input, _) = batch_of(&(0..BATCH.min(encodings.len())).collect::<Vec<_>>());
    done(model.forward(input).last_hidden_state, Instant::now());
    let start = Instant::now();
    let mut order: Vec<usize> = (0..encodings.len()).collect();
    order.sort_by_key(|&i| encodings[i].len());
    let mut padded = 0;
    for rows in order.chunks(BATCH) {
        let (input, tokens) = batch_of(rows);
        padded += tokens;
        done(model.forward(input).last_hidden_state, start);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "BERT_MIXED fused={} sentences={} real_tokens={} padded_tokens={padded} seconds={seconds:.3} sentences_per_s={:.1} peak_rss_mib={:.1}",
        kernels::fused_enabled(),
        encodings.len(),
        encodings.iter().map(Vec::len).sum::<usize>(),
        encodings.len() as f64 / seconds,
        peak_rss_mib()
    );
}

/// Forces `t` to be computed and returns the seconds since `start`.
fn done<const D: usize>(t: Tensor<D>, start: Instant) -> f64 {
    let _ = t.flatten::<1>(0, D - 1).slice(0..1).into_scalar::<f32>();
    start.elapsed().as_secs_f64()
}

/// `BERT_BENCH_PROFILE=1`: seconds per forward spent in each part of the encoder, each part
/// timed on its own over the 6 layers (the same ops, shapes and order as `BertLayer::forward`).
fn profile(model: &Bert, ids: &Tensor<2, Int>) {
    let start = Instant::now();
    let x = model.embeddings.forward(ids.clone(), None, 0);
    let embeddings = done(x.clone(), start);
    let [batch, len, hidden] = x.dims();
    let (mut dense, mut activation, mut attend, mut norm) = (0.0, 0.0, 0.0, 0.0);
    for layer in &model.layers {
        let a = &layer.attention;
        let (heads, head_dim) = (a.n_heads, a.head_dim);
        let mut qkv = Vec::new();
        for lin in [&a.query, &a.key, &a.value] {
            let start = Instant::now();
            let y = kernels::linear(lin, x.clone());
            dense += done(y.clone(), start);
            qkv.push(y);
        }
        let start = Instant::now();
        let split = |t: Tensor<3>| t.reshape([batch, len, heads, head_dim]).swap_dims(1, 2);
        let v = split(qkv.pop().unwrap());
        let k = split(qkv.pop().unwrap());
        let q = split(qkv.pop().unwrap());
        let context = kernels::attention(q, k, v, None, None)
            .swap_dims(1, 2)
            .reshape([batch, len, hidden]);
        attend += done(context.clone(), start);
        let start = Instant::now();
        let context = kernels::linear(&a.output, context);
        dense += done(context.clone(), start);
        let start = Instant::now();
        let y = layer.attention_norm.forward(x.clone().add(context));
        norm += done(y.clone(), start);
        let start = Instant::now();
        let h = kernels::linear(&layer.intermediate, y.clone());
        dense += done(h.clone(), start);
        let start = Instant::now();
        let h = layer.activation.forward(h);
        activation += done(h.clone(), start);
        let start = Instant::now();
        let h = kernels::linear(&layer.output, h);
        dense += done(h.clone(), start);
        let start = Instant::now();
        norm += done(layer.output_norm.forward(y.add(h)), start);
    }
    println!(
        "PROFILE seconds per forward: embeddings={embeddings:.4} dense={dense:.4} \
         activation={activation:.4} attention={attend:.4} add_layernorm={norm:.4}"
    );
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let Some(dir) = model_dir() else {
        eprintln!(
            "SKIPPED: no MiniLM checkpoint in data-cache/minilm (run `cargo xtask data minilm` or set BERT_BENCH_MODEL)"
        );
        return;
    };
    let device_name = std::env::var("BERT_BENCH_DEVICE").unwrap_or_else(|_| "flex".into());
    let device = parse_device(&device_name).expect("BERT_BENCH_DEVICE names a compiled-in backend");
    let model = Bert::load(&dir, &device).expect("MiniLM loads");
    let ids = inputs(model.vocab_size(), BATCH, &device);

    if std::env::var_os("BERT_BENCH_REPORT").is_some() {
        let iters: usize = std::env::var("BERT_BENCH_ITERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5);
        if let Some(corpus) = std::env::var_os("BERT_BENCH_MIXED") {
            mixed(&model, &dir, Path::new(&corpus), &device);
            return;
        }
        if std::env::var_os("BERT_BENCH_TRAIN").is_some() {
            drop(model);
            let mut times = train_steps(&dir, &device, iters);
            times.sort_by(f64::total_cmp);
            println!(
                "BERT_TRAIN device={device_name} fused={} batch={TRAIN_BATCH} len={LEN} iters={iters} median_s={:.4} best_s={:.4} peak_rss_mib={:.1}",
                kernels::fused_enabled(),
                times[times.len() / 2],
                times[0],
                peak_rss_mib()
            );
            return;
        }
        for _ in 0..2 {
            forward(&model, &ids);
        }
        let mut times = Vec::with_capacity(iters);
        for _ in 0..iters {
            let start = Instant::now();
            forward(&model, &ids);
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        if std::env::var_os("BERT_BENCH_PROFILE").is_some() {
            profile(&model, &ids);
        }
        let median = times[times.len() / 2];
        println!(
            "BERT_BENCH device={device_name} fused={} batch={BATCH} len={LEN} iters={iters} median_s={median:.4} best_s={:.4} tokens_per_s={:.1} peak_rss_mib={:.1}",
            kernels::fused_enabled(),
            times[0],
            (BATCH * LEN) as f64 / median,
            peak_rss_mib()
        );
        return;
    }

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c.bench_function("minilm_l6_forward_32x128", |b| {
        b.iter(|| forward(&model, &ids))
    });
    c.final_summary();
}
