//! Encode texts with a BERT checkpoint and write the hidden states to a safetensors file.
//!
//! ```text
//! cargo run --release --example bert_encode -- --model DIR --input FILE --output OUT.safetensors
//! ```
//! `--model` is a Hugging Face (`config.json` + `model.safetensors`) or Google TF
//! (`bert_config.json` + `bert_model.ckpt.*`) checkpoint directory with a `tokenizer.json` or
//! `vocab.txt`; `--input` has one text per line, or `text_a<TAB>text_b` for a pair. The output
//! holds `last_hidden_state` `[N, L, H]` (padded to the longest line), `attention_mask` `[N, L]`
//! (I64) and `pooler_output` `[N, H]` (when the checkpoint has a pooler).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use bert4burn::burn::tensor::{Bool, Int, Tensor, TensorData};
use bert4burn::core::device::parse_device;
use bert4burn::models::bert::{BertCheckpoint, BertInput, LoadOptions};
use bert4burn::models::checkpoint::{StValues, write_safetensors};
use bert4burn::models::tokenizer::BertTokenizer;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

/// Encode texts with a BERT checkpoint into a safetensors file of hidden states.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Checkpoint directory (Hugging Face or Google TF; detected).
    #[arg(long)]
    model: PathBuf,
    /// UTF-8 text file: one text per line, or `text_a<TAB>text_b`.
    #[arg(long)]
    input: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    output: PathBuf,
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N (those compiled in).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Longest encoding in tokens, special tokens included (capped by the model's positions).
    #[arg(long, default_value_t = 512)]
    max_len: usize,
    /// Keep case when building the tokenizer from a vocab.txt (default: lower-case, as uncased
    /// and Chinese BERTs expect).
    #[arg(long)]
    cased: bool,
}

/// The input's lines as `(text_a, text_b)` pairs (`a<TAB>b`), or single texts.
fn read_lines(path: &std::path::Path) -> anyhow::Result<Vec<(String, Option<String>)>> {
    Ok(common::read_lines(path)?
        .into_iter()
        .map(|l| match l.split_once('\t') {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (l, None),
        })
        .collect())
}

fn main() -> ExitCode {
    common::run(|| run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    common::check_output_dir(&args.output)?;
    let device = parse_device(&args.device)?;
    let ckpt = BertCheckpoint::open(&args.model)
        .with_context(|| format!("cannot open checkpoint {}", args.model.display()))?;
    let tokenizer = BertTokenizer::from_dir(&args.model, !args.cased)?;
    let (model, _) = ckpt.load(&ckpt.config, &LoadOptions::default(), &device)?;
    let max_len = args.max_len.min(ckpt.config.max_position_embeddings);
    let lines = read_lines(&args.input)?;

    let mut encodings = Vec::with_capacity(lines.len());
    for (i, (a, b)) in lines.iter().enumerate() {
        let enc = tokenizer
            .encode(a, b.as_deref(), Some(max_len))
            .with_context(|| format!("{}: line {}", args.input.display(), i + 1))?;
        encodings.push(enc);
    }
    let n = encodings.len();
    let longest = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
    let hidden = model.hidden_size();

    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} texts ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    let mut states = vec![0f32; n * longest * hidden];
    let mut pooled = model.pooler.as_ref().map(|_| vec![0f32; n * hidden]);
    let mut attention = vec![0i64; n * longest];
    // Batches of neighbours in length, so that little of each batch is padding; every row is
    // written back to its input position.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| encodings[i].len());
    for rows in order.chunks(args.batch_size) {
        let chunk: Vec<_> = rows.iter().map(|&i| &encodings[i]).collect();
        let len = chunk.iter().map(|e| e.len()).max().unwrap_or(1);
        let mut ids = vec![0i64; chunk.len() * len];
        let mut types = vec![0i64; chunk.len() * len];
        let mut real = vec![false; chunk.len() * len];
        for (r, enc) in chunk.iter().enumerate() {
            for (j, (&id, &t)) in enc.ids.iter().zip(&enc.type_ids).enumerate() {
                ids[r * len + j] = id as i64;
                types[r * len + j] = t as i64;
                real[r * len + j] = true;
            }
        }
        let shape = [chunk.len(), len];
        let out = model.forward(
            BertInput::new(Tensor::<2, Int>::from_data(
                TensorData::new(ids, shape),
                &device,
            ))
            .token_types(Tensor::<2, Int>::from_data(
                TensorData::new(types, shape),
                &device,
            ))
            .padding(Tensor::<2, Bool>::from_data(
                TensorData::new(real.clone(), shape),
                &device,
            )),
        );
        let last: Vec<f32> = out.last_hidden_state.into_data().try_into_vec_as::<f32>()?;
        for (r, &row) in rows.iter().enumerate() {
            for j in 0..len.min(longest) {
                let src = (r * len + j) * hidden;
                let dst = (row * longest + j) * hidden;
                states[dst..dst + hidden].copy_from_slice(&last[src..src + hidden]);
                attention[row * longest + j] = i64::from(real[r * len + j]);
            }
        }
        if let (Some(pooled), Some(p)) = (pooled.as_mut(), out.pooler_output) {
            let p: Vec<f32> = p.into_data().try_into_vec_as::<f32>()?;
            for (r, &row) in rows.iter().enumerate() {
                pooled[row * hidden..(row + 1) * hidden]
                    .copy_from_slice(&p[r * hidden..(r + 1) * hidden]);
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let mut tensors = BTreeMap::new();
    tensors.insert(
        "last_hidden_state".to_string(),
        (vec![n, longest, hidden], StValues::F32(states)),
    );
    tensors.insert(
        "attention_mask".to_string(),
        (vec![n, longest], StValues::I64(attention)),
    );
    if let Some(pooled) = pooled {
        tensors.insert(
            "pooler_output".to_string(),
            (vec![n, hidden], StValues::F32(pooled)),
        );
    }
    write_safetensors(&args.output, &tensors)?;
    eprintln!(
        "encoded {n} texts (longest {longest} tokens, H = {hidden}) into {}",
        args.output.display()
    );
    Ok(())
}
