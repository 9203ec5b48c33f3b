//! Segment Chinese text into words and tag people, places and organisations — out of the box.
//!
//! ```sh
//! cargo run --release --example tag                         # a few built-in sentences
//! cargo run --release --example tag -- 李鹏总理在北京会见了安南。
//! cargo run --release --example tag -- --input news.txt --json
//! cargo run --release --example tag -- --model runs/ner --input - < news.txt
//! ```
//! Words come from `nlp-text`'s jieba-compatible segmenter (Python jieba 0.42.1's `lcut`, HMM
//! on); entities from the DGCNN + CRF tagger bundled in `models/ner-dgcnn` (trained on People's
//! Daily 1998 by the `ner` example, weights in half precision and compiled into this binary), or
//! any tagger directory the `ner` example trained or exported (`--model DIR`). Each entity is one
//! word in the output. Plain output: one line per text, words separated by spaces, entities as
//! `word/TYPE`. `--json`: one line per text,
//! `{"text", "words": [...], "entities": [{"text", "type", "start", "end"}]}` with character
//! offsets (half-open).

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use bert4burn::core::decode::Span;
use bert4burn::core::device::parse_device;
use bert4burn::tasks::ner::{DgcnnTagger, words_with_entities};
use bert4burn::text::jieba_compat::JiebaPy;
use clap::Parser;
use serde_json::json;

/// The bundled tagger: trained by the `ner` example, exported with its `export` subcommand (README, "Tag").
const BUNDLED_CONFIG: &[u8] = include_bytes!("../models/ner-dgcnn/model.json");
const BUNDLED_VOCAB: &[u8] = include_bytes!("../models/ner-dgcnn/vocab.json");
const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../models/ner-dgcnn/model.safetensors");

/// Tagged when no text is given.
const SAMPLES: [&str; 4] = [
    "国务院总理李鹏今天在人民大会堂会见了联合国秘书长安南。",
    "新华社上海一月五日电，复旦大学的张明教授昨天在浦东新区作了报告。",
    "江泽民主席向巴西总统卡多佐发了贺电。",
    "中国人民银行决定从明年起在广东省试点新的外汇管理办法。",
];

/// Segment Chinese text and tag people (PER), places (LOC) and organisations (ORG).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Texts to tag (default: a few built-in sentences, unless --input is given).
    texts: Vec<String>,
    /// Tag every line of this UTF-8 file instead (`-` reads standard input).
    #[arg(long, conflicts_with = "texts")]
    input: Option<PathBuf>,
    /// Print one JSON object per text.
    #[arg(long)]
    json: bool,
    /// A tagger directory written by the `ner` example (a DGCNN training run or `export`), instead of
    /// the bundled one.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N (those compiled in).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Print the load and tagging times to stderr.
    #[arg(long)]
    timing: bool,
}

fn main() -> ExitCode {
    common::run(|| run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }
    let started = Instant::now();
    let device = parse_device(&args.device)?;
    let lines: Vec<String> = match &args.input {
        Some(path) => common::read_lines(path)?,
        None if args.texts.is_empty() => SAMPLES.iter().map(|s| s.to_string()).collect(),
        None => args.texts.clone(),
    };
    let tagger = match &args.model {
        Some(dir) => DgcnnTagger::load(dir, &device)?,
        None => DgcnnTagger::from_bytes(
            BUNDLED_CONFIG,
            BUNDLED_VOCAB,
            BUNDLED_WEIGHTS,
            Path::new("<bundled>/models/ner-dgcnn"),
            &device,
        )?,
    };
    let segmenter = JiebaPy::new();
    let loaded = started.elapsed();
    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
    let entities = tagger.tag(&texts, args.batch_size);
    let mut out = String::new();
    for (text, spans) in texts.iter().zip(&entities) {
        let mut words = Vec::new();
        segmenter.cut(text, true, &mut words);
        out.push_str(&render(text, &words, spans, args.json));
        out.push('\n');
    }
    print!("{out}");
    if args.timing {
        eprintln!(
            "loaded in {:.0} ms, tagged {} texts in {:.0} ms",
            loaded.as_secs_f64() * 1e3,
            texts.len(),
            (started.elapsed() - loaded).as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// One output line for `text`.
fn render(text: &str, words: &[&str], entities: &[Span], as_json: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let piece = |start: usize, end: usize| chars[start..end].iter().collect::<String>();
    let ranges = words_with_entities(words, entities);
    if as_json {
        let words: Vec<String> = ranges.iter().map(|r| piece(r.start, r.end)).collect();
        let entities: Vec<_> = entities
            .iter()
            .map(|e| json!({"text": piece(e.start, e.end), "type": e.label, "start": e.start, "end": e.end}))
            .collect();
        return json!({"text": text, "words": words, "entities": entities}).to_string();
    }
    ranges
        .iter()
        .filter(|r| !chars[r.start..r.end].iter().all(|c| c.is_whitespace()))
        .map(|r| {
            let word = piece(r.start, r.end);
            match entities
                .iter()
                .find(|e| e.start == r.start && e.end == r.end)
            {
                Some(e) => format!("{word}/{}", e.label),
                None => word,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
