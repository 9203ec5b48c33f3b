//! Optimizers side by side: trajectories on the Rosenbrock function, and the held-out loss of a
//! small network trained with and without the derived wrappers of `nlp-optim`.
//!
//! ```text
//! cargo run --release --example optimizers [-- --out OUT_DIR]
//! ```
//!
//! Writes `OUT_DIR/rosenbrock.png` and `OUT_DIR/loss_curves.png` (default `target/optimizers`)
//! and prints the figures behind them. Text in the pictures needs a TrueType font: DejaVu Sans
//! is looked up in the usual places, or set `PLOT_FONT=/path/to/font.ttf`; without one the
//! pictures are drawn without text.

use std::error::Error;
use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use nlp_optim::{Adam, ModelOptimizer, RmsProp, RuleExt, Sgd, UpdateRule};
use plotters::prelude::*;

type Result<T> = std::result::Result<T, Box<dyn Error>>;
/// A labelled series of points and its colour.
type Run<L> = (L, Vec<(f64, f64)>, RGBColor);

/// Compare the nlp-optim optimizers on Rosenbrock and a small network; draws two PNG pictures.
#[derive(clap::Parser)]
#[command(version)]
struct Args {
    /// Directory for rosenbrock.png and loss_curves.png (created if missing).
    #[arg(long, default_value = "target/optimizers")]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    let args = <Args as clap::Parser>::parse();
    match run(&args.out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let text = register_font();
    if !text {
        eprintln!("no TrueType font found (set PLOT_FONT): drawing without text");
    }
    rosenbrock_picture(&out.join("rosenbrock.png"), text)?;
    loss_picture(&out.join("loss_curves.png"), text)?;
    Ok(())
}

/// Register a system font as "sans-serif" for plotters; false when none is found.
fn register_font() -> bool {
    let candidates = std::env::var("PLOT_FONT").into_iter().chain(
        [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/Library/Fonts/Arial.ttf",
            "C:\\Windows\\Fonts\\arial.ttf",
        ]
        .map(String::from),
    );
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Rosenbrock trajectories

/// The point being optimized, as a one-parameter module.
#[derive(Module, Debug)]
struct Point {
    xy: Param<Tensor<1>>,
}

fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

fn rosenbrock_grad(x: f64, y: f64) -> [f64; 2] {
    [
        -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
        200.0 * (y - x * x),
    ]
}

const START: (f64, f64) = (-1.5, 2.0);
const STEPS: usize = 3000;

/// Run `rule` on the Rosenbrock function from [`START`] and return the visited points.
fn trajectory<R: UpdateRule>(rule: R, lr: f64) -> Result<Vec<(f64, f64)>> {
    let device = Device::default();
    let mut optim = ModelOptimizer::new(rule)?;
    let mut point = Point {
        xy: Param::from_data(
            TensorData::new(vec![START.0 as f32, START.1 as f32], [2]),
            &device,
        ),
    };
    let mut path = vec![START];
    for _ in 0..STEPS {
        let (x, y) = *path.last().unwrap_or(&START);
        let g = rosenbrock_grad(x, y);
        let mut grads = GradientsParams::new();
        let g = TensorData::new(vec![g[0] as f32, g[1] as f32], [2]);
        grads.register(point.xy.id, Tensor::<1>::from_data(g, &device));
        point = optim.step(lr, point, grads);
        let xy = point.xy.val().to_data().try_to_vec::<f32>()?;
        path.push((xy[0] as f64, xy[1] as f64));
    }
    Ok(path)
}

fn rosenbrock_picture(file: &Path, text: bool) -> Result<()> {
    let runs: Vec<Run<&str>> = vec![
        (
            "SGD, γ=5e-4",
            trajectory(Sgd::new(), 5e-4)?,
            RGBColor(20, 20, 20),
        ),
        (
            "momentum 0.9, γ=1e-4",
            trajectory(Sgd::new().momentum(0.9), 1e-4)?,
            RGBColor(0, 90, 220),
        ),
        (
            "RMSprop, γ=3e-3",
            trajectory(RmsProp::new(), 3e-3)?,
            RGBColor(0, 160, 60),
        ),
        (
            "Adam, γ=2e-2",
            trajectory(Adam::new(), 2e-2)?,
            RGBColor(220, 30, 30),
        ),
    ];
    println!("Rosenbrock from {START:?}, {STEPS} steps (minimum f = 0 at (1, 1)):");
    for (name, path, _) in &runs {
        let (x, y) = path[path.len() - 1];
        let reach = path.iter().position(|&(x, y)| rosenbrock(x, y) < 1e-3);
        println!(
            "  {name:<22} ends at ({x:+.4}, {y:+.4}), f = {:.2e}; f < 1e-3 after {}",
            rosenbrock(x, y),
            reach.map_or("never".into(), |s| format!("{s} steps"))
        );
    }

    let root = BitMapBackend::new(file, (960, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (xr, yr) = (-2.0f64..2.0, -1.0f64..3.0);
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if text {
        builder
            .caption(
                "Rosenbrock: same start, same number of steps",
                ("sans-serif", 24),
            )
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder.build_cartesian_2d(xr.clone(), yr.clone())?;
    // Background: log10 f as a colour map, plus its level sets drawn as thin bands.
    let (nx, ny) = (240, 240);
    let (dx, dy) = (
        (xr.end - xr.start) / nx as f64,
        (yr.end - yr.start) / ny as f64,
    );
    chart.draw_series(
        (0..nx)
            .flat_map(|i| (0..ny).map(move |j| (i, j)))
            .map(|(i, j)| {
                let (x, y) = (xr.start + i as f64 * dx, yr.start + j as f64 * dy);
                let level = rosenbrock(x + dx / 2.0, y + dy / 2.0).max(1e-3).log10(); // -3 ..= 3.4
                let t = ((level + 3.0) / 6.5).clamp(0.0, 1.0);
                let band = (level * 2.0).fract().abs() < 0.08; // a contour every half decade
                let shade = if band { 0.75 } else { 1.0 };
                let colour = RGBColor(
                    ((255.0 - 70.0 * t) * shade) as u8,
                    ((250.0 - 150.0 * t) * shade) as u8,
                    ((215.0 - 120.0 * t) * shade) as u8,
                );
                Rectangle::new([(x, y), (x + dx, y + dy)], colour.filled())
            }),
    )?;
    if text {
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x")
            .y_desc("y")
            .draw()?;
    }
    // Slowest last, so that it is drawn on top of the faster ones sharing the valley.
    for (name, path, colour) in runs.into_iter().rev() {
        let style = colour.stroke_width(2);
        let series = chart.draw_series(LineSeries::new(path.clone(), style))?;
        let (x, y) = path[path.len() - 1];
        let label = format!("{name}: f = {:.1e} after {STEPS}", rosenbrock(x, y));
        if text {
            series.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
            });
        }
        let end = path[path.len() - 1];
        chart.draw_series(std::iter::once(Circle::new(end, 5, colour.filled())))?;
    }
    chart.draw_series(std::iter::once(Cross::new(
        (1.0, 1.0),
        8,
        BLACK.stroke_width(2),
    )))?;
    chart.draw_series(std::iter::once(Circle::new(START, 6, BLACK.filled())))?;
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 18))
            .draw()?;
    }
    root.present()?;
    println!("wrote {}", file.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A small network trained with and without the wrappers

/// A 2-64-1 tanh network.
#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    output: Linear,
}

impl Mlp {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.hidden.forward(x).tanh())
    }
}

