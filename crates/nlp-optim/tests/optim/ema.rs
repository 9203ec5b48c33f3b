//! EMA of weights: the swapped-in weights equal the closed-form bias-corrected average.

use nlp_optim::{Adam, ModelOptimizer, OptimError, RuleExt, Sgd};

use crate::common::{assert_rel_close, noise, pair, pair_grads, values};

/// (1−m) Σᵢ m^(t−i) θᵢ / (1 − mᵗ) over the weights θ₁..θₜ after each update, in f64.
fn closed_form(history: &[Vec<f32>], momentum: f64) -> Vec<f64> {
    let t = history.len() as i32;
    (0..history[0].len())
        .map(|j| {
            let sum: f64 = history
                .iter()
                .enumerate()
                .map(|(i, theta)| momentum.powi(t - 1 - i as i32) * theta[j] as f64)
                .sum();
            (1.0 - momentum) * sum / (1.0 - momentum.powi(t))
        })
        .collect()
}

#[test]
fn swapped_in_weights_are_the_bias_corrected_average() {
    let momentum = 0.9;
    let mut model = pair(&noise(1, 12), 3, &noise(2, 4));
    let mut optim = Sgd::new().momentum(0.5).ema(momentum).init().unwrap();
    let (mut matrices, mut vectors) = (Vec::new(), Vec::new());
    for t in 0..15u64 {
        let grads = pair_grads(&model, &noise(100 + t, 12), &noise(200 + t, 4));
        model = optim.step(0.1, model, grads);
        matrices.push(values(&model.matrix.val()));
        vectors.push(values(&model.vector.val()));
    }
    let training = (values(&model.matrix.val()), values(&model.vector.val()));
    let ema_model = optim.apply_ema(&model).unwrap();
    assert_rel_close(
        &values(&ema_model.matrix.val()),
        &closed_form(&matrices, momentum),
        1e-5,
        "matrix EMA",
    );
    assert_rel_close(
        &values(&ema_model.vector.val()),
        &closed_form(&vectors, momentum),
        1e-5,
        "vector EMA",
    );
    assert_ne!(values(&ema_model.matrix.val()), training.0);

    // Swapping back restores the training weights bit for bit.
    let restored = optim.restore_weights(&ema_model).unwrap();
    assert_eq!(values(&restored.matrix.val()), training.0);
    assert_eq!(values(&restored.vector.val()), training.1);

    // ema_model gives the same weights without touching the optimizer.
    let copy = optim.ema_model(&restored).unwrap();
    assert_eq!(values(&copy.matrix.val()), values(&ema_model.matrix.val()));
}

#[test]
fn misuse_is_reported_not_panicked() {
    let mut model = pair(&noise(1, 12), 3, &noise(2, 4));
    let mut optim = Adam::new().ema(0.99).init().unwrap();
    model = optim.step(
        0.1,
        model.clone(),
        pair_grads(&model, &noise(3, 12), &noise(4, 4)),
    );
    assert!(matches!(
        optim.restore_weights(&model),
        Err(OptimError::EmaNotApplied)
    ));
    let ema_model = optim.apply_ema(&model).unwrap();
    assert!(matches!(
        optim.apply_ema(&ema_model),
        Err(OptimError::EmaAlreadyApplied)
    ));
    assert!(matches!(
        optim.to_bytes(),
        Err(OptimError::SaveWhileEmaApplied)
    ));
    optim.restore_weights(&ema_model).unwrap();
    assert!(optim.to_bytes().is_ok());

    let mut no_ema: ModelOptimizer<Adam> = Adam::new().init().unwrap();
    model = no_ema.step(
        0.1,
        model.clone(),
        pair_grads(&model, &noise(3, 12), &noise(4, 4)),
    );
    assert!(matches!(no_ema.apply_ema(&model), Err(OptimError::NoEma)));
}

#[test]
fn an_average_inside_accumulation_appears_with_the_first_update() {
    let mut model = pair(&noise(1, 12), 3, &noise(2, 4));
    let mut optim = Adam::new()
        .ema(0.9)
        .gradient_accumulation(2)
        .init()
        .unwrap();
    let grads = pair_grads(&model, &noise(3, 12), &noise(4, 4));
    model = optim.step(0.1, model, grads);
    // No inner update yet: no average, the weights are returned as they are.
    let same = optim.ema_model(&model).unwrap();
    assert_eq!(values(&same.matrix.val()), values(&model.matrix.val()));
    let grads = pair_grads(&model, &noise(5, 12), &noise(6, 4));
    model = optim.step(0.1, model, grads);
    // One update: the bias-corrected average of one point is that point.
    let averaged = optim.ema_model(&model).unwrap();
    assert_rel_close(
        &values(&averaged.matrix.val()),
        &values(&model.matrix.val())
            .iter()
            .map(|&v| v as f64)
            .collect::<Vec<_>>(),
        1e-6,
        "average of one update",
    );
}
