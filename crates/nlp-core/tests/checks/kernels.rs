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
fn worst(xs: &[f32], got: impl Fn(f32) -> f32, want: impl Fn(f64) -> f64, floor: f64) -> (f64, f32) {
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
    let (err, at) = worst(&xs, math::erf, libm::erf, 0.0);
    assert!(err <= 1e-6, "erf: relative error {err:e} at {at}");
    // Tiny arguments, where erf(x) ≈ 2x/√π: relative accuracy must hold there too.
    let small = grid(-1e-3, 1e-3, 10_000);
    let (err, at) = worst(&small, math::erf, libm::erf, 0.0);
    assert!(err <= 1e-6, "erf near 0: relative error {err:e} at {at}");
}

#[test]
fn gelu_and_gradients_match_f64_formulas() {
    let xs = grid(-12.0, 12.0, 400_000);
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let cases: [(&str, fn(f32) -> f32, &dyn Fn(f64) -> f64, f64, f64); 4] = [
        ("gelu", math::gelu, &|x| x * cdf(x), 1e-3, 2e-6),
        ("gelu'", math::gelu_grad, &|x| cdf(x) + x * pdf(x), 1.0, 1e-6),
        ("gelu_tanh", math::gelu_tanh, &|x| x * tanh_gate(x), 1e-3, 2e-6),
        (
            "gelu_tanh'",
            math::gelu_tanh_grad,
            &|x| {
                let s = tanh_gate(x);
                let du = (2.0 / std::f64::consts::PI).sqrt() * (1.0 + 3.0 * 0.044715 * x * x);
                s + x * s * (1.0 - s) * 2.0 * du
            },
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
    let (err, at) = worst(&grid(-6.0, -5.0, 1_000), math::gelu, |x| x * cdf(x), 0.0);
    assert!(err <= 2e-5, "gelu tail: relative error {err:e} at {at}");
}

/// Every instruction-set variant computes the same values, bit for bit (the same operations in
/// the same order per element; Rust never contracts a·b + c into an FMA by itself).
#[test]
fn every_simd_level_gives_identical_bits() {
    fn check<F: Lanewise>(name: &str, xs: &[f32]) {
        let reference: Vec<u32> = xs.iter().map(|&x| F::apply(x).to_bits()).collect();
        for level in SimdLevel::available() {
            let mut data = xs.to_vec();
            map_in_place_at::<F>(level, &mut data);
            let bits: Vec<u32> = data.iter().map(|v| v.to_bits()).collect();
            assert!(bits == reference, "{name} at {level:?} differs from the scalar calls");
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
    let values: Vec<f32> = pseudo_random(3 * 7 * 40, 7).iter().map(|v| v * 6.0).collect();
    let x = float_tensor(values, [3, 7, 40], &device);
    for form in [GeluForm::Erf, GeluForm::Tanh] {
        let want = floats(composed(x.clone(), form));
        assert_all_close(&floats(kernels::gelu(x.clone(), form)), &want, 2e-6, "contiguous");
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
        assert!(kernels::takes_fused_path(&device.clone().autodiff(), DType::F32));
    } else {
        assert!(!kernels::takes_fused_path(&device, DType::F32));
    }
    assert!(!kernels::takes_fused_path(&device, DType::F64));
}
