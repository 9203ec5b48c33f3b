use nlp_core::position::{apply_rotary, sinusoidal};

use crate::{assert_close, device, float_tensor, floats, pseudo_random};

#[test]
fn sinusoidal_interleaves_sin_and_cos() {
    let dev = device();
    // Position 1, dim 4: θ₀ = 1, θ₁ = 10000^(-1/2) = 0.01.
    let table = floats(sinusoidal(2, 4, 0, &dev));
    let expected = [
        0.0,
        1.0,
        0.0,
        1.0,
        1f64.sin(),
        1f64.cos(),
        0.01f64.sin(),
        0.01f64.cos(),
    ];
    assert_close(&table, &expected, 1e-6, "sinusoidal table");
}

#[test]
fn rope_rotates_interleaved_pairs() {
    let dev = device();
    // x = [1, 0, 0, 1] at positions 0 and 1.
    let x = float_tensor(
        vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0],
        [1, 1, 2, 4],
        &dev,
    );
    let y = floats(apply_rotary(x, 0, 10000.0));
    // Pair (x0, x1) = (1, 0) by angle p·1 → (cos p, sin p); pair (x2, x3) = (0, 1) by p·0.01
    // → (−sin 0.01p, cos 0.01p).
    let expected = [
        1.0,
        0.0,
        0.0,
        1.0,
        1f64.cos(),
        1f64.sin(),
        -(0.01f64.sin()),
        0.01f64.cos(),
    ];
    assert_close(&y, &expected, 1e-6, "rotated pairs");
}

#[test]
fn rope_inner_product_depends_on_offset_only() {
    let dev = device();
    let (len, dim) = (12, 8);
    let q = pseudo_random(dim, 11);
    let k = pseudo_random(dim, 12);
    let repeat = |v: &[f32]| -> Vec<f32> { (0..len).flat_map(|_| v.iter().copied()).collect() };
    let rq = floats(apply_rotary(
        float_tensor(repeat(&q), [1, 1, len, dim], &dev),
        0,
        10000.0,
    ));
    let rk = floats(apply_rotary(
        float_tensor(repeat(&k), [1, 1, len, dim], &dev),
        0,
        10000.0,
    ));
    let dot = |m: usize, n: usize| -> f64 {
        (0..dim)
            .map(|e| rq[m * dim + e] as f64 * rk[n * dim + e] as f64)
            .sum()
    };
    for offset in [0usize, 1, 3] {
        let reference = dot(offset, 0);
        for n in 1..len - offset {
            let value = dot(n + offset, n);
            assert!(
                (value - reference).abs() < 1e-5,
                "offset {offset}: ⟨q{}, k{n}⟩ = {value} vs {reference}",
                n + offset
            );
        }
    }
    // And it does depend on the offset.
    assert!((dot(3, 0) - dot(0, 0)).abs() > 1e-3);
}
