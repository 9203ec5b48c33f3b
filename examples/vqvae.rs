//! VQ-VAE on glyph images of Chinese characters, with an autoregressive prior over the codes.
//!
//! ```sh
//! cargo xtask data glyphs            # installs the Debian CJK fonts when missing, then:
//! cargo run --release --example vqvae -- data --out data-cache/glyphs
//! cargo run --release --example vqvae -- train --train data-cache/glyphs/train \
//!     --dev data-cache/glyphs/test-chars --out runs/vqvae
//! cargo run --release --example vqvae -- eval --out runs/vqvae --test data-cache/glyphs/test-font
//! cargo run --release --example vqvae -- predict --out runs/vqvae --input data-cache/glyphs/test-chars
//! cargo run --release --example vqvae -- predict --out runs/vqvae --samples 16 --top-k 8
//! ```
//! `train` fits the autoencoder, then the prior (a causal transformer over each glyph's code
//! grid) on the codes of the best autoencoder, in `RUN/prior`.
//! `eval` prints `test mse=… psnr=… perplexity=…` last and writes `reconstructions.png` (test
//! glyphs above their reconstructions) and `codebook.png` (how often each code is used) into the
//! run directory, after the prior's test NLL per code; `predict` writes the code grid of every
//! glyph as JSON lines, or with `--samples N` draws N code grids from the prior and writes them
//! decoded to `RUN/samples.png`.
//! `data` rasterises the GB2312 level-1 hanzi (3,755; `--all` for all 6,763) at 64×64 grey
//! levels in every font face, and writes three glyph sets: `train`, `test-chars` (every tenth
//! character, in the training faces) and `test-font` (one whole face no training image uses),
//! and `preview.png` (the first characters in every face).

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use bert4burn::burn::config::Config;
use bert4burn::burn::tensor::Device;
use bert4burn::models::vqvae::{
    CodePrior, CodePriorConfig, Sampling, VectorQuantizerConfig, VqVae, VqVaeConfig,
};
use bert4burn::optim::{Adam, RuleExt};
use bert4burn::tasks::train::{fit, load_weights};
use bert4burn::tasks::vqvae::{
    Image, PriorTask, VqVaeTask, evaluate_images, image_batch, image_codes, prior_nll,
};
use clap::{Args, Parser, Subcommand};
use common::cli::{DataArgs, DeviceArgs, EvalArgs, TrainArgs};
use common::glyphs::{GlyphSet, SIDE, SYSTEM_FONTS, faces, gb2312_hanzi, save_grid_png};
use common::run_dir::{RunDir, RunInfo};
use indicatif::{ProgressBar, ProgressStyle};

/// VQ-VAE on glyph images of Chinese characters.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rasterise the glyph sets `train`, `test-chars` and `test-font` into `--out`.
    Data {
        #[command(flatten)]
        data: DataArgs,
        /// Font files (TTF, OTF, TTC); the Debian CJK fonts when absent.
        #[arg(long = "font")]
        fonts: Vec<PathBuf>,
        /// All 6,763 GB2312 hanzi instead of the 3,755 of level 1.
        #[arg(long)]
        all: bool,
        /// The face held out as `test-font` [default: AR PL UKai CN, else the last face].
        #[arg(long)]
        test_font: Option<String>,
    },
    /// Train a VQ-VAE on a glyph set (resumes after a kill); prints the best dev PSNR last.
    Train(Train),
    /// Score a run on a glyph set; the last line is `test mse=… psnr=… perplexity=…`.
    Eval(EvalArgs),
    /// The code grid of every glyph of a glyph set (`--input DIR`) as JSON lines, and/or
    /// `--samples N` glyphs drawn from the prior into `RUN/samples.png`.
    Predict(Predict),
}

