use nlp_core::activation::Activation;

use crate::{assert_close, device, float_tensor, floats};

#[test]
fn gelu_forms_match_their_formulas() {
    let xs = [-2.0f32, -0.5, 0.0, 1.0, 3.0];
    let x = || float_tensor(xs.to_vec(), [5], &device());
    // Exact: x·Φ(x), with Φ from the erfc series of libm-free f64 arithmetic below.
    let phi = |v: f64| 0.5 * (1.0 + erf(v / std::f64::consts::SQRT_2));
    let exact: Vec<f64> = xs.iter().map(|&v| v as f64 * phi(v as f64)).collect();
    let tanh_form: Vec<f64> = xs
        .iter()
        .map(|&v| {
            let v = v as f64;
            0.5 * v
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v.powi(3))).tanh())
        })
        .collect();
    assert_close(
        &floats(Activation::from_name("gelu").unwrap().forward(x())),
        &exact,
        1e-6,
        "gelu (erf)",
    );
    assert_close(
        &floats(Activation::from_name("gelu_new").unwrap().forward(x())),
        &tanh_form,
        1e-6,
        "gelu (tanh)",
    );
    // The two forms really differ (by ~1.5e-4 at x = 1).
    assert!((exact[3] - tanh_form[3]).abs() > 1e-4);
    assert!(Activation::from_name("mish-ish").is_err());
}

/// erf by its Taylor series (converges fast for |x| ≤ 3 in f64).
fn erf(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x;
    for n in 0..80 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}
