//! Branch-free f32 math for the fused GELU kernels: `exp`, `erf`/`erfc`, the normal CDF, and
//! GELU (erf and tanh forms) with their derivatives.
//!
//! Every function is generic over `FMA` (whether `a·b + c` is one fused multiply-add; the two
//! choices differ in the last bits) and is `#[inline(always)]` straight-line arithmetic (both sides of a select are
//! computed), so a loop over a slice vectorises with whatever SIMD width the calling function
//! was compiled for ([`super::simd`] compiles the loops for AVX-512, AVX2 + FMA and the baseline,
//! and picks one at run time).
//!
//! Formulas:
//! - `exp(y)`: `y = k·ln2 + r` with `|r| ≤ ln2/2` (Cody–Waite split of ln2), `e^r` by its Taylor
//!   polynomial of degree 7 (truncation error below 5e-9), `2^k` written into the exponent bits.
//! - `erf(z)` for `|z| < 0.5`: its Maclaurin series `2/√π · Σ (−1)ⁿ z^(2n+1) / (n!(2n+1))` up to
//!   `z¹³` (truncation error below 1e-9 relative).
//! - `erfc(z)` for `z ≥ 0.5`: the Chebyshev-fitted form of Numerical Recipes (2nd ed., §6.2,
//!   `erfcc`), `t·exp(−z² + P(t))` with `t = 1/(1 + z/2)`, fractional error below 1.2e-7 for
//!   every `z ≥ 0`. Through `erfc` the lower tail of the CDF keeps its relative accuracy
//!   (`1 + erf(z)` would cancel).

use std::f32::consts::{FRAC_2_SQRT_PI, LN_2, LOG2_E};

use super::simd::Lanewise;

/// Adding and subtracting 1.5·2²³ rounds an f32 of magnitude below 2²² to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// ln 2 split so that `k·LN2_HI` is exact for the `k` that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = LN_2 - LN2_HI;
/// `1/√2`.
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
/// `√(2/π)`, the scale of the tanh form.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh form.
const TANH_CUBIC: f32 = 0.044_715;

/// Numerical Recipes' `erfcc` coefficients, constant term first (digits as published; f32
/// rounds them).
#[allow(clippy::excessive_precision)]
const ERFC_COEFFS: [f32; 10] = [
    -1.265_512_23,
    1.000_023_68,
    0.374_091_96,
    0.096_784_18,
    -0.186_288_06,
    0.278_868_07,
    -1.135_203_98,
    1.488_515_87,
    -0.822_152_23,
    0.170_872_77,
];

/// `a·b + c`: one fused multiply-add (a single rounding) with `FMA`, a product and a sum
/// without. The AVX-512 and AVX2 variants of the loops use `FMA = true`; the baseline, which may
/// lack the instruction (and would call a slow software `fmaf`), uses `false`.
#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `Σ cᵢ xⁱ` by Horner's rule (`coeffs` constant term first).
#[inline(always)]
fn horner<const FMA: bool, const N: usize>(x: f32, coeffs: [f32; N]) -> f32 {
    let mut acc = coeffs[N - 1];
    let mut i = N - 1;
    while i > 0 {
        i -= 1;
        acc = madd::<FMA>(acc, x, coeffs[i]);
    }
    acc
}

/// `e^y`; inputs below −87 give `e^−87` (≈ 1.6e-38) instead of smaller values or subnormals.
#[inline(always)]
pub fn exp<const FMA: bool>(y: f32) -> f32 {
    let y = y.clamp(-87.0, 88.0);
    // `shifted` holds round(y·log2 e) in its low mantissa bits (plus 2²²).
    let shifted = y * LOG2_E + ROUND_MAGIC;
    let k = shifted - ROUND_MAGIC;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    let p = horner::<FMA, _>(
        r,
        [
            1.0,
            1.0,
            1.0 / 2.0,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
        ],
    );
    p * f32::from_bits(shifted.to_bits().wrapping_add(127) << 23)
}

/// `erf(z)` by its Maclaurin series, accurate for `|z| < 0.5`.
#[inline(always)]
fn erf_series<const FMA: bool>(z: f32) -> f32 {
    let z2 = z * z;
    let s = horner::<FMA, _>(
        z2,
        [
            1.0,
            -1.0 / 3.0,
            1.0 / 10.0,
            -1.0 / 42.0,
            1.0 / 216.0,
            -1.0 / 1320.0,
            1.0 / 9360.0,
        ],
    );
    FRAC_2_SQRT_PI * z * s
}