#[derive(Args)]
struct Predict {
    /// Run directory written by `train`.
    #[arg(long)]
    out: PathBuf,
    /// Glyph set directory whose code grids to print.
    #[arg(long, required_unless_present = "samples")]
    input: Option<PathBuf>,
    /// Draw this many glyphs from the prior.
    #[arg(long)]
    samples: Option<usize>,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Draw among the most likely codes only (0: all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(Args)]
struct Train {
    #[command(flatten)]
    common: TrainArgs,
    /// Codebook size K.
    #[arg(long, default_value_t = 64)]
    codes: usize,
    /// Code width D.
    #[arg(long, default_value_t = 64)]
    code_dim: usize,
    /// Width of the convolutions.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Learn the codebook by its loss β‖sg[z] − e‖² (the post) instead of moving averages
    /// with dead-code restarts.
    #[arg(long)]
    codebook_loss: bool,
    /// Epochs of the prior over the trained model's code grids (0: no prior).
    #[arg(long, default_value_t = 2)]
    prior_epochs: usize,
    /// Width of the prior's transformer.
    #[arg(long, default_value_t = 128)]
    prior_hidden: usize,
    /// Blocks of the prior's transformer.
    #[arg(long, default_value_t = 3)]
    prior_layers: usize,
    /// Train on the first N glyphs only (quick runs).
    #[arg(long)]
    limit: Option<usize>,
}

const MODEL_CONFIG: &str = "vqvae.json";
/// Side of the code grid: the encoder divides each side by 4.
const GRID: usize = SIDE / 4;
/// The prior's configuration and run (checkpoints, best weights, curve) inside the run directory.
const PRIOR_CONFIG: &str = "prior.json";
const PRIOR_DIR: &str = "prior";
const EPOCHS: usize = 4;

/// Characters per face in `preview.png`.
const PREVIEW_CHARS: usize = 16;

fn main() -> ExitCode {
    common::run(|| match Cli::parse().command {
        Command::Data {
            data,
            fonts,
            all,
            test_font,
        } => write_data(&data.out, fonts, all, test_font),
        Command::Train(args) => train(&args),
        Command::Eval(args) => eval(&args),
        Command::Predict(args) => predict(&args),
    })
}

fn write_data(
    out: &std::path::Path,
    fonts: Vec<PathBuf>,
    all: bool,
    test_font: Option<String>,
) -> anyhow::Result<()> {
    let fonts = if fonts.is_empty() {
        let present: Vec<PathBuf> = SYSTEM_FONTS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .collect();
        if present.is_empty() {
            bail!(
                "no CJK font found (run `cargo xtask data glyphs`, which installs fonts-noto-cjk, \
                 fonts-wqy-* and fonts-arphic-*, or pass --font FILE)"
            );
        }
        present
    } else {
        fonts
    };
    let faces = faces(&fonts)?;
    if faces.len() < 2 {
        bail!(
            "need at least two font faces (one is held out), found {}",
            faces.len()
        );
    }
    let held_out = match test_font {
        Some(name) => match faces.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                let names: Vec<&str> = faces.iter().map(|f| f.name.as_str()).collect();
                bail!("--test-font {name:?} is not one of: {}", names.join(", "));
            }
        },
        None => faces
            .iter()
            .position(|f| f.name == "AR PL UKai CN")
            .unwrap_or(faces.len() - 1),
    };
    let chars = gb2312_hanzi(all)?;
    let bar = ProgressBar::new((chars.len() * faces.len()) as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} glyphs {eta}",
    )?);
    let (mut train, mut test_chars, mut test_font) = (
        GlyphSet::default(),
        GlyphSet::default(),
        GlyphSet::default(),
    );
    let mut missing = vec![0usize; faces.len()];
    let mut preview = Vec::new();
    for (f, face) in faces.iter().enumerate() {
        for (i, &c) in chars.iter().enumerate() {
            bar.inc(1);
            let Some(image) = face.render(c)? else {
                missing[f] += 1;
                continue;
            };
            if i < PREVIEW_CHARS {
                preview.push(image.clone());
            }
            let set = if f == held_out {
                &mut test_font
            } else if i % 10 == 9 {
                &mut test_chars
            } else {
                &mut train
            };
            set.push(c, &face.name, &image);
        }
    }
    bar.finish_and_clear();
    for (name, set) in [
        ("train", &train),
        ("test-chars", &test_chars),
        ("test-font", &test_font),
    ] {
        set.save(&out.join(name))?;
        println!("{}: {} glyphs", out.join(name).display(), set.len());
    }
    let preview_path = out.join("preview.png");
    save_grid_png(&preview_path, &preview, PREVIEW_CHARS)?;
    println!(
        "{}: the first {PREVIEW_CHARS} characters, one row per face",
        preview_path.display()
    );
    for (f, face) in faces.iter().enumerate() {
        let role = if f == held_out {
            "test-font"
        } else {
            "train + test-chars"
        };
        println!(
            "face {:?} ({role}): {} characters without a glyph",
            face.name, missing[f]
        );
    }
    Ok(())
}

