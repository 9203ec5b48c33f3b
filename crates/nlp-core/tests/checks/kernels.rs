//! The fused kernels: their math against libm in f64, every compiled instruction set against
//! the others, and the tensor ops (values and gradients) against Burn's composed ops.

use burn::tensor::activation;
use burn::tensor::{DType, Tensor};
use nlp_core::kernels::math::{self, GeluErf, GeluErfGrad, GeluTanh, GeluTanhGrad};
use nlp_core::kernels::simd::{Lanewise, SimdLevel, map_in_place_at};
use nlp_core::kernels::{self, GeluForm};

use crate::{device, float_tensor, floats, pseudo_random};

/// `n + 1` evenly spaced f32 points over `[lo, hi]`.
fn grid(lo: f64, hi: f64, n: usize) -> Vec<f32> {
    (0..=n)
        .map(|i| (lo + (hi - lo) * i as f64 / n as f64) as f32)
        .collect()
}

/// Largest `|got − want| / max(|want|, floor)` over the grid, and where.
fn worst(
    xs: &[f32],
    got: impl Fn(f32) -> f32,
    want: impl Fn(f64) -> f64,
    floor: f64,
) -> (f64, f32) {
    xs.iter()
        .map(|&x| {
            let w = want(x as f64);
            ((got(x) as f64 - w).abs() / w.abs().max(floor), x)
        })
        .fold((0.0, 0.0), |acc, e| if e.0 > acc.0 { e } else { acc })
}

fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The tanh form's gate `(1 + tanh u)/2`, written as the logistic of `2u` so that f64 does not
/// cancel in the lower tail.
fn tanh_gate(x: f64) -> f64 {
    let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
    1.0 / (1.0 + (-2.0 * u).exp())
}

#[test]
fn erf_is_within_a_millionth_relative_of_libm() {
    let xs = grid(-10.0, 10.0, 400_000);
    // Tiny arguments, where erf(x) ≈ 2x/√π: relative accuracy must hold there too.
    let small = grid(-1e-3, 1e-3, 10_000);
    for (fma, erf) in [
        (false, math::erf::<false> as fn(f32) -> f32),
        (true, math::erf::<true>),
    ] {
        let (err, at) = worst(&xs, erf, libm::erf, 0.0);
        assert!(
            err <= 1e-6,
            "erf (fma {fma}): relative error {err:e} at {at}"
        );
        let (err, at) = worst(&small, erf, libm::erf, 0.0);
        assert!(
            err <= 1e-6,
            "erf (fma {fma}) near 0: relative error {err:e} at {at}"
        );
    }
}

#[test]
fn gelu_and_gradients_match_f64_formulas() {
    let xs = grid(-12.0, 12.0, 400_000);
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // (name, kernel, f64 reference, floor of the relative error, tolerance)
    type Case<'a> = (&'a str, fn(f32) -> f32, &'a dyn Fn(f64) -> f64, f64, f64);
    let gelu = |x: f64| x * cdf(x);
    let gelu_grad = |x: f64| cdf(x) + x * pdf(x);
    let tanh_form = |x: f64| x * tanh_gate(x);
    let tanh_grad = |x: f64| {
        let s = tanh_gate(x);
        let du = (2.0 / std::f64::consts::PI).sqrt() * (1.0 + 3.0 * 0.044715 * x * x);
        s + x * s * (1.0 - s) * 2.0 * du
    };
    // Both variants of every kernel: plain products and sums, and fused multiply-adds.
    let cases: [Case; 8] = [
        ("gelu", math::gelu::<false>, &gelu, 1e-3, 2e-6),
        ("gelu'", math::gelu_grad::<false>, &gelu_grad, 1.0, 1e-6),
        (
            "gelu_tanh",
            math::gelu_tanh::<false>,
            &tanh_form,
            1e-3,
            2e-6,
        ),
        (
            "gelu_tanh'",
            math::gelu_tanh_grad::<false>,
            &tanh_grad,
            1.0,
            1e-6,
        ),
        ("gelu (fma)", math::gelu::<true>, &gelu, 1e-3, 2e-6),
        (
            "gelu' (fma)",
            math::gelu_grad::<true>,
            &gelu_grad,
            1.0,
            1e-6,
        ),
        (
            "gelu_tanh (fma)",
            math::gelu_tanh::<true>,
            &tanh_form,
            1e-3,
            2e-6,
        ),
        (
            "gelu_tanh' (fma)",
            math::gelu_tanh_grad::<true>,
            &tanh_grad,
            1.0,
            1e-6,
        ),
    ];
    for (name, got, want, floor, tol) in cases {
        let (err, at) = worst(&xs, got, want, floor);
        assert!(err <= tol, "{name}: error {err:e} at {at} (floor {floor})");
    }
    // The lower tail keeps its relative accuracy through erfc, where 1 + erf would cancel:
    // x = −6 gives −6·Φ(−6) ≈ −5.9e-9.
    let (err, at) = worst(
        &grid(-6.0, -5.0, 1_000),
        math::gelu::<true>,
        |x| x * cdf(x),
        0.0,
    );
    assert!(err <= 2e-5, "gelu tail: relative error {err:e} at {at}");
}

