//! Save after step t, load into a fresh optimizer, continue: identical to an uninterrupted run.

use burn::tensor::TensorData;
use nlp_optim::{Adam, ModelOptimizer, OptimError, RuleExt, Sgd, UpdateRule};

use crate::common::{Pair, device, noise, pair, pair_grads};

fn bits(model: &Pair) -> Vec<u32> {
    let mut out: Vec<u32> = model
        .matrix
        .val()
        .to_data()
        .try_to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    out.extend(
        model
            .vector
            .val()
            .to_data()
            .try_to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits()),
    );
    out
}

/// Gradients of step t; every third step row 1 of the matrix has none (exercises `lazy`).
fn step_grads(model: &Pair, t: u64) -> burn::optim::GradientsParams {
    let mut matrix = noise(300 + t, 12);
    if t.is_multiple_of(3) {
        matrix[4..8].fill(0.0);
    }
    pair_grads(model, &matrix, &noise(400 + t, 4))
}

fn every_wrapper() -> impl UpdateRule {
    Adam::new()
        .lazy()
        .weight_decay(0.01)
        .exclude(&["vector"])
        .layer_adaptation()
        .piecewise_linear_lr(&[(3, 1.0), (9, 0.2)])
        .lookahead(3, 0.5)
        .gradient_accumulation(2)
        .lr_multipliers(&[("matrix", 2.0)])
        .ema(0.99)
}

fn fresh_model() -> Pair {
    pair(&noise(1, 12), 3, &noise(2, 4))
}

fn check_resume<R: UpdateRule>(make: impl Fn() -> R, total: u64, stop: u64) {
    let mut straight = fresh_model();
    let mut optim = ModelOptimizer::new(make()).unwrap();
    for t in 0..total {
        straight = optim.step(0.05, straight.clone(), step_grads(&straight, t));
    }

    let mut first = fresh_model();
    let mut optim_a = ModelOptimizer::new(make()).unwrap();
    for t in 0..stop {
        first = optim_a.step(0.05, first.clone(), step_grads(&first, t));
    }
    let path = std::env::temp_dir().join(format!(
        "nlp-optim-resume-{}-{stop}.bpk",
        std::process::id()
    ));
    optim_a.save(&path).unwrap();
    // The model goes through its values only, as a checkpoint would.
    let (m, v): (TensorData, TensorData) =
        (first.matrix.val().to_data(), first.vector.val().to_data());
    drop((first, optim_a));

    let mut resumed = pair(
        &m.try_to_vec::<f32>().unwrap(),
        3,
        &v.try_to_vec::<f32>().unwrap(),
    );
    let mut optim_b = ModelOptimizer::new(make()).unwrap();
    optim_b.load(&path, &device()).unwrap();
    std::fs::remove_file(&path).unwrap();
    for t in stop..total {
        resumed = optim_b.step(0.05, resumed.clone(), step_grads(&resumed, t));
    }

    assert_eq!(
        bits(&resumed),
        bits(&straight),
        "weights differ after resuming at {stop}"
    );
    assert_eq!(
        optim_b.to_bytes().unwrap(),
        optim.to_bytes().unwrap(),
        "states differ"
    );
    let (ema_a, ema_b) = (optim.ema_model(&straight), optim_b.ema_model(&resumed));
    if let (Ok(a), Ok(b)) = (ema_a, ema_b) {
        assert_eq!(bits(&a), bits(&b), "EMA weights differ");
    }
}

#[test]
fn resuming_every_wrapper_is_bit_identical() {
    // Stop points inside an accumulation cycle, on a lookahead sync, inside the warm-up.
    for stop in [1, 5, 6, 11] {
        check_resume(every_wrapper, 16, stop);
    }
}

#[test]
fn resuming_burn_sgd_and_rmsprop_is_bit_identical() {
    check_resume(|| Sgd::new().momentum(0.9).nesterov(true).lazy(), 8, 3);
    check_resume(|| nlp_optim::RmsProp::new().lookahead(2, 0.5), 8, 3);
}

#[test]
fn a_record_only_loads_into_the_chain_that_wrote_it() {
    let mut model = fresh_model();
    let mut optim = every_wrapper().init().unwrap();
    model = optim.step(0.05, model.clone(), step_grads(&model, 1));
    let bytes = optim.to_bytes().unwrap();

    let mut other = Adam::new().ema(0.99).init().unwrap();
    let error = other.load_bytes(bytes.clone(), &device()).unwrap_err();
    assert!(
        matches!(error, OptimError::RecordMismatch { .. }),
        "{error}"
    );

    let mut same = ModelOptimizer::new(every_wrapper()).unwrap();
    let truncated = bytes[..bytes.len() / 2].to_vec();
    let error = same.load_bytes(truncated, &device()).unwrap_err();
    assert!(matches!(error, OptimError::Record(_)), "{error}");
    same.load_bytes(bytes, &device()).unwrap();
    assert_eq!(same.param_paths(), vec!["matrix", "vector"]);
    drop(model);
}