/// A glyph set that holds at least one glyph (scores over nothing would mean nothing).
fn load_set(dir: &std::path::Path) -> anyhow::Result<GlyphSet> {
    let set = GlyphSet::load(dir)?;
    if set.is_empty() {
        bail!("{}: the glyph set is empty", dir.display());
    }
    Ok(set)
}

fn images(set: &GlyphSet, limit: Option<usize>) -> Vec<Image> {
    (0..set.len().min(limit.unwrap_or(usize::MAX)))
        .map(|i| set.image(i))
        .collect()
}

fn train(args: &Train) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let train = images(&load_set(&args.common.train)?, args.limit);
    let dev = images(&load_set(&args.common.dev)?, None);
    eprintln!("{} train, {} dev glyphs", train.len(), dev.len());
    let info = RunInfo {
        task: "vqvae".into(),
        model: "vqvae".to_string(),
        max_len: SIDE,
    };
    let run = RunDir::create(&args.common.out, &info)?;
    let quantizer = VectorQuantizerConfig::new(args.codes, args.code_dim)
        .with_ema_decay((!args.codebook_loss).then_some(0.99));
    let config = VqVaeConfig::new(quantizer).with_hidden(args.hidden);
    config.save(run.file(MODEL_CONFIG))?;
    let train_device = device.clone().autodiff();
    train_device.seed(args.common.seed);
    let model = config.init(&train_device);
    let task = VqVaeTask::new(SIDE, &dev);
    let mut optim = Adam::new().ema(0.99).init()?;
    let mut loop_config = args.common.config(EPOCHS, 1e-3);
    loop_config.score_name = "dev psnr".into();
    let outcome = fit(&task, model, &mut optim, &train, &loop_config)?;
    outcome.best_weights.context("no epoch was evaluated")?;
    let state = &outcome.state;
    println!(
        "training took {:.1}s over {} steps",
        state.train_seconds, state.global_step
    );
    let best = state.epoch_scores.iter().copied().fold(f64::MIN, f64::max);
    println!("dev psnr={best:.2}");
    if args.prior_epochs > 0 {
        train_prior(args, &run, &train, &dev)?;
    }
    Ok(())
}

/// Stage two: the prior over the code grids of the best VQ-VAE weights, in `RUN/prior`.
fn train_prior(args: &Train, run: &RunDir, train: &[Image], dev: &[Image]) -> anyhow::Result<()> {
    let device = args.common.device.device()?;
    let (_, vqvae) = open_run(&args.common.out, &device)?;
    eprintln!(
        "encoding {} + {} glyphs for the prior",
        train.len(),
        dev.len()
    );
    let train_codes = image_codes(&vqvae, train, SIDE);
    let dev_codes = image_codes(&vqvae, dev, SIDE);
    let positions = train_codes.first().map_or(0, Vec::len);
    let config = CodePriorConfig::new(vqvae.quantizer.num_codes(), positions)
        .with_hidden(args.prior_hidden)
        .with_layers(args.prior_layers);
    config.save(run.file(PRIOR_CONFIG))?;
    let train_device = device.autodiff();
    train_device.seed(args.common.seed);
    let prior = config.init(&train_device);
    let mut optim = Adam::new().ema(0.99).init()?;
    let mut loop_config = args.common.config(args.prior_epochs, 5e-4);
    // `--epochs` is the autoencoder's.
    loop_config.epochs = args.prior_epochs;
    loop_config.out_dir = run.file(PRIOR_DIR);
    loop_config.score_name = "dev -nll".into();
    let task = PriorTask { dev: &dev_codes };
    let outcome = fit(&task, prior, &mut optim, &train_codes, &loop_config)?;
    let best = outcome
        .state
        .best_score
        .context("the prior was never evaluated")?;
    println!(
        "prior training took {:.1}s over {} steps",
        outcome.state.train_seconds, outcome.state.global_step
    );
    println!("prior dev nll={:.4} nats/code", -best);
    Ok(())
}

/// The run's prior, when `train` trained one.
fn open_prior(run: &RunDir, device: &Device) -> anyhow::Result<Option<CodePrior>> {
    let path = run.file(PRIOR_CONFIG);
    if !path.exists() {
        return Ok(None);
    }
    let config =
        CodePriorConfig::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let weights = run.file(PRIOR_DIR).join("best.bpk");
    Ok(Some(load_weights(config.init(device), &weights)?))
}