/// Every instruction-set variant computes the values of the scalar function with the same
/// `FMA` choice, bit for bit: the same operations in the same order per element (Rust never
/// contracts a·b + c into an FMA by itself, and a scalar `mul_add` rounds once, as the
/// instruction does).
#[test]
fn every_simd_level_gives_identical_bits() {
    fn check<F: Lanewise>(name: &str, xs: &[f32]) {
        let scalar = |fma: bool| -> Vec<u32> {
            xs.iter()
                .map(|&x| match fma {
                    true => F::apply::<true>(x).to_bits(),
                    false => F::apply::<false>(x).to_bits(),
                })
                .collect()
        };
        for level in SimdLevel::available() {
            let mut data = xs.to_vec();
            map_in_place_at::<F>(level, &mut data);
            let bits: Vec<u32> = data.iter().map(|v| v.to_bits()).collect();
            assert!(
                bits == scalar(level.fma()),
                "{name} at {level:?} differs from the scalar calls"
            );
        }
    }
    // An odd length, so that every variant also runs its remainder loop.
    let xs: Vec<f32> = grid(-9.0, 9.0, 100_002);
    check::<GeluErf>("gelu", &xs);
    check::<GeluErfGrad>("gelu'", &xs);
    check::<GeluTanh>("gelu_tanh", &xs);
    check::<GeluTanhGrad>("gelu_tanh'", &xs);
}

fn composed<const D: usize>(x: Tensor<D>, form: GeluForm) -> Tensor<D> {
    match form {
        GeluForm::Erf => activation::gelu(x),
        GeluForm::Tanh => activation::gelu_approximate(x),
    }
}

fn assert_all_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: fused {g}, composed {w}"
        );
    }
}

#[test]
fn fused_gelu_equals_the_composed_ops_on_strided_inputs() {
    let device = device();
    // A BERT-like activation: [batch, len, 4·hidden], values spread over ±6.
    let values: Vec<f32> = pseudo_random(3 * 7 * 40, 7)
        .iter()
        .map(|v| v * 6.0)
        .collect();
    let x = float_tensor(values, [3, 7, 40], &device);
    for form in [GeluForm::Erf, GeluForm::Tanh] {
        let want = floats(composed(x.clone(), form));
        assert_all_close(
            &floats(kernels::gelu(x.clone(), form)),
            &want,
            2e-6,
            "contiguous",
        );
        // A transposed view and a slice of a larger buffer take the copying path.
        let t = x.clone().swap_dims(1, 2);
        let want_t = floats(composed(t.clone(), form));
        assert_all_close(&floats(kernels::gelu(t, form)), &want_t, 2e-6, "transposed");
        let s = x.clone().slice([1..3, 2..5, 0..40]);
        let want_s = floats(composed(s.clone(), form));
        assert_all_close(&floats(kernels::gelu(s, form)), &want_s, 2e-6, "slice");
        // The input survives (the kernel writes in place only into a buffer nobody else holds).
        assert_eq!(floats(x.clone()).len(), 3 * 7 * 40);
        assert_all_close(
            &floats(composed(x.clone(), form)),
            &want,
            0.0,
            "input after the fused call",
        );
    }
}

#[test]
fn fused_gelu_gradient_equals_the_composed_gradient() {
    let device = device().autodiff();
    let values: Vec<f32> = pseudo_random(5 * 33, 11).iter().map(|v| v * 5.0).collect();
    let weights = float_tensor(pseudo_random(5 * 33, 12), [5, 33], &device);
    for form in [GeluForm::Erf, GeluForm::Tanh] {
        let grad_of = |fused: bool| {
            let x = float_tensor(values.clone(), [5, 33], &device).require_grad();
            let y = if fused {
                kernels::gelu(x.clone(), form)
            } else {
                composed(x.clone(), form)
            };
            // A weighted sum, so every element has its own upstream gradient.
            let grads = y.mul(weights.clone()).sum().backward();
            floats(x.grad(&grads).expect("x has a gradient"))
        };
        assert_all_close(&grad_of(true), &grad_of(false), 1e-5, "gradient");
    }
}

