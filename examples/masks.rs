//! Draw the attention masks of "从语言模型到Seq2Seq：Transformer如戏，全靠Mask" for a sentence pair.
//!
//! `cargo run --release --example masks -- [--out DIR] [--device flex]` writes `masks.svg`
//! (three labelled panels: LM, UniLM, PLM) and `masks.png` (the same panels, unlabelled), and
//! prints their paths. A dark cell means "row token may attend to column token".

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use bert4burn::burn::tensor::{Bool, Int, Tensor, TensorData};
use bert4burn::core::{device::parse_device, mask};
use clap::Parser;

/// Draw the LM, UniLM and PLM attention masks of a sample sentence pair.
#[derive(Parser)]
struct Args {
    /// Directory to write masks.svg and masks.png into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Device to compute the masks on (flex, ndarray, cpu, wgpu, cuda, cuda:N).
    #[arg(long, default_value = "flex")]
    device: String,
}

/// One panel: a title and a row-major `n × n` visibility matrix.
struct Panel {
    title: &'static str,
    visible: Vec<bool>,
}

fn to_host(mask: Tensor<3, Bool>) -> anyhow::Result<Vec<bool>> {
    mask.into_data()
        .try_into_vec::<bool>()
        .map_err(|e| anyhow::anyhow!("reading mask back: {e:?}"))
}

fn main() -> ExitCode {
    common::run(|| run(Args::parse()))
}

fn run(args: Args) -> anyhow::Result<()> {
    let device = parse_device(&args.device)?;
    // [CLS] 你想吃啥 [SEP] 白切鸡 [SEP] + two padding positions.
    let tokens = [
        "[CLS]", "你", "想", "吃", "啥", "[SEP]", "白", "切", "鸡", "[SEP]", "[PAD]", "[PAD]",
    ];
    let n = tokens.len();
    let real = 10;
    let segments: Vec<i64> = (0..n).map(|i| i64::from((6..real).contains(&i))).collect();
    let padding = mask::padding_from_lengths(&[real], n, &device);
    let key_padding = mask::key_padding(padding.clone(), n);

    let lm = mask::and(mask::causal(1, n, &device), key_padding.clone());
    let unilm = mask::unilm(
        Tensor::<2, Int>::from_data(TensorData::new(segments, [1, n]), &device),
        padding,
    );
    // A fixed factorisation order of the real tokens; padding comes last.
    let order: Vec<i64> = vec![3, 8, 0, 5, 1, 9, 6, 2, 4, 7, 10, 11];
    let plm = mask::plm(Tensor::<2, Int>::from_data(
        TensorData::new(order, [1, n]),
        &device,
    ));
    let plm = mask::and(plm.content, key_padding);

    let panels = [
        Panel {
            title: "LM (causal)",
            visible: to_host(lm)?,
        },
        Panel {
            title: "UniLM (seq2seq)",
            visible: to_host(unilm)?,
        },
        Panel {
            title: "PLM (order 吃 鸡 [CLS] [SEP] 你 [SEP] 白 想 啥 切)",
            visible: to_host(plm)?,
        },
    ];
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let svg_path = args.out.join("masks.svg");
    common::write_atomic(&svg_path, svg(&tokens, &panels).as_bytes())?;
    let png_path = args.out.join("masks.png");
    write_png(&png_path, n, &panels)?;
    println!("wrote {}", svg_path.display());
    println!("wrote {}", png_path.display());
    Ok(())
}

const CELL: usize = 26;
const LABEL: usize = 60;
const GAP: usize = 40;

fn svg(tokens: &[&str], panels: &[Panel]) -> String {
    let n = tokens.len();
    let panel_w = LABEL + n * CELL;
    let width = panels.len() * panel_w + (panels.len() + 1) * GAP;
    let height = 40 + LABEL + n * CELL + GAP;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (p, panel) in panels.iter().enumerate() {
        let x0 = GAP + p * (panel_w + GAP);
        let y0 = 40;
        s += &format!(
            "<text x=\"{}\" y=\"24\" font-size=\"15\">{}</text>\n",
            x0 + LABEL,
            panel.title
        );
        for (i, tok) in tokens.iter().enumerate() {
            let c = x0 + LABEL + i * CELL + CELL / 2;
            s += &format!(
                "<text x=\"{c}\" y=\"{}\" text-anchor=\"end\" transform=\"rotate(-60 {c} {})\">{tok}</text>\n",
                y0 + LABEL - 4,
                y0 + LABEL - 4
            );
            s += &format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{tok}</text>\n",
                x0 + LABEL - 4,
                y0 + LABEL + i * CELL + CELL * 2 / 3
            );
        }
        for i in 0..n {
            for j in 0..n {
                let fill = if panel.visible[i * n + j] {
                    "#2b6cb0"
                } else {
                    "#edf2f7"
                };
                s += &format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" stroke=\"white\"/>\n",
                    x0 + LABEL + j * CELL,
                    y0 + LABEL + i * CELL,
                    CELL,
                    CELL
                );
            }
        }
    }
    s + "</svg>\n"
}

fn write_png(path: &std::path::Path, n: usize, panels: &[Panel]) -> anyhow::Result<()> {
    let cell = 16;
    let gap = 24;
    let width = panels.len() * n * cell + (panels.len() + 1) * gap;
    let height = n * cell + 2 * gap;
    let mut rgb = vec![255u8; width * height * 3];
    for (p, panel) in panels.iter().enumerate() {
        let x0 = gap + p * (n * cell + gap);
        for i in 0..n {
            for j in 0..n {
                let color = if panel.visible[i * n + j] {
                    [43, 108, 176]
                } else {
                    [237, 242, 247]
                };
                for y in gap + i * cell..gap + (i + 1) * cell - 1 {
                    for x in x0 + j * cell..x0 + (j + 1) * cell - 1 {
                        rgb[(y * width + x) * 3..(y * width + x) * 3 + 3].copy_from_slice(&color);
                    }
                }
            }
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("encoding PNG header")?;
    writer.write_image_data(&rgb).context("encoding PNG data")?;
    writer.finish().context("encoding PNG")?;
    common::write_atomic(path, &bytes)
}
