//! Gradient accumulation: k micro-batches of b equal one batch of k·b.

use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use nlp_optim::{Adam, ModelOptimizer, RuleExt, UpdateRule};

use crate::common::{noise, values};

const IN: usize = 5;
const OUT: usize = 3;

fn batch(seed: u64, rows: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = TensorData::new(noise(seed, rows * IN), [rows, IN]);
    let y = TensorData::new(noise(seed + 1, rows * OUT), [rows, OUT]);
    (Tensor::from_data(x, device), Tensor::from_data(y, device))
}

/// Mean squared error of the linear model on (x, y).
fn grads(model: &Linear, x: Tensor<2>, y: Tensor<2>) -> GradientsParams {
    let loss = (model.forward(x) - y).square().mean();
    GradientsParams::from_grads(loss.backward(), model)
}

fn params(model: &Linear) -> Vec<f32> {
    let mut all = values(&model.weight.val());
    all.extend(values(&model.bias.as_ref().unwrap().val()));
    all
}

fn run<R: UpdateRule>(
    rule: R,
    micro_batches: usize,
    rows: usize,
    updates: usize,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let device = Device::default().autodiff();
    let mut model = LinearConfig::new(IN, OUT).init(&device);
    // Same initial weights for every run.
    let w = TensorData::new(noise(7, IN * OUT), [IN, OUT]);
    model.weight = model
        .weight
        .map(|_| Tensor::from_data(w.clone(), &device).require_grad());
    let b = TensorData::new(noise(8, OUT), [OUT]);
    model.bias = model
        .bias
        .map(|p| p.map(|_| Tensor::from_data(b.clone(), &device).require_grad()));
    let mut optim = ModelOptimizer::new(rule).unwrap();
    let mut history = vec![params(&model)];
    for update in 0..updates {
        // One "large batch" of micro_batches·rows samples, split into micro-batches.
        let (x, y) = batch(1000 + update as u64, micro_batches * rows, &device);
        for micro in 0..micro_batches {
            let range = micro * rows..(micro + 1) * rows;
            let g = grads(
                &model,
                x.clone().slice(range.clone()),
                y.clone().slice(range),
            );
            model = optim.step(1e-2, model, g);
            history.push(params(&model));
        }
    }
    (params(&model), history)
}

#[test]
fn k_accumulated_micro_batches_equal_one_large_batch() {
    let (k, b, updates) = (4, 2, 3);
    let (accumulated, history) = run(Adam::new().gradient_accumulation(k as u64), k, b, updates);
    let (large, _) = run(Adam::new(), 1, k * b, updates);
    let worst = accumulated
        .iter()
        .zip(&large)
        .map(|(a, l)| ((a - l) / l).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "accumulated vs large batch: relative difference {worst:e}"
    );
    // Parameters are untouched between the k-th steps (bit for bit).
    for (i, point) in history.iter().enumerate().skip(1) {
        if i % k != 0 {
            assert_eq!(point, &history[i - 1], "parameters moved at micro-step {i}");
        } else {
            assert_ne!(point, &history[i - 1], "no update at micro-step {i}");
        }
    }
}

#[test]
fn inner_state_advances_only_on_the_kth_step() {
    let device = Device::default().autodiff();
    let mut model = LinearConfig::new(IN, OUT).init(&device);
    let mut optim = Adam::new().gradient_accumulation(3).init().unwrap();
    for step in 1..=7u64 {
        let (x, y) = batch(step, 2, &device);
        model = optim.step(1e-2, model.clone(), grads(&model, x, y));
        let state = optim.state::<2>("weight").expect("state for the weight");
        assert_eq!(state.count, step);
        let adam_steps = state.inner.as_ref().map_or(0, |adam| adam.time);
        assert_eq!(adam_steps, step / 3, "Adam's step count after {step} calls");
    }
}