#[test]
fn the_fused_path_is_taken_on_flex_f32_only() {
    let device = device();
    let on_flex = format!("{device:?}").contains("Flex");
    if on_flex && kernels::fused_enabled() {
        assert!(kernels::takes_fused_path(&device, DType::F32));
        assert!(kernels::takes_fused_path(
            &device.clone().autodiff(),
            DType::F32
        ));
    } else {
        assert!(!kernels::takes_fused_path(&device, DType::F32));
    }
    assert!(!kernels::takes_fused_path(&device, DType::F64));
}

/// Random `[b, h, len, d]` heads as a transposed view of `[b, len, h, d]`, as split heads are.
fn heads(
    b: usize,
    h: usize,
    len: usize,
    d: usize,
    seed: u64,
    device: &burn::tensor::Device,
) -> Tensor<4> {
    float_tensor(pseudo_random(b * len * h * d, seed), [b, len, h, d], device).swap_dims(1, 2)
}

/// A `[b, lq, lk]` mask: batch row 0 sees everything, row 1 has its last third of keys padded
/// and its first query sees nothing at all (a fully masked row).
fn ragged_mask(
    b: usize,
    lq: usize,
    lk: usize,
    device: &burn::tensor::Device,
) -> Tensor<3, burn::tensor::Bool> {
    let mut values = vec![true; b * lq * lk];
    for i in 0..lq {
        for j in 0..lk {
            let at = (lq + i) * lk + j;
            values[at] = i != 0 && j < lk - lk / 3;
        }
    }
    Tensor::from_data(burn::tensor::TensorData::new(values, [b, lq, lk]), device)
}

/// The composed reference: masked softmax of the scaled scores, times V.
fn composed_attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Tensor<3, burn::tensor::Bool>,
) -> Tensor<4> {
    let scale = 1.0 / (q.dims()[3] as f64).sqrt();
    let scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale);
    nlp_core::attention::masked_softmax(scores, mask).matmul(v)
}

#[test]
fn fused_attention_equals_the_composed_ops_over_several_key_blocks() {
    let device = device();
    // 300 keys: two blocks of the online softmax (256 + 44).
    for (lq, lk) in [(5, 7), (300, 300), (1, 300)] {
        let (q, k, v) = (
            heads(2, 3, lq, 8, 1, &device),
            heads(2, 3, lk, 8, 2, &device),
            heads(2, 3, lk, 8, 3, &device),
        );
        let mask = ragged_mask(2, lq, lk, &device);
        let want = floats(composed_attention(
            q.clone(),
            k.clone(),
            v.clone(),
            mask.clone(),
        ));
        let got = floats(kernels::attention(q, k, v, Some(mask), None));
        assert_all_close(&got, &want, 1e-5, &format!("attention {lq}x{lk}"));
        // Batch row 1, query 0 sees no key: exactly zero.
        let row = (2 * 3 - 3) * lq * 8;
        assert!(
            got[row..row + 8].iter().all(|&x| x == 0.0),
            "fully masked row"
        );
    }
}

#[test]
fn fused_attention_gradients_equal_the_composed_gradients() {
    let device = device().autodiff();
    for (lq, lk) in [(6, 9), (20, 290)] {
        let weights = float_tensor(pseudo_random(2 * 3 * lq * 8, 9), [2, 3, lq, 8], &device);
        let grads_of = |fused: bool| {
            let q = heads(2, 3, lq, 8, 4, &device).require_grad();
            let k = heads(2, 3, lk, 8, 5, &device).require_grad();
            let v = heads(2, 3, lk, 8, 6, &device).require_grad();
            let mask = ragged_mask(2, lq, lk, &device);
            let out = if fused {
                kernels::attention(q.clone(), k.clone(), v.clone(), Some(mask), None)
            } else {
                composed_attention(q.clone(), k.clone(), v.clone(), mask)
            };
            let grads = out.mul(weights.clone()).sum().backward();
            [&q, &k, &v].map(|t| floats(t.grad(&grads).expect("a gradient")))
        };
        let (fused, composed) = (grads_of(true), grads_of(false));
        for (name, (f, c)) in ["dq", "dk", "dv"].iter().zip(fused.iter().zip(&composed)) {
            assert_all_close(f, c, 2e-5, &format!("{name} {lq}x{lk}"));
        }
    }
}