fn open_run(out: &std::path::Path, device: &Device) -> anyhow::Result<(RunDir, VqVae)> {
    let (run, _) = RunDir::open::<String>(out, "vqvae")?;
    let path = run.file(MODEL_CONFIG);
    let config = VqVaeConfig::load(&path).with_context(|| format!("reading {}", path.display()))?;
    let model = load_weights(config.init(device), &run.best_weights()?)?;
    Ok((run, model))
}

/// Grey levels in [0, 1] back to bytes.
fn to_bytes(image: &[f32]) -> Vec<u8> {
    image
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    let device = args.device.device()?;
    let (run, model) = open_run(&args.out, &device)?;
    let test = images(&load_set(&args.test)?, None);
    let scores = evaluate_images(&model, &test, SIDE);
    // 16 test glyphs spread over the set, above their reconstructions.
    let picks: Vec<&Image> = (0..16).map(|i| &test[i * test.len() / 16]).collect();
    let out = model.forward(image_batch(&picks, SIDE, &device));
    let decoded = out
        .reconstruction
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reconstructions: {e:?}"))?;
    let mut grid: Vec<Vec<u8>> = picks.iter().map(|p| to_bytes(p)).collect();
    grid.extend(decoded.chunks(SIDE * SIDE).map(to_bytes));
    save_grid_png(&run.file("reconstructions.png"), &grid, 16)?;
    save_usage_png(&run.file("codebook.png"), &scores.usage)?;
    println!(
        "wrote {} and {}",
        run.file("reconstructions.png").display(),
        run.file("codebook.png").display()
    );
    if let Some(prior) = open_prior(&run, &device)? {
        let nll = prior_nll(&prior, &image_codes(&model, &test, SIDE));
        println!(
            "prior test nll={nll:.4} nats/code (code perplexity {:.2})",
            nll.exp()
        );
    }
    println!(
        "test mse={:.5} psnr={:.2} perplexity={:.1}",
        scores.mse, scores.psnr, scores.perplexity
    );
    Ok(())
}

/// A bar per code: how often the test codes use it, on a log scale (the background code takes
/// most positions), scaled to the most used.
fn save_usage_png(path: &std::path::Path, usage: &[u64]) -> anyhow::Result<()> {
    let most = usage.iter().copied().max().unwrap_or(1).max(1);
    // One SIDE×SIDE cell per code, filled from the bottom in proportion to its use.
    let bars: Vec<Vec<u8>> = usage
        .iter()
        .map(|&n| {
            let filled =
                ((n as f64).ln_1p() / (most as f64).ln_1p() * SIDE as f64).round() as usize;
            (0..SIDE * SIDE)
                .map(|p| if p / SIDE >= SIDE - filled { 255 } else { 0 })
                .collect()
        })
        .collect();
    save_grid_png(path, &bars, usage.len().min(32))
}

fn predict(args: &Predict) -> anyhow::Result<()> {
    let device = args.device.device()?;
    let (run, model) = open_run(&args.out, &device)?;
    if let Some(input) = &args.input {
        let set = load_set(input)?;
        for (grid, (c, face)) in image_codes(&model, &images(&set, None), SIDE)
            .iter()
            .zip(&set.index)
        {
            let rows: Vec<&[i64]> = grid.chunks(GRID).collect();
            common::emit(
                serde_json::json!({ "char": c.to_string(), "face": face, "codes": rows }),
            )?;
        }
    }
    if let Some(n) = args.samples {
        let prior = open_prior(&run, &device)?.with_context(|| {
            format!(
                "{}: no prior (train with --prior-epochs > 0)",
                run.file(PRIOR_CONFIG).display()
            )
        })?;
        let settings = Sampling {
            temperature: args.temperature,
            top_k: args.top_k,
            seed: args.seed,
        };
        let samples = prior.sample(n, settings, &device);
        let codes = samples.codes.reshape([n, GRID, GRID]);
        let pixels = model
            .decode_codes(codes)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("decoded samples: {e:?}"))?;
        let grid: Vec<Vec<u8>> = pixels.chunks(SIDE * SIDE).map(to_bytes).collect();
        let path = run.file("samples.png");
        save_grid_png(&path, &grid, n.min(16))?;
        let mean_ll = samples.log_likelihood.iter().sum::<f64>() / n.max(1) as f64;
        eprintln!(
            "wrote {} ({n} samples, mean log-likelihood {mean_ll:.1} nats)",
            path.display()
        );
    }
    Ok(())
}
