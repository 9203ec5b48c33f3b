//! The host kernel of attention: streaming scaled-dot-product attention on f32 slices, forward
//! and backward, one `(batch, head)` pair per rayon task.
//!
//! Forward: for each block of at most [`KEY_BLOCK`] keys and each query row, the scores
//! `q·Kᵀ·scale`, hidden keys set to −∞, then an online softmax (running row maximum `m` and sum
//! `l`, the accumulated output rescaled by `e^(m_old − m_new)`) and `o += p·V`. Memory per task grows with
//! `L·KEY_BLOCK`, not `L²`. A row with no visible key gets a zero output and a log-sum-exp of −∞.
//!
//! Backward (the recomputation of FlashAttention-2): with `D = rowsum(dO ⊙ O)` and the saved
//! log-sum-exp, per key block `P = e^(S − lse)`, `dV += Pᵀ·dO`, `dP = dO·Vᵀ`,
//! `dS = P ⊙ (dP − D)`, `dQ += scale·dS·K`, `dK = scale·dSᵀ·Q`.
//!
//! Inputs are strided views (`[batch, heads, len, dim]` with any strides, as split heads come
//! out of a reshape and transpose); outputs are contiguous.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::Strided;
use super::math;
use super::simd::{SimdLevel, simd_level};

/// Keys per block of the online softmax.
pub const KEY_BLOCK: usize = 256;

/// A read-only strided `[batch, heads, len, dim]` view into a slice.
pub type View<'a> = Strided<'a, 4>;

impl View<'_> {
    /// Pointer to `[b, h, 0, 0]`.
    fn head(&self, b: usize, h: usize) -> *const f32 {
        let at = self.offset as isize + b as isize * self.strides[0] + h as isize * self.strides[1];
        debug_assert!(at >= 0 && (at as usize) <= self.data.len());
        // SAFETY: in bounds for every valid view (checked by `check`).
        unsafe { self.data.as_ptr().offset(at) }
    }

    /// Element `[b, h, row, col]`.
    #[inline(always)]
    fn at(&self, b: usize, h: usize, row: usize, col: usize) -> f32 {
        let at = self.offset as isize
            + b as isize * self.strides[0]
            + h as isize * self.strides[1]
            + row as isize * self.strides[2]
            + col as isize * self.strides[3];
        self.data[at as usize]
    }

    /// Pointer to row `row` of head `[b, h]`.
    fn row(&self, b: usize, h: usize, row: usize) -> *const f32 {
        // SAFETY: as `head`.
        unsafe { self.head(b, h).offset(row as isize * self.strides[2]) }
    }
}

/// The inputs of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Queries `[b, h, lq, d]`.
    pub q: View<'a>,
    /// Keys `[b, h, lk, d]`.
    pub k: View<'a>,
    /// Values `[b, h, lk, dv]`.
    pub v: View<'a>,
    /// `[b, lq, lk]` row-major, `true` = visible; `None` = every key visible.
    pub mask: Option<&'a [bool]>,
    /// Multiplies the scores (usually `1/√d`).
    pub scale: f32,
}

impl Inputs<'_> {
    fn dims(&self) -> (usize, usize, usize, usize, usize, usize) {
        let [b, h, lq, d] = self.q.shape;
        let [_, _, lk, dv] = self.v.shape;
        (b, h, lq, lk, d, dv)
    }

    fn check(&self) {
        let (b, h, lq, lk, d, dv) = self.dims();
        assert_eq!(self.k.shape, [b, h, lk, d], "attention kernel: key shape");
        assert_eq!(
            self.v.shape,
            [b, h, lk, dv],
            "attention kernel: value shape"
        );
        if let Some(mask) = self.mask {
            assert_eq!(mask.len(), b * lq * lk, "attention kernel: mask size");
        }
        self.q.check();
        self.k.check();
        self.v.check();
    }

    fn visible(&self, b: usize, i: usize, j0: usize, n: usize) -> Option<&[bool]> {
        let (_, _, lq, lk, _, _) = self.dims();
        self.mask.map(|m| {
            let start = (b * lq + i) * lk + j0;
            &m[start..start + n]
        })
    }
}

