//! Selection by parameter name: LR multipliers and weight-decay exclusions.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use nlp_optim::{RuleExt, Sgd};

use crate::common::{assert_rel_close, device, noise, values};

#[derive(Module, Debug)]
struct Crf {
    transitions: Param<Tensor<2>>,
}

#[derive(Module, Debug)]
struct Norm {
    gamma: Param<Tensor<1>>,
}

#[derive(Module, Debug)]
struct Tagger {
    weight: Param<Tensor<2>>,
    crf: Crf,
    norm: Norm,
}

fn tagger() -> Tagger {
    let d = device();
    Tagger {
        weight: Param::from_data(TensorData::new(noise(1, 6), [2, 3]), &d),
        crf: Crf {
            transitions: Param::from_data(TensorData::new(noise(2, 4), [2, 2]), &d),
        },
        norm: Norm {
            gamma: Param::from_data(TensorData::new(noise(3, 3), [3]), &d),
        },
    }
}

fn grads(model: &Tagger) -> (GradientsParams, [Vec<f32>; 3]) {
    let d = device();
    let g = [noise(10, 6), noise(11, 4), noise(12, 3)];
    let mut grads = GradientsParams::new();
    grads.register(
        model.weight.id,
        Tensor::<2>::from_data(TensorData::new(g[0].clone(), [2, 3]), &d),
    );
    grads.register(
        model.crf.transitions.id,
        Tensor::<2>::from_data(TensorData::new(g[1].clone(), [2, 2]), &d),
    );
    grads.register(
        model.norm.gamma.id,
        Tensor::<1>::from_data(TensorData::new(g[2].clone(), [3]), &d),
    );
    (grads, g)
}

/// θ − lr·(g + λθ) in f64.
fn sgd_step(theta: &[f32], g: &[f32], lr: f64, decay: f64) -> Vec<f64> {
    theta
        .iter()
        .zip(g)
        .map(|(&w, &g)| w as f64 - lr * (g as f64 + decay * w as f64))
        .collect()
}

#[test]
fn parameter_paths_are_module_paths() {
    let model = tagger();
    let mut optim = Sgd::new().init().unwrap();
    let (g, _) = grads(&model);
    optim.step(0.1, model, g);
    assert_eq!(
        optim.param_paths(),
        vec!["crf.transitions", "norm.gamma", "weight"]
    );
}

#[test]
fn lr_multiplier_trains_crf_transitions_faster() {
    let model = tagger();
    let before = [
        values(&model.weight.val()),
        values(&model.crf.transitions.val()),
        values(&model.norm.gamma.val()),
    ];
    let mut optim = Sgd::new()
        .lr_multipliers(&[("crf", 100.0), ("norm", 0.0)])
        .init()
        .unwrap();
    let (g, raw) = grads(&model);
    let model = optim.step(0.001, model, g);
    assert_rel_close(
        &values(&model.weight.val()),
        &sgd_step(&before[0], &raw[0], 0.001, 0.0),
        1e-6,
        "weight ×1",
    );
    assert_rel_close(
        &values(&model.crf.transitions.val()),
        &sgd_step(&before[1], &raw[1], 0.1, 0.0),
        1e-6,
        "crf ×100",
    );
    assert_eq!(
        values(&model.norm.gamma.val()),
        before[2],
        "norm ×0 must not move"
    );
    assert_eq!(optim.rule().multiplier("crf.transitions"), 100.0);
    assert_eq!(optim.rule().multiplier("weight"), 1.0);
}

#[test]
fn weight_decay_skips_excluded_names() {
    let model = tagger();
    let before = [
        values(&model.weight.val()),
        values(&model.crf.transitions.val()),
        values(&model.norm.gamma.val()),
    ];
    let mut optim = Sgd::new()
        .weight_decay(0.5)
        .exclude(&["norm", "^crf\\."])
        .init()
        .unwrap();
    let (g, raw) = grads(&model);
    let model = optim.step(0.1, model, g);
    assert_rel_close(
        &values(&model.weight.val()),
        &sgd_step(&before[0], &raw[0], 0.1, 0.5),
        1e-6,
        "decayed",
    );
    assert_rel_close(
        &values(&model.crf.transitions.val()),
        &sgd_step(&before[1], &raw[1], 0.1, 0.0),
        1e-6,
        "crf excluded",
    );
    assert_rel_close(
        &values(&model.norm.gamma.val()),
        &sgd_step(&before[2], &raw[2], 0.1, 0.0),
        1e-6,
        "norm excluded",
    );
}