/// `erfc(a)` for `a ≥ 0` (Numerical Recipes' Chebyshev form).
#[inline(always)]
fn erfc_nonnegative<const FMA: bool>(a: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * a);
    t * exp::<FMA>(-a * a + horner::<FMA, _>(t, ERFC_COEFFS))
}

/// The error function.
#[inline(always)]
pub fn erf<const FMA: bool>(z: f32) -> f32 {
    let a = z.abs();
    let tail = (1.0 - erfc_nonnegative::<FMA>(a)).copysign(z);
    if a < 0.5 { erf_series::<FMA>(z) } else { tail }
}

/// The standard normal CDF `Φ(x) = (1 + erf(x/√2)) / 2`, with relative accuracy in both tails.
#[inline(always)]
pub fn normal_cdf<const FMA: bool>(x: f32) -> f32 {
    let z = x * FRAC_1_SQRT_2;
    let a = z.abs();
    let half_erfc = 0.5 * erfc_nonnegative::<FMA>(a);
    let tail = if z < 0.0 { half_erfc } else { 1.0 - half_erfc };
    if a < 0.5 {
        0.5 + 0.5 * erf_series::<FMA>(z)
    } else {
        tail
    }
}

/// GELU, erf form: `x·Φ(x)`.
#[inline(always)]
pub fn gelu<const FMA: bool>(x: f32) -> f32 {
    x * normal_cdf::<FMA>(x)
}

/// `d/dx x·Φ(x) = Φ(x) + x·φ(x)`.
#[inline(always)]
pub fn gelu_grad<const FMA: bool>(x: f32) -> f32 {
    normal_cdf::<FMA>(x) + x * FRAC_1_SQRT_2PI * exp::<FMA>(-0.5 * x * x)
}

/// The gate `s = 1/(1 + e^(−2u))` with `u = √(2/π)(x + 0.044715x³)`, which equals
/// `(1 + tanh u)/2`, and `1 − s = e^(−2u)·s` (computed so, without cancellation).
#[inline(always)]
fn tanh_form_gate<const FMA: bool>(x: f32) -> (f32, f32) {
    let u = SQRT_2_OVER_PI * (x + TANH_CUBIC * x * x * x);
    let e = exp::<FMA>(-2.0 * u);
    let s = 1.0 / (1.0 + e);
    (s, e * s)
}

/// GELU, tanh form: `x·(1 + tanh u)/2`.
#[inline(always)]
pub fn gelu_tanh<const FMA: bool>(x: f32) -> f32 {
    x * tanh_form_gate::<FMA>(x).0
}

/// `d/dx` of the tanh form: `s + x·s(1−s)·2u'` with `s` the gate and `u' = √(2/π)(1 + 3·0.044715x²)`.
#[inline(always)]
pub fn gelu_tanh_grad<const FMA: bool>(x: f32) -> f32 {
    let (s, one_minus_s) = tanh_form_gate::<FMA>(x);
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * TANH_CUBIC * x * x);
    s + x * s * one_minus_s * 2.0 * du
}

macro_rules! lanewise {
    ($(#[$doc:meta])* $name:ident = $f:ident, $fma:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Lanewise for $name {
            #[inline(always)]
            fn apply<const FMA: bool>(x: f32) -> f32 {
                if $fma && FMA { $f::<true>(x) } else { $f::<false>(x) }
            }
        }
    };
}

// The derivatives use plain products and sums even where FMA is available: with fused
// multiply-adds LLVM left their loops scalar (3.3x slower, measured on AVX2 and AVX-512).
lanewise!(
    /// [`gelu`] as a slice kernel (with FMAs where the loop has them).
    GeluErf = gelu, true
);
lanewise!(
    /// [`gelu_grad`] as a slice kernel (plain products and sums).
    GeluErfGrad = gelu_grad, false
);
lanewise!(
    /// [`gelu_tanh`] as a slice kernel (with FMAs where the loop has them).
    GeluTanh = gelu_tanh, true
);
lanewise!(
    /// [`gelu_tanh_grad`] as a slice kernel (plain products and sums).
    GeluTanhGrad = gelu_tanh_grad, false
);
