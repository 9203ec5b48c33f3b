use nlp_core::norm::{ConditionalLayerNormConfig, LayerNormConfig};

use crate::{assert_close, device, float_tensor, floats, pseudo_random};

fn layer_norm_reference(x: &[f32], d: usize, eps: f64) -> Vec<f64> {
    x.chunks(d)
        .flat_map(|row| {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            row.iter()
                .map(move |&v| (v as f64 - mean) / (var + eps).sqrt())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn fresh_conditional_layer_norm_is_plain_layer_norm() {
    let dev = device();
    let (b, l, d, c) = (2, 3, 6, 4);
    let x_vals = pseudo_random(b * l * d, 71);
    let x = float_tensor(x_vals.clone(), [b, l, d], &dev);
    let cond = float_tensor(pseudo_random(b * c, 72), [b, c], &dev);
    let cln = ConditionalLayerNormConfig::new(d, c).init(&dev);
    let plain = LayerNormConfig::new(d).with_epsilon(1e-12).init(&dev);
    let expected = layer_norm_reference(&x_vals, d, 1e-12);
    assert_close(
        &floats(cln.forward(x.clone(), cond)),
        &expected,
        1e-5,
        "conditional at init",
    );
    assert_close(
        &floats(plain.forward(x)),
        &expected,
        1e-5,
        "plain layer norm",
    );
}

#[test]
fn condition_shifts_gamma_and_beta() {
    let dev = device();
    let (d, c) = (4, 2);
    let x_vals = vec![1.0, 2.0, 3.0, 6.0];
    let mut cln = ConditionalLayerNormConfig::new(d, c).init(&dev);
    // W_γ = all 0.5, W_β = all 1.0 (no bias): with c = [1, 1], γ = 1 + 1 = 2, β = 0 + 2 = 2.
    cln.gamma_dense.weight =
        burn::module::Param::from_tensor(float_tensor(vec![0.5; c * d], [c, d], &dev));
    cln.beta_dense.weight =
        burn::module::Param::from_tensor(float_tensor(vec![1.0; c * d], [c, d], &dev));
    let y = floats(cln.forward(
        float_tensor(x_vals.clone(), [1, 1, d], &dev),
        float_tensor(vec![1.0, 1.0], [1, c], &dev),
    ));
    let expected: Vec<f64> = layer_norm_reference(&x_vals, d, 1e-12)
        .iter()
        .map(|v| 2.0 * v + 2.0)
        .collect();
    assert_close(&y, &expected, 1e-5, "conditioned");
}
