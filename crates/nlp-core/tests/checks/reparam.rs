use burn::tensor::activation::softmax;
use nlp_core::reparam::{gumbel_softmax, straight_through};

use crate::{device, float_tensor, floats};

#[test]
fn gumbel_argmax_frequencies_approach_softmax() {
    let dev = device();
    dev.seed(7);
    let logits = vec![0.5f32, -1.0, 1.2, 0.0];
    let n = 20_000;
    let batch = float_tensor(
        logits.iter().copied().cycle().take(n * 4).collect(),
        [n, 4],
        &dev,
    );
    let samples = gumbel_softmax(batch, 0.5, true);
    let freq = floats(samples.clone().mean_dim(0));
    let probs = floats(softmax(float_tensor(logits, [1, 4], &dev), 1));
    // Binomial standard error is at most 0.5/sqrt(20000) ≈ 0.0035; allow 4 of them.
    for (f, p) in freq.iter().zip(&probs) {
        assert!((f - p).abs() < 0.014, "frequency {f} vs probability {p}");
    }
    // Hard samples are one-hot.
    let rows = floats(samples.sum_dim(1));
    assert!(rows.iter().all(|&s| (s - 1.0).abs() < 1e-6));
}

#[test]
fn soft_gumbel_rows_are_distributions() {
    let dev = device();
    dev.seed(3);
    let y = gumbel_softmax(
        float_tensor(vec![0.1, 0.2, 0.3, 2.0, 0.0, -1.0], [2, 3], &dev),
        1.0,
        false,
    );
    let values = floats(y.clone());
    assert!(values.iter().all(|&v| v > 0.0 && v < 1.0));
    assert!(floats(y.sum_dim(1)).iter().all(|&s| (s - 1.0).abs() < 1e-5));
}

#[test]
fn straight_through_forward_is_f_and_gradient_is_identity() {
    let dev = device().autodiff();
    let x = float_tensor(vec![0.2, 1.7, -0.6], [3], &dev).require_grad();
    let y = straight_through(x.clone(), x.clone().round());
    assert_eq!(floats(y.clone()), vec![0.0, 2.0, -1.0]);
    let grads = y.mul_scalar(3.0).sum().backward();
    let g = floats(x.grad(&grads).expect("x has a gradient"));
    assert_eq!(g, vec![3.0, 3.0, 3.0]);
}