/// Deterministic uniform numbers in [-1, 1) (xorshift).
fn uniform(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// n samples of y = sin(3x₁)·cos(2x₂) + 0.5x₂² + noise, x uniform in [-1, 1)².
fn dataset(seed: u64, n: usize) -> (Vec<f32>, Vec<f32>) {
    let x = uniform(seed, 2 * n);
    let noise = uniform(seed + 1, n);
    let y = (0..n)
        .map(|i| {
            let (a, b) = (x[2 * i], x[2 * i + 1]);
            (3.0 * a).sin() * (2.0 * b).cos() + 0.5 * b * b + 0.05 * noise[i]
        })
        .collect();
    (x, y)
}

fn tensors(x: &[f32], y: &[f32], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let n = y.len();
    (
        Tensor::from_data(TensorData::new(x.to_vec(), [n, 2]), device),
        Tensor::from_data(TensorData::new(y.to_vec(), [n, 1]), device),
    )
}

fn mse(model: &Mlp, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    (model.forward(x) - y).square().mean()
}

const TRAIN: usize = 1024;
const BATCH: usize = 32;
const UPDATES: usize = 600;
const EVAL_EVERY: usize = 10;

/// Train with `rule`, feeding `micro` micro-batches of BATCH/micro per update, and return the
/// held-out MSE every EVAL_EVERY updates (of the EMA weights when the rule keeps an EMA).
fn train<R: UpdateRule>(rule: R, lr: f64, micro: usize) -> Result<Vec<(f64, f64)>> {
    let device = Device::default().autodiff();
    let (train_x, train_y) = dataset(1, TRAIN);
    let (test_x, test_y) = dataset(2, 512);
    let (test_x, test_y) = tensors(&test_x, &test_y, &device);
    // The same initial network for every run.
    let mut model = Mlp {
        hidden: LinearConfig::new(2, 64).init(&device),
        output: LinearConfig::new(64, 1).init(&device),
    };
    let w1 = TensorData::new(
        uniform(3, 2 * 64).iter().map(|v| v * 1.2).collect(),
        [2, 64],
    );
    let w2 = TensorData::new(uniform(4, 64).iter().map(|v| v * 0.2).collect(), [64, 1]);
    model.hidden.weight = model
        .hidden
        .weight
        .map(|_| Tensor::from_data(w1, &device).require_grad());
    model.output.weight = model
        .output
        .weight
        .map(|_| Tensor::from_data(w2, &device).require_grad());
    let b1 = TensorData::new(uniform(5, 64).iter().map(|v| v * 0.5).collect(), [64]);
    model.hidden.bias = model
        .hidden
        .bias
        .map(|b| b.map(|_| Tensor::from_data(b1, &device).require_grad()));
    model.output.bias = model
        .output
        .bias
        .map(|b| b.map(|_| Tensor::zeros([1], &device).require_grad()));

    let mut optim = ModelOptimizer::new(rule)?;
    let mut curve = Vec::new();
    let micro_size = BATCH / micro;
    let mut cursor = 0;
    for update in 0..=UPDATES {
        if update % EVAL_EVERY == 0 {
            let weights = optim.ema_model(&model).unwrap_or_else(|_| model.clone());
            let loss = mse(&weights, test_x.clone(), test_y.clone()).into_scalar::<f32>();
            curve.push((update as f64, loss as f64));
        }
        if update == UPDATES {
            break;
        }
        for _ in 0..micro {
            let range = cursor..cursor + micro_size;
            cursor = (cursor + micro_size) % TRAIN;
            let (x, y) = tensors(
                &train_x[2 * range.start..2 * range.end],
                &train_y[range.clone()],
                &device,
            );
            let grads = GradientsParams::from_grads(mse(&model, x, y).backward(), &model);
            model = optim.step(lr, model, grads);
        }
    }
    Ok(curve)
}

fn loss_picture(file: &Path, text: bool) -> Result<()> {
    let schedule: &[(u64, f64)] = &[(60, 1.0), (600, 0.05)];
    let mut runs: Vec<Run<String>> = vec![
        (
            "Adam".into(),
            train(Adam::new(), 1e-2, 1)?,
            RGBColor(20, 20, 20),
        ),
        (
            "Adam + warm-up/decay".into(),
            train(Adam::new().piecewise_linear_lr(schedule), 1e-2, 1)?,
            RGBColor(0, 90, 220),
        ),
        (
            "LAMB (decay 0.01 inside layer adaptation) + warm-up/decay".into(),
            train(
                Adam::new()
                    .weight_decay(0.01)
                    .exclude(&["bias"])
                    .layer_adaptation()
                    .piecewise_linear_lr(schedule),
                1e-2,
                1,
            )?,
            RGBColor(0, 160, 60),
        ),
        (
            "Adam + lookahead(5, 0.5)".into(),
            train(Adam::new().lookahead(5, 0.5), 1e-2, 1)?,
            RGBColor(230, 140, 0),
        ),
        (
            "Adam + EMA(0.98), evaluated on the average".into(),
            train(Adam::new().ema(0.98), 1e-2, 1)?,
            RGBColor(220, 30, 30),
        ),
        (
            "Adam + accumulation 4 × 8 (same 32 samples per update: on top of Adam)".into(),
            train(Adam::new().gradient_accumulation(4), 1e-2, 4)?,
            RGBColor(150, 60, 200),
        ),
    ];
    println!("2-64-1 tanh network, {UPDATES} updates of {BATCH} samples, held-out MSE:");
    for (name, curve, _) in &runs {
        let last = curve[curve.len() - 1].1;
        let best = curve.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        println!("  {name:<58} final {last:.5}  best {best:.5}");
    }
    let low = runs
        .iter()
        .flat_map(|r| r.1.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min);
    let high = runs
        .iter()
        .flat_map(|r| r.1.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);

    let root = BitMapBackend::new(file, (1100, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if text {
        builder
            .caption(
                "Held-out MSE while training (log scale)",
                ("sans-serif", 24),
            )
            .x_label_area_size(40)
            .y_label_area_size(70);
    }
    let mut chart =
        builder.build_cartesian_2d(0.0..UPDATES as f64, (low * 0.8..high * 1.2).log_scale())?;
    if text {
        chart
            .configure_mesh()
            .x_desc("optimizer updates")
            .y_desc("MSE")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
    }
    for (name, curve, colour) in runs.drain(..) {
        let series = chart.draw_series(LineSeries::new(curve, colour.stroke_width(2)))?;
        if text {
            series.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
            });
        }
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
    }
    root.present()?;
    println!("wrote {}", file.display());
    Ok(())
}