/// `dst[m×n] = beta·lhs[m×k]·rhs[k×n] (+ dst when accumulate)`; each matrix given by a
/// pointer and its (row, column) strides.
///
/// # Safety
/// The pointers and strides must address valid memory for the given sizes.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: (*mut f32, isize, isize),
    lhs: (*const f32, isize, isize),
    rhs: (*const f32, isize, isize),
    beta: f32,
    accumulate: bool,
) {
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.0,
            dst.2,
            dst.1,
            accumulate,
            lhs.0,
            lhs.2,
            lhs.1,
            rhs.0,
            rhs.2,
            rhs.1,
            1.0,
            beta,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// The forward pass: `out` `[b, h, lq, dv]` and `lse` `[b, h, lq]`, both contiguous.
pub fn forward(inputs: &Inputs<'_>, out: &mut [f32], lse: &mut [f32]) {
    inputs.check();
    let (b, h, lq, _, _, dv) = inputs.dims();
    assert_eq!(out.len(), b * h * lq * dv, "attention kernel: output size");
    assert_eq!(lse.len(), b * h * lq, "attention kernel: lse size");
    let level = simd_level();
    out.par_chunks_mut((lq * dv).max(1))
        .zip(lse.par_chunks_mut(lq.max(1)))
        .enumerate()
        .for_each(|(bh, (out, lse))| {
            let (bi, hi) = (bh / h, bh % h);
            match level {
                // SAFETY: `simd_level` reported these features.
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx512 => unsafe { forward_head_avx512(inputs, bi, hi, out, lse) },
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx2 => unsafe { forward_head_avx2(inputs, bi, hi, out, lse) },
                _ => forward_head::<false>(inputs, bi, hi, out, lse),
            }
        });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn forward_head_avx512(x: &Inputs<'_>, b: usize, h: usize, out: &mut [f32], lse: &mut [f32]) {
    forward_head::<true>(x, b, h, out, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_head_avx2(x: &Inputs<'_>, b: usize, h: usize, out: &mut [f32], lse: &mut [f32]) {
    forward_head::<true>(x, b, h, out, lse)
}

/// One `(batch, head)` pair of the forward pass, one query row at a time: per key block the
/// block's keys are transposed (`[d, n]`) and its values packed (`[n, dv]`) once, then each
/// row's scores are `Σ_c q[c]·Kᵀ[c, ·]` and its output `Σ_j p[j]·V[j, ·]` — loops over
/// contiguous memory that vectorise at the width [`forward`] compiled for.
#[inline(always)]
fn forward_head<const FMA: bool>(
    x: &Inputs<'_>,
    b: usize,
    h: usize,
    out: &mut [f32],
    lse: &mut [f32],
) {
    let (_, _, lq, lk, d, dv) = x.dims();
    let block = KEY_BLOCK.min(lk.max(1));
    let (q, k, v) = (&x.q, &x.k, &x.v);
    let mut keys_t = vec![0.0f32; d * block];
    let mut values = vec![0.0f32; block * dv];
    let mut scores = vec![0.0f32; block];
    let mut query = vec![0.0f32; d];
    let mut row_max = vec![f32::NEG_INFINITY; lq];
    let mut row_sum = vec![0.0f32; lq];
    out.fill(0.0);
    for j0 in (0..lk).step_by(block) {
        let n = block.min(lk - j0);
        for j in 0..n {
            for c in 0..d {
                keys_t[c * n + j] = k.at(b, h, j0 + j, c);
            }
            for c in 0..dv {
                values[j * dv + c] = v.at(b, h, j0 + j, c);
            }
        }
        for i in 0..lq {
            for (c, qc) in query.iter_mut().enumerate() {
                *qc = q.at(b, h, i, c) * x.scale;
            }
            let s = &mut scores[..n];
            scores_row::<FMA>(&query, &keys_t, s);
            if let Some(visible) = x.visible(b, i, j0, n) {
                for (s, &vis) in s.iter_mut().zip(visible) {
                    if !vis {
                        *s = f32::NEG_INFINITY;
                    }
                }
            }
            let new_max = row_max[i].max(lane_max(s));
            if new_max == f32::NEG_INFINITY {
                // Nothing visible yet in this row: no probability mass.
                continue;
            }
            for s in s.iter_mut() {
                // Hidden keys get exactly zero probability.
                *s = if *s == f32::NEG_INFINITY {
                    0.0
                } else {
                    math::exp::<FMA>(*s - new_max)
                };
            }
            let sum = lane_sum(s);
            let correction = if row_max[i] == f32::NEG_INFINITY {
                0.0
            } else {
                math::exp::<FMA>(row_max[i] - new_max)
            };
            row_sum[i] = row_sum[i] * correction + sum;
            row_max[i] = new_max;
            let o = &mut out[i * dv..(i + 1) * dv];
            if correction != 1.0 {
                o.iter_mut().for_each(|o| *o *= correction);
            }
            accumulate_values::<FMA>(s, &values, o);
        }
    }
    for i in 0..lq {
        let row = &mut out[i * dv..(i + 1) * dv];
        if row_sum[i] > 0.0 {
            let inv = 1.0 / row_sum[i];
            row.iter_mut().for_each(|o| *o *= inv);
            lse[i] = row_max[i] + row_sum[i].ln();
        } else {
            row.fill(0.0);
            lse[i] = f32::NEG_INFINITY;
        }
    }
}

/// Columns of the score tile kept in registers while the head dimension is summed.
const SCORE_TILE: usize = 64;
/// Output columns kept in registers while the keys are summed.
const VALUE_TILE: usize = 32;

/// `s[j] = Σ_c query[c]·keys_t[c·n + j]` for `n = s.len()`, in register tiles of
/// [`SCORE_TILE`] columns.
#[inline(always)]
fn scores_row<const FMA: bool>(query: &[f32], keys_t: &[f32], s: &mut [f32]) {
    let n = s.len();
    let mut j = 0;
    while j + SCORE_TILE <= n {
        let mut acc = [0.0f32; SCORE_TILE];
        for (c, &qc) in query.iter().enumerate() {
            let kt = &keys_t[c * n + j..c * n + j + SCORE_TILE];
            for l in 0..SCORE_TILE {
                acc[l] = math::madd::<FMA>(qc, kt[l], acc[l]);
            }
        }
        s[j..j + SCORE_TILE].copy_from_slice(&acc);
        j += SCORE_TILE;
    }
    for (jj, s) in s.iter_mut().enumerate().skip(j) {
        *s = query
            .iter()
            .enumerate()
            .map(|(c, &qc)| qc * keys_t[c * n + jj])
            .sum();
    }
}

/// `o[c] += Σ_j p[j]·values[j·dv + c]` for `dv = o.len()`, in register tiles of
/// [`VALUE_TILE`] columns.
#[inline(always)]
fn accumulate_values<const FMA: bool>(p: &[f32], values: &[f32], o: &mut [f32]) {
    let dv = o.len();
    let mut c0 = 0;
    while c0 + VALUE_TILE <= dv {
        let mut acc = [0.0f32; VALUE_TILE];
        acc.copy_from_slice(&o[c0..c0 + VALUE_TILE]);
        for (j, &pj) in p.iter().enumerate() {
            let vj = &values[j * dv + c0..j * dv + c0 + VALUE_TILE];
            for l in 0..VALUE_TILE {
                acc[l] = math::madd::<FMA>(pj, vj[l], acc[l]);
            }
        }
        o[c0..c0 + VALUE_TILE].copy_from_slice(&acc);
        c0 += VALUE_TILE;
    }
    for (c, o) in o.iter_mut().enumerate().skip(c0) {
        *o += p
            .iter()
            .enumerate()
            .map(|(j, &pj)| pj * values[j * dv + c])
            .sum::<f32>();
    }
}

/// Sum in 16 interleaved partial sums (a sequential float sum does not vectorise).
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let chunks = x.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for l in 0..16 {
            acc[l] += chunk[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Maximum in 16 interleaved lanes (−∞ for an empty slice).
#[inline(always)]
fn lane_max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let chunks = x.chunks_exact(16);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    for chunk in chunks {
        for l in 0..16 {
            acc[l] = acc[l].max(chunk[l]);
        }
    }
    acc.iter().fold(tail, |a, &v| a.max(v))
}

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
