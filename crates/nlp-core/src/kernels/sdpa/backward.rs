//! The backward pass of [`super`]: the recomputation of FlashAttention-2, per key block.

use rayon::prelude::*;

use super::super::math;
use super::super::simd::{SimdLevel, simd_level};
use super::{Inputs, KEY_BLOCK, matmul};

/// Gradients of one attention call, each contiguous.
pub struct Grads<'a> {
    /// `[b, h, lq, d]`.
    pub q: &'a mut [f32],
    /// `[b, h, lk, d]`.
    pub k: &'a mut [f32],
    /// `[b, h, lk, dv]`.
    pub v: &'a mut [f32],
}

/// The backward pass, given the forward's contiguous output and log-sum-exp and the upstream
/// gradient `d_out` (contiguous `[b, h, lq, dv]`).
pub fn backward(inputs: &Inputs<'_>, out: &[f32], lse: &[f32], d_out: &[f32], grads: Grads<'_>) {
    inputs.check();
    let (b, h, lq, lk, d, dv) = inputs.dims();
    assert_eq!(out.len(), b * h * lq * dv, "attention kernel: output size");
    assert_eq!(
        d_out.len(),
        out.len(),
        "attention kernel: output gradient size"
    );
    assert_eq!(lse.len(), b * h * lq, "attention kernel: lse size");
    assert_eq!(grads.q.len(), b * h * lq * d, "attention kernel: dq size");
    assert_eq!(grads.k.len(), b * h * lk * d, "attention kernel: dk size");
    assert_eq!(grads.v.len(), b * h * lk * dv, "attention kernel: dv size");
    let level = simd_level();
    grads
        .q
        .par_chunks_mut((lq * d).max(1))
        .zip(grads.k.par_chunks_mut((lk * d).max(1)))
        .zip(grads.v.par_chunks_mut((lk * dv).max(1)))
        .enumerate()
        .for_each(|(bh, ((dq, dk), dvv))| {
            let (bi, hi) = (bh / h, bh % h);
            let head = HeadGrads {
                out: &out[bh * lq * dv..(bh + 1) * lq * dv],
                d_out: &d_out[bh * lq * dv..(bh + 1) * lq * dv],
                lse: &lse[bh * lq..(bh + 1) * lq],
                dq,
                dk,
                dv: dvv,
            };
            match level {
                // SAFETY: `simd_level` reported these features.
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx512 => unsafe { backward_head_avx512(inputs, bi, hi, head) },
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx2 => unsafe { backward_head_avx2(inputs, bi, hi, head) },
                _ => backward_head::<false>(inputs, bi, hi, head),
            }
        });
}

/// One head's slices of the backward pass.
struct HeadGrads<'a> {
    out: &'a [f32],
    d_out: &'a [f32],
    lse: &'a [f32],
    dq: &'a mut [f32],
    dk: &'a mut [f32],
    dv: &'a mut [f32],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn backward_head_avx512(x: &Inputs<'_>, b: usize, h: usize, g: HeadGrads<'_>) {
    backward_head::<true>(x, b, h, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_head_avx2(x: &Inputs<'_>, b: usize, h: usize, g: HeadGrads<'_>) {
    backward_head::<true>(x, b, h, g)
}

/// One `(batch, head)` pair of the backward pass.
#[inline(always)]
fn backward_head<const FMA: bool>(x: &Inputs<'_>, b: usize, h: usize, g: HeadGrads<'_>) {
    let (_, _, lq, lk, d, dv) = x.dims();
    let block = KEY_BLOCK.min(lk.max(1));
    let (q, k, v) = (&x.q, &x.k, &x.v);
    // D_i = Σ_c dO[i,c]·O[i,c].
    let delta: Vec<f32> = (0..lq)
        .map(|i| {
            let (o, d_o) = (&g.out[i * dv..(i + 1) * dv], &g.d_out[i * dv..(i + 1) * dv]);
            o.iter().zip(d_o).map(|(a, b)| a * b).sum()
        })
        .collect();
    let mut p = vec![0.0f32; lq * block];
    let mut ds = vec![0.0f32; lq * block];
    g.dq.fill(0.0);
    for j0 in (0..lk).step_by(block) {
        let n = block.min(lk - j0);
        // SAFETY (all gemm calls below): views checked, buffers sized lq·block, lq·d, lk·d, lk·dv.
        unsafe {
            // P = exp(scale·Q·Kᵀ − lse), hidden keys and empty rows 0.
            matmul(
                (lq, n, d),
                (p.as_mut_ptr(), n as isize, 1),
                (q.head(b, h), q.strides[2], q.strides[3]),
                (k.row(b, h, j0), k.strides[3], k.strides[2]),
                x.scale,
                false,
            );
        }
        for i in 0..lq {
            let row = &mut p[i * n..(i + 1) * n];
            let lse = g.lse[i];
            let visible = x.visible(b, i, j0, n);
            for (j, s) in row.iter_mut().enumerate() {
                let shown = visible.is_none_or(|vis| vis[j]);
                *s = if shown && lse != f32::NEG_INFINITY {
                    math::exp::<FMA>(*s - lse)
                } else {
                    0.0
                };
            }
        }
        unsafe {
            // dV_block = Pᵀ·dO.
            matmul(
                (n, dv, lq),
                (g.dv.as_mut_ptr().add(j0 * dv), dv as isize, 1),
                (p.as_ptr(), 1, n as isize),
                (g.d_out.as_ptr(), dv as isize, 1),
                1.0,
                false,
            );
            // dP = dO·V_blockᵀ.
            matmul(
                (lq, n, dv),
                (ds.as_mut_ptr(), n as isize, 1),
                (g.d_out.as_ptr(), dv as isize, 1),
                (v.row(b, h, j0), v.strides[3], v.strides[2]),
                1.0,
                false,
            );
        }
        // dS = P ⊙ (dP − D).
        for i in 0..lq {
            let (p_row, ds_row) = (&p[i * n..(i + 1) * n], &mut ds[i * n..(i + 1) * n]);
            for (ds, &p) in ds_row.iter_mut().zip(p_row) {
                *ds = p * (*ds - delta[i]);
            }
        }
        unsafe {
            // dQ += scale·dS·K_block.
            matmul(
                (lq, d, n),
                (g.dq.as_mut_ptr(), d as isize, 1),
                (ds.as_ptr(), n as isize, 1),
                (k.row(b, h, j0), k.strides[2], k.strides[3]),
                x.scale,
                true,
            );
            // dK_block = scale·dSᵀ·Q.
            matmul(
                (n, d, lq),
                (g.dk.as_mut_ptr().add(j0 * d), d as isize, 1),
                (ds.as_ptr(), 1, n as isize),
                (q.head(b, h), q.strides[2], q.strides[3]),
                x.scale,
                false,
            );
        }
    }
}
