//! VQ-VAE on glyph images of Chinese characters (issue #17, in progress: the glyph data set is
//! here; training, evaluation and prior sampling are still to come).
//!
//! ```sh
//! cargo xtask data glyphs            # installs the Debian CJK fonts when missing, then:
//! cargo run --release --example vqvae -- data --out data-cache/glyphs
//! ```
//! `data` rasterises the GB2312 level-1 hanzi (3,755; `--all` for all 6,763) at 64×64 grey
//! levels in every font face, and writes three glyph sets: `train`, `test-chars` (every tenth
//! character, in the training faces) and `test-font` (one whole face no training image uses),
//! and `preview.png` (the first characters in every face).

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};
use common::cli::DataArgs;
use common::glyphs::{GlyphSet, SYSTEM_FONTS, faces, gb2312_hanzi, save_grid_png};
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
}

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
