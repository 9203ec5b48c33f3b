//! The dense layer `x·W + b` for one to [`FEW_ROWS`] rows, as a cached decoding step runs it:
//! each weight is read once for all the rows (the step is bound by reading the weights), the
//! output columns split across rayon threads in blocks. Two weight layouts: row-major
//! `[d_in, d_out]` (ordinary layers: each weight row scaled into the output rows) and its
//! transpose (a tied output layer reading the embedding `[d_out, d_in]`: one dot product per
//! output column). Other layouts go to gemm.

use rayon::prelude::*;

use super::dense::Matrix;
use super::math::madd;
use super::simd::{SimdLevel, simd_level};

/// Most rows this kernel takes.
pub const FEW_ROWS: usize = 4;
/// Output columns per rayon task.
const COLUMN_BLOCK: usize = 1024;

/// How the weight lies in memory.
#[derive(Clone, Copy)]
enum Layout {
    /// `w[i, j]` at `i·d_out + j`.
    RowMajor,
    /// `w[i, j]` at `j·d_in + i`.
    Transposed,
}

/// `out = x·w + bias` for `x: [n ≤ FEW_ROWS, d_in]`; `false` (nothing written) when `w` is
/// neither row-major nor transposed-contiguous, or `x` has too many rows.
pub fn forward(x: Matrix<'_>, w: Matrix<'_>, bias: &[f32], out: &mut [f32]) -> bool {
    let ([n, d_in], [_, d_out]) = (x.shape, w.shape);
    let layout = if w.strides == [d_out as isize, 1] {
        Layout::RowMajor
    } else if w.strides == [1, d_in as isize] {
        Layout::Transposed
    } else {
        return false;
    };
    if n == 0 || n > FEW_ROWS || d_out == 0 {
        return false;
    }
    x.check();
    w.check();
    let mut rows = vec![0.0f32; n * d_in];
    for r in 0..n {
        for i in 0..d_in {
            let at = x.offset as isize + r as isize * x.strides[0] + i as isize * x.strides[1];
            rows[r * d_in + i] = x.data[at as usize];
        }
    }
    let weights = &w.data[w.offset..w.offset + d_in * d_out];
    let level = simd_level();
    let blocks: Vec<Vec<f32>> = (0..d_out.div_ceil(COLUMN_BLOCK))
        .into_par_iter()
        .map(|block_index| {
            let j0 = block_index * COLUMN_BLOCK;
            let cols = j0..(j0 + COLUMN_BLOCK).min(d_out);
            let mut acc = vec![0.0f32; n * cols.len()];
            let task = Task {
                rows: &rows,
                n,
                d_in,
                d_out,
                weights,
                bias,
                cols,
            };
            match level {
                // SAFETY: `simd_level` reported these features.
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx512 => unsafe { block_avx512(&task, layout, &mut acc) },
                #[cfg(target_arch = "x86_64")]
                SimdLevel::Avx2 => unsafe { block_avx2(&task, layout, &mut acc) },
                _ => block::<false>(&task, layout, &mut acc),
            }
            acc
        })
        .collect();
    for (b, acc) in blocks.iter().enumerate() {
        let j0 = b * COLUMN_BLOCK;
        let width = acc.len() / n;
        for r in 0..n {
            out[r * d_out + j0..r * d_out + j0 + width]
                .copy_from_slice(&acc[r * width..(r + 1) * width]);
        }
    }
    true
}

/// One block of output columns.
struct Task<'a> {
    rows: &'a [f32],
    n: usize,
    d_in: usize,
    d_out: usize,
    weights: &'a [f32],
    bias: &'a [f32],
    cols: std::ops::Range<usize>,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn block_avx512(t: &Task<'_>, layout: Layout, acc: &mut [f32]) {
    block::<true>(t, layout, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn block_avx2(t: &Task<'_>, layout: Layout, acc: &mut [f32]) {
    block::<true>(t, layout, acc)
}

/// `acc[r, ·]` (rows of the block's width) = bias + the rows' products with the block's columns.
#[inline(always)]
fn block<const FMA: bool>(t: &Task<'_>, layout: Layout, acc: &mut [f32]) {
    let width = t.cols.len();
    for r in 0..t.n {
        acc[r * width..(r + 1) * width].copy_from_slice(&t.bias[t.cols.clone()]);
    }
    match layout {
        Layout::RowMajor => {
            for i in 0..t.d_in {
                let w = &t.weights[i * t.d_out + t.cols.start..i * t.d_out + t.cols.end];
                for r in 0..t.n {
                    let xr = t.rows[r * t.d_in + i];
                    let a = &mut acc[r * width..(r + 1) * width];
                    for (a, &w) in a.iter_mut().zip(w) {
                        *a = madd::<FMA>(xr, w, *a);
                    }
                }
            }
        }
        Layout::Transposed => {
            for (c, j) in t.cols.clone().enumerate() {
                let w = &t.weights[j * t.d_in..(j + 1) * t.d_in];
                for r in 0..t.n {
                    let x = &t.rows[r * t.d_in..(r + 1) * t.d_in];
                    acc[r * width + c] += dot::<FMA>(x, w);
                }
            }
        }
    }
}

/// `Σ a[i]·b[i]` in 16 interleaved partial sums (vectorises).
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            lanes[l] = madd::<FMA>(x[l], y[l], lanes[l]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}
