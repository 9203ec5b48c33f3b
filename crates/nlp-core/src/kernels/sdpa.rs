//! The host kernel of attention: streaming scaled-dot-product attention on f32 slices, forward
//! and backward, one `(batch, head)` pair per rayon task.
//!
//! Forward: for each block of at most [`KEY_BLOCK`] keys, the scores `q·Kᵀ·scale`, hidden keys
//! set to −∞, then an online softmax (running row maximum `m` and sum `l`, the accumulated
//! output rescaled by `e^(m_old − m_new)`) and `o += p·V`. Memory per task grows with
//! `L·KEY_BLOCK`, not `L²`. A row with no visible key gets a zero output and a log-sum-exp of
//! −∞. Blocks of [`QUERY_BLOCK`] queries take two gemm calls per key block (scores, then
//! values); a cached decoding step (at most [`FEW_QUERIES`] queries) goes row by row.
//!
//! Backward (the recomputation of FlashAttention-2): with `D = rowsum(dO ⊙ O)` and the saved
//! log-sum-exp, per key block `P = e^(S − lse)`, `dV += Pᵀ·dO`, `dP = dO·Vᵀ`,
//! `dS = P ⊙ (dP − D)`, `dQ += scale·dS·K`, `dK = scale·dSᵀ·Q`.
//!
//! Inputs are strided views (`[batch, heads, len, dim]` with any strides, as split heads come
//! out of a reshape and transpose); outputs are contiguous.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

mod backward;

pub use backward::{Grads, backward};

use super::Strided;
use super::math;
use super::simd::{SimdLevel, simd_level};

/// Keys per block of the online softmax.
pub const KEY_BLOCK: usize = 256;
/// Query rows per block of the forward pass.
pub const QUERY_BLOCK: usize = 64;
/// Up to this many queries the forward pass goes row by row (no gemm call overheads).
pub const FEW_QUERIES: usize = 4;

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

/// One `(batch, head)` pair of the forward pass: [`forward_head_rows`] for at most
/// [`FEW_QUERIES`] queries (a cached decoding step), [`forward_head_blocks`] otherwise.
#[inline(always)]
fn forward_head<const FMA: bool>(
    x: &Inputs<'_>,
    b: usize,
    h: usize,
    out: &mut [f32],
    lse: &mut [f32],
) {
    if x.q.shape[2] <= FEW_QUERIES {
        forward_head_rows::<FMA>(x, b, h, out, lse)
    } else {
        forward_head_blocks::<FMA>(x, b, h, out, lse)
    }
}

/// One `(batch, head)` pair of the forward pass, [`QUERY_BLOCK`] query rows at a time: per key
/// block the scores `S = scale·Q·Kᵀ` of all the block's rows in one gemm, the online softmax
/// row by row on `S` in place, then `O += P·V` in a second gemm (each key and value is loaded
/// once per query block, not once per row).
#[inline(always)]
fn forward_head_blocks<const FMA: bool>(
    x: &Inputs<'_>,
    b: usize,
    h: usize,
    out: &mut [f32],
    lse: &mut [f32],
) {
    let (_, _, lq, lk, d, dv) = x.dims();
    let block = KEY_BLOCK.min(lk.max(1));
    let rows = QUERY_BLOCK.min(lq.max(1));
    let (q, k, v) = (&x.q, &x.k, &x.v);
    let mut scores = vec![0.0f32; rows * block];
    let mut row_max = vec![f32::NEG_INFINITY; lq];
    let mut row_sum = vec![0.0f32; lq];
    out.fill(0.0);
    for i0 in (0..lq).step_by(rows) {
        let m = rows.min(lq - i0);
        for j0 in (0..lk).step_by(block) {
            let n = block.min(lk - j0);
            let s = &mut scores[..m * n];
            // SAFETY: views checked; `s` holds m·n, `out` rows i0..i0+m of dv.
            unsafe {
                matmul(
                    (m, n, d),
                    (s.as_mut_ptr(), n as isize, 1),
                    (q.row(b, h, i0), q.strides[2], q.strides[3]),
                    (k.row(b, h, j0), k.strides[3], k.strides[2]),
                    x.scale,
                    false,
                );
            }
            for r in 0..m {
                let i = i0 + r;
                let s = &mut s[r * n..(r + 1) * n];
                let visible = x.visible(b, i, j0, n);
                // A row with nothing visible yet adds zeros in the gemm below.
                if let Some(correction) =
                    online_softmax::<FMA>(s, visible, &mut row_max[i], &mut row_sum[i])
                {
                    rescale(&mut out[i * dv..(i + 1) * dv], correction);
                }
            }
            // SAFETY: as above.
            unsafe {
                matmul(
                    (m, dv, n),
                    (out.as_mut_ptr().add(i0 * dv), dv as isize, 1),
                    (s.as_ptr(), n as isize, 1),
                    (v.row(b, h, j0), v.strides[2], v.strides[3]),
                    1.0,
                    true,
                );
            }
        }
    }
    finish_rows(out, lse, &row_max, &row_sum);
}

