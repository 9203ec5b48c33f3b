//! One Adam step in one pass: the two moments and the step of a parameter, where the composed
//! form runs about ten tensor ops, each a full pass with its own allocation.
//!
//! Per element, in the same order and f32 rounding as the composed ops of
//! [`super::adam_step`]: `m ← m·β₁ + g·(1−β₁)`, `v ← v·β₂ + g²·(1−β₂)`,
//! `δ = m·(γ/c₁) / (√v·(1/√c₂) + ε)`. Memory-bound, so the plain loop (vectorised by LLVM for
//! the baseline target) split across rayon threads is enough.

use rayon::prelude::*;

/// Elements per rayon task.
const CHUNK: usize = 16 * 1024;

/// The scalars of one step, each rounded to f32 as Burn rounds a scalar operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamScalars {
    /// β₁.
    pub beta_1: f32,
    /// 1 − β₁.
    pub one_minus_beta_1: f32,
    /// β₂.
    pub beta_2: f32,
    /// 1 − β₂.
    pub one_minus_beta_2: f32,
    /// 1/√c₂ (c₂ = 1 − β₂ᵗ with bias correction, else 1).
    pub inv_sqrt_correction_2: f32,
    /// ε, added to the corrected root.
    pub epsilon: f32,
    /// γ/c₁ (c₁ = 1 − β₁ᵗ with bias correction, else 1).
    pub step: f32,
}

/// Updates `m` and `v` in place and writes the step into `delta`.
///
/// # Panics
/// Panics if the slices differ in length.
pub fn step(grad: &[f32], m: &mut [f32], v: &mut [f32], delta: &mut [f32], s: AdamScalars) {
    let n = grad.len();
    assert!(
        m.len() == n && v.len() == n && delta.len() == n,
        "adam kernel: slices of different lengths"
    );
    grad.par_chunks(CHUNK)
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .zip(delta.par_chunks_mut(CHUNK))
        .for_each(|(((g, m), v), d)| {
            for i in 0..g.len() {
                let gi = g[i];
                let mi = m[i] * s.beta_1 + gi * s.one_minus_beta_1;
                let vi = v[i] * s.beta_2 + (gi * gi) * s.one_minus_beta_2;
                m[i] = mi;
                v[i] = vi;
                d[i] = (mi * s.step) / (vi.sqrt() * s.inv_sqrt_correction_2 + s.epsilon);
            }
        });
}
