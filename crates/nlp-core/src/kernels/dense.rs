//! The host kernel of the dense layer: `Y = X·W + b` on f32 matrices, forward and backward,
//! each product one multi-threaded gemm over all rows (Burn's `Linear` on a `[batch, len, d]`
//! input runs one gemm per batch row and adds the bias in a second pass).
//!
//! Forward: the output rows start as copies of `b` and gemm accumulates `X·W` into them.
//! Backward: `dX = dY·Wᵀ`, `dW = Xᵀ·dY`, `db = Σ_rows dY`.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use super::Strided;

/// A read-only strided `[rows, cols]` matrix in a slice.
pub type Matrix<'a> = Strided<'a, 2>;

impl Matrix<'_> {
    fn ptr(&self) -> *const f32 {
        // SAFETY: checked by `check`.
        unsafe { self.data.as_ptr().add(self.offset) }
    }

    /// The transpose, as a view of the same storage.
    fn t(self) -> Self {
        Self {
            shape: [self.shape[1], self.shape[0]],
            strides: [self.strides[1], self.strides[0]],
            ..self
        }
    }
}

/// `dst (rows × cols, contiguous) (+)= lhs·rhs` on all threads.
fn product(dst: &mut [f32], lhs: Matrix<'_>, rhs: Matrix<'_>, accumulate: bool) {
    let ([m, k], [k2, n]) = (lhs.shape, rhs.shape);
    assert_eq!(k, k2, "linear kernel: inner dimensions");
    assert_eq!(dst.len(), m * n, "linear kernel: output size");
    lhs.check();
    rhs.check();
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: both views were checked against their storage and `dst` holds m·n floats.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.ptr(),
            lhs.strides[1],
            lhs.strides[0],
            rhs.ptr(),
            rhs.strides[1],
            rhs.strides[0],
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::Rayon(0),
        );
    }
}

/// `out = x·w + bias`; `x: [n, d_in]`, `w: [d_in, d_out]`, `bias: [d_out]`, `out` contiguous
/// `[n, d_out]`.
pub fn forward(x: Matrix<'_>, w: Matrix<'_>, bias: &[f32], out: &mut [f32]) {
    let d_out = w.shape[1];
    assert_eq!(bias.len(), d_out, "linear kernel: bias size");
    assert_eq!(out.len(), x.shape[0] * d_out, "linear kernel: output size");
    if super::few_rows::forward(x, w, bias, out) {
        return;
    }
    if d_out > 0 {
        out.par_chunks_mut(d_out)
            .for_each(|row| row.copy_from_slice(bias));
    }
    product(out, x, w, true);
}

/// Gradients of [`forward`] given `d_out` (contiguous `[n, d_out]`): `dx` `[n, d_in]`,
/// `dw` `[d_in, d_out]`, `db` `[d_out]`, all contiguous.
pub fn backward(
    x: Matrix<'_>,
    w: Matrix<'_>,
    d_out: &[f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    let n = x.shape[0];
    let width = w.shape[1];
    assert_eq!(
        d_out.len(),
        n * width,
        "linear kernel: output gradient size"
    );
    let dy = Matrix {
        data: d_out,
        offset: 0,
        shape: [n, width],
        strides: [width as isize, 1],
    };
    product(dx, dy, w.t(), false);
    product(dw, x.t(), dy, false);
    assert_eq!(db.len(), width, "linear kernel: bias gradient size");
    db.fill(0.0);
    if width == 0 {
        return;
    }
    // Column sums of dY: partial sums over row blocks, then their sum.
    let partial = d_out
        .par_chunks(width * 256)
        .map(|rows| {
            let mut sums = vec![0.0f32; width];
            for row in rows.chunks(width) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            sums
        })
        .collect::<Vec<_>>();
    for sums in partial {
        db.iter_mut().zip(&sums).for_each(|(d, s)| *d += s);
    }
}
