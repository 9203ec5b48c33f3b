//! Checks of `nlp-core` against hand-written expectations and independent naive computations.
//!
//! One test binary (linking Burn once). The device comes from `NLP_TEST_DEVICE` (default
//! `flex`), so the same checks run on `wgpu` with `--features wgpu`.

mod activation;
mod adam;
mod attention;
mod crf;
mod decode;
mod device;
mod kernels;
mod masks;
mod norm;
mod padding;
mod position;
mod reparam;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

pub fn device() -> Device {
    let name = std::env::var("NLP_TEST_DEVICE").unwrap_or_else(|_| "flex".to_string());
    nlp_core::device::parse_device(&name).expect("NLP_TEST_DEVICE names a compiled-in backend")
}

pub fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

pub fn bools<const D: usize>(t: Tensor<D, Bool>) -> Vec<bool> {
    t.try_into_vec_as::<bool>().unwrap()
}

pub fn ints_tensor<const D: usize>(
    values: Vec<i64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

pub fn float_tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Small deterministic pseudo-random floats in [-1, 1) (a tiny LCG: tests need no rand crate).
pub fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

pub fn assert_close(actual: &[f32], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (*a as f64 - e).abs() <= tol,
            "{what}[{i}]: got {a}, expected {e} (tol {tol})"
        );
    }
}