#[test]
fn fused_dense_layer_equals_the_composed_ops() {
    let device = device();
    let x = float_tensor(pseudo_random(3 * 5 * 7, 21), [3, 5, 7], &device);
    // A transposed view as the weight, the way a tied output embedding is used.
    let embedding = float_tensor(pseudo_random(11 * 7, 22), [11, 7], &device);
    let bias = float_tensor(pseudo_random(11, 23), [11], &device);
    for bias in [Some(bias), None] {
        let weight = embedding.clone().transpose();
        let want = floats(burn::tensor::module::linear(
            x.clone(),
            weight.clone(),
            bias.clone(),
        ));
        let got = floats(kernels::affine(x.clone(), weight, bias.clone()));
        assert_all_close(&got, &want, 1e-6, "dense layer");
        // A strided input (every other row of a larger tensor) too.
        let rows = x.clone().slice([0..3, 1..4, 0..7]);
        let want = floats(burn::tensor::module::linear(
            rows.clone(),
            embedding.clone().transpose(),
            bias.clone(),
        ));
        let got = floats(kernels::affine(rows, embedding.clone().transpose(), bias));
        assert_all_close(&got, &want, 1e-6, "dense layer on a slice");
    }
}

#[test]
fn fused_dense_layer_on_few_rows_equals_the_composed_ops() {
    let device = device();
    // 1 to 4 rows take the few-row kernel: row-major and transposed weights, widths that cross
    // its column blocks (2,500 > 1,024) and input widths off the 16-lane grid (37).
    let (d_in, d_out) = (37, 2500);
    let row_major = float_tensor(pseudo_random(d_in * d_out, 41), [d_in, d_out], &device);
    let embedding = float_tensor(pseudo_random(d_out * d_in, 42), [d_out, d_in], &device);
    let bias = float_tensor(pseudo_random(d_out, 43), [d_out], &device);
    for rows in 1..=5 {
        let x = float_tensor(
            pseudo_random(rows * d_in, 44 + rows as u64),
            [rows, d_in],
            &device,
        );
        for (name, weight) in [
            ("row-major", row_major.clone()),
            ("transposed", embedding.clone().transpose()),
            // Neither layout: a column slice of a wider matrix goes to gemm.
            ("strided", row_major.clone().slice([0..d_in, 0..d_out - 1])),
        ] {
            let bias = bias.clone().slice(0..weight.dims()[1]);
            let want = floats(burn::tensor::module::linear(
                x.clone(),
                weight.clone(),
                Some(bias.clone()),
            ));
            let got = floats(kernels::affine(x.clone(), weight, Some(bias)));
            assert_all_close(&got, &want, 1e-5, &format!("{rows} rows, {name} weight"));
        }
    }
}

#[test]
fn fused_dense_layer_gradients_equal_the_composed_gradients() {
    let device = device().autodiff();
    let upstream = float_tensor(pseudo_random(4 * 6 * 9, 31), [4, 6, 9], &device);
    let grads_of = |fused: bool| {
        let x = float_tensor(pseudo_random(4 * 6 * 5, 32), [4, 6, 5], &device).require_grad();
        let w = float_tensor(pseudo_random(5 * 9, 33), [5, 9], &device).require_grad();
        let b = float_tensor(pseudo_random(9, 34), [9], &device).require_grad();
        let y = if fused {
            kernels::affine(x.clone(), w.clone(), Some(b.clone()))
        } else {
            burn::tensor::module::linear(x.clone(), w.clone(), Some(b.clone()))
        };
        let grads = y.mul(upstream.clone()).sum().backward();
        (
            floats(x.grad(&grads).expect("dx")),
            floats(w.grad(&grads).expect("dw")),
            floats(b.grad(&grads).expect("db")),
        )
    };
    let (fused, composed) = (grads_of(true), grads_of(false));
    assert_all_close(&fused.0, &composed.0, 1e-5, "dx");
    assert_all_close(&fused.1, &composed.1, 1e-5, "dw");
    assert_all_close(&fused.2, &composed.2, 1e-5, "db");
}
