//! One Adam step (`kernels::adam_step`) against the formula in f64: the fused pass (flex, f32)
//! and the composed ops (any other device or dtype: f64 tensors on flex, f32 on wgpu), over
//! several steps with and without bias correction.

use burn::tensor::{DType, Tensor, TensorData};
use nlp_core::kernels::{self, AdamHyper, adam_step};

use crate::{device, pseudo_random};

/// One step of the f64 formula: the values and, per element, their error scales.
struct Expected {
    m: Vec<f64>,
    v: Vec<f64>,
    delta: Vec<f64>,
    /// `m` over |g| (the size of the terms that cancel in `m`).
    m_scale: Vec<f64>,
    /// `δ` with `m_scale` in place of `m`.
    delta_scale: Vec<f64>,
}

/// The f64 formula after each step of `grads`.
fn reference(
    grads: &[Vec<f64>],
    (beta_1, beta_2, eps, lr): (f64, f64, f64, f64),
    correct: bool,
) -> Vec<Expected> {
    let n = grads[0].len();
    let (mut m, mut v, mut m_scale) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut out = Vec::new();
    for (t, g) in grads.iter().enumerate() {
        let t = t as i32 + 1;
        let (c1, c2) = if correct {
            (1.0 - beta_1.powi(t), 1.0 - beta_2.powi(t))
        } else {
            (1.0, 1.0)
        };
        let (mut delta, mut delta_scale) = (vec![0.0; n], vec![0.0; n]);
        for i in 0..n {
            m[i] = beta_1 * m[i] + (1.0 - beta_1) * g[i];
            m_scale[i] = beta_1 * m_scale[i] + (1.0 - beta_1) * g[i].abs();
            v[i] = beta_2 * v[i] + (1.0 - beta_2) * g[i] * g[i];
            let root = (v[i] / c2).sqrt() + eps;
            delta[i] = lr * (m[i] / c1) / root;
            delta_scale[i] = lr * (m_scale[i] / c1) / root;
        }
        out.push(Expected {
            m: m.clone(),
            v: v.clone(),
            delta,
            m_scale: m_scale.clone(),
            delta_scale,
        });
    }
    out
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

#[test]
fn adam_step_equals_the_formula_fused_and_composed() {
    let device = device();
    let settings = (0.9, 0.999, 1e-6, 1e-3);
    // Gradients of very different scales, zeros included; 3 × 7 × 5 crosses no chunk, 40,000
    // elements cross several rayon chunks.
    for n in [105usize, 40_000] {
        let grads: Vec<Vec<f64>> = (0..4)
            .map(|s| {
                pseudo_random(n, 30 + s)
                    .iter()
                    .enumerate()
                    // f32 values, so that both dtypes start from exactly these gradients.
                    .map(|(i, &x)| {
                        if i % 17 == 0 {
                            0.0
                        } else {
                            f64::from(x * 10f32.powi(i as i32 % 7 - 3))
                        }
                    })
                    .collect()
            })
            .collect();
        for correct in [true, false] {
            let want = reference(&grads, settings, correct);
            // On flex f32 takes the fused pass and f64 the composed ops; elsewhere (wgpu, which
            // has no f64) f32 takes the composed ops.
            let dtypes: &[DType] = if kernels::takes_fused_path(&device, DType::F32) {
                &[DType::F32, DType::F64]
            } else {
                &[DType::F32]
            };
            for &dtype in dtypes {
                let mut moments: Option<(Tensor<1>, Tensor<1>)> = None;
                for (t, g) in grads.iter().enumerate() {
                    let g32: Vec<f32> = g.iter().map(|&x| x as f32).collect();
                    let grad =
                        Tensor::<1>::from_data(TensorData::new(g32, [n]), &device).cast(dtype);
                    let step = t as i32 + 1;
                    let (beta_1, beta_2, epsilon, lr) = settings;
                    let hyper = AdamHyper {
                        beta_1,
                        beta_2,
                        epsilon,
                        lr,
                        correction_1: if correct {
                            1.0 - beta_1.powi(step)
                        } else {
                            1.0
                        },
                        correction_2: if correct {
                            1.0 - beta_2.powi(step)
                        } else {
                            1.0
                        },
                    };
                    let (m, v, delta) = adam_step(grad, moments, hyper);
                    // A few roundings of the type, relative to the size of what cancels.
                    let tol = if dtype == DType::F32 { 1e-6 } else { 1e-14 };
                    let w = &want[t];
                    for (what, got, expected, scale) in [
                        ("m", values(m.clone()), &w.m, &w.m_scale),
                        ("v", values(v.clone()), &w.v, &w.v),
                        ("delta", values(delta), &w.delta, &w.delta_scale),
                    ] {
                        for (i, (a, e)) in got.iter().zip(expected.iter()).enumerate() {
                            assert!(
                                (a - e).abs() <= tol * scale[i] + 1e-30,
                                "{what}[{i}] step {step} {dtype:?} correction {correct}: {a} vs {e}"
                            );
                        }
                    }
                    moments = Some((m, v));
                }
            }
        }
    }
}