/// One `(batch, head)` pair of the forward pass, one query row at a time: per key block the
/// block's keys are transposed (`[d, n]`) and its values packed (`[n, dv]`) once, then each
/// row's scores are `Σ_c q[c]·Kᵀ[c, ·]` and its output `Σ_j p[j]·V[j, ·]` — loops over
/// contiguous memory that vectorise at the width [`forward`] compiled for.
#[inline(always)]
fn forward_head_rows<const FMA: bool>(
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
            let visible = x.visible(b, i, j0, n);
            let Some(correction) =
                online_softmax::<FMA>(s, visible, &mut row_max[i], &mut row_sum[i])
            else {
                continue;
            };
            let o = &mut out[i * dv..(i + 1) * dv];
            rescale(o, correction);
            accumulate_values::<FMA>(s, &values, o);
        }
    }
    finish_rows(out, lse, &row_max, &row_sum);
}

/// One key block of a row's online softmax: hides the keys `visible` marks hidden, turns the
/// scores `s` into `e^(s − m)` with the row's new running maximum `m` (hidden keys exactly 0),
/// updates the running maximum and sum, and returns the factor the row's accumulated output
/// must be scaled by. `None` (and `s` all zeros) while the row has seen no visible key.
#[inline(always)]
fn online_softmax<const FMA: bool>(
    s: &mut [f32],
    visible: Option<&[bool]>,
    row_max: &mut f32,
    row_sum: &mut f32,
) -> Option<f32> {
    if let Some(visible) = visible {
        for (s, &vis) in s.iter_mut().zip(visible) {
            if !vis {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    let new_max = row_max.max(lane_max(s));
    if new_max == f32::NEG_INFINITY {
        s.fill(0.0);
        return None;
    }
    for s in s.iter_mut() {
        *s = if *s == f32::NEG_INFINITY {
            0.0
        } else {
            math::exp::<FMA>(*s - new_max)
        };
    }
    let correction = if *row_max == f32::NEG_INFINITY {
        0.0
    } else {
        math::exp::<FMA>(*row_max - new_max)
    };
    *row_sum = *row_sum * correction + lane_sum(s);
    *row_max = new_max;
    Some(correction)
}

/// Divides each output row by its softmax sum and writes its log-sum-exp; a row that saw no
/// visible key gets zeros and −∞.
#[inline(always)]
fn finish_rows(out: &mut [f32], lse: &mut [f32], row_max: &[f32], row_sum: &[f32]) {
    let dv = out.len() / lse.len().max(1);
    for (i, (row, lse)) in out.chunks_mut(dv.max(1)).zip(lse.iter_mut()).enumerate() {
        if row_sum[i] > 0.0 {
            let inv = 1.0 / row_sum[i];
            row.iter_mut().for_each(|o| *o *= inv);
            *lse = row_max[i] + row_sum[i].ln();
        } else {
            row.fill(0.0);
            *lse = f32::NEG_INFINITY;
        }
    }
}

/// `o *= correction` unless it is 1.
#[inline(always)]
fn rescale(o: &mut [f32], correction: f32) {
    if correction != 1.0 {
        o.iter_mut().for_each(|o| *o *= correction);
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
