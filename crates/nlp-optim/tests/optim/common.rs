//! Small modules and helpers shared by the tests.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

/// A module with one matrix and one vector parameter, on a plain (non-autodiff) device, so
/// that gradients can be fed directly.
#[derive(Module, Debug)]
pub struct Pair {
    pub matrix: Param<Tensor<2>>,
    pub vector: Param<Tensor<1>>,
}

pub fn device() -> Device {
    Device::default()
}

pub fn pair(matrix: &[f32], rows: usize, vector: &[f32]) -> Pair {
    let device = device();
    let cols = matrix.len() / rows;
    Pair {
        matrix: Param::from_data(TensorData::new(matrix.to_vec(), [rows, cols]), &device),
        vector: Param::from_data(TensorData::new(vector.to_vec(), [vector.len()]), &device),
    }
}

/// Gradients for a [`Pair`] given as flat f32 slices.
pub fn pair_grads(model: &Pair, matrix: &[f32], vector: &[f32]) -> GradientsParams {
    let device = device();
    let shape = model.matrix.val().dims();
    let mut grads = GradientsParams::new();
    grads.register(
        model.matrix.id,
        Tensor::<2>::from_data(TensorData::new(matrix.to_vec(), shape), &device),
    );
    grads.register(
        model.vector.id,
        Tensor::<1>::from_data(TensorData::new(vector.to_vec(), [vector.len()]), &device),
    );
    grads
}

pub fn values<const D: usize>(tensor: &Tensor<D>) -> Vec<f32> {
    tensor.to_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Largest element-wise relative error |a − b| / |b| (b is the reference).
pub fn max_rel_err(actual: &[f32], reference: &[f64]) -> f64 {
    assert_eq!(actual.len(), reference.len(), "length mismatch");
    actual
        .iter()
        .zip(reference)
        .map(|(&a, &b)| (a as f64 - b).abs() / b.abs())
        .fold(0.0, f64::max)
}

/// Assert element-wise relative agreement with an f64 reference.
pub fn assert_rel_close(actual: &[f32], reference: &[f64], tolerance: f64, what: &str) {
    let err = max_rel_err(actual, reference);
    assert!(
        err <= tolerance,
        "{what}: relative error {err:e} > {tolerance:e}\n actual    {actual:?}\n reference {reference:?}"
    );
}

/// A deterministic pseudo-random f32 sequence in [-1, 1) (xorshift), for gradients.
pub fn noise(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn to_f64(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| v as f64).collect()
}
