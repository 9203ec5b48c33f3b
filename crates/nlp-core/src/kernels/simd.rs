//! Elementwise f32 loops compiled for several instruction sets and split across threads; the
//! instruction set is picked once at run time from what the CPU reports, never from the build
//! machine.
//!
//! The loop bodies are the plain Rust of [`super::math`]; compiling the same body inside a
//! `#[target_feature]` function lets LLVM vectorise it 16 lanes wide (AVX-512) or 8 lanes wide
//! (AVX2), and the baseline copy (4 lanes of SSE2 on x86-64, NEON on aarch64) runs anywhere.

use rayon::prelude::*;

/// Elements per task: large enough to amortise rayon's scheduling, small enough to balance two
/// to many cores on a BERT activation (about 6 million elements).
const CHUNK: usize = 16 * 1024;

/// A function of one f32, applied lane by lane.
pub trait Lanewise: Sync {
    /// The value at `x`, with `a·b + c` as fused multiply-adds when `FMA`.
    fn apply<const FMA: bool>(x: f32) -> f32;
}

/// The vector instruction set the loops run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimdLevel {
    /// x86-64 with AVX-512F (16 f32 lanes).
    Avx512,
    /// x86-64 with AVX2 and FMA (8 lanes).
    Avx2,
    /// Whatever the build target guarantees.
    Baseline,
}

impl SimdLevel {
    /// Whether this level's loops use fused multiply-adds (see [`super::math`]).
    pub fn fma(self) -> bool {
        self != Self::Baseline
    }

    /// Higher includes lower.
    fn rank(self) -> u8 {
        match self {
            Self::Baseline => 0,
            Self::Avx2 => 1,
            Self::Avx512 => 2,
        }
    }

    /// Every level this CPU supports, best first.
    pub fn available() -> Vec<SimdLevel> {
        [Self::Avx512, Self::Avx2, Self::Baseline]
            .into_iter()
            .filter(|level| level.rank() <= detected_level().rank())
            .collect()
    }
}

/// The level the kernels run with (decided once): the best this CPU supports, or a lower one
/// named by `BERT4BURN_SIMD` (`avx512`, `avx2`, `baseline`) in the environment.
pub fn simd_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let detected = detected_level();
        let asked = match std::env::var("BERT4BURN_SIMD").as_deref() {
            Ok("avx512") => SimdLevel::Avx512,
            Ok("avx2") => SimdLevel::Avx2,
            Ok("baseline") => SimdLevel::Baseline,
            _ => detected,
        };
        if asked.rank() <= detected.rank() {
            asked
        } else {
            detected
        }
    })
}

/// The best level this CPU reports.
fn detected_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Baseline
}

/// `data[i] = F(data[i])` or, with `x`, `data[i] = data[i] · F(x[i])`.
#[inline(always)]
fn body<F: Lanewise, const FMA: bool>(data: &mut [f32], x: Option<&[f32]>) {
    match x {
        None => data.iter_mut().for_each(|v| *v = F::apply::<FMA>(*v)),
        Some(x) => data
            .iter_mut()
            .zip(x)
            .for_each(|(v, &xi)| *v *= F::apply::<FMA>(xi)),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn body_avx512<F: Lanewise>(data: &mut [f32], x: Option<&[f32]>) {
    body::<F, true>(data, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn body_avx2<F: Lanewise>(data: &mut [f32], x: Option<&[f32]>) {
    body::<F, true>(data, x)
}

fn run_chunk<F: Lanewise>(level: SimdLevel, data: &mut [f32], x: Option<&[f32]>) {
    match level {
        // SAFETY: `simd_level` returned these levels only after the CPU reported the features.
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { body_avx512::<F>(data, x) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { body_avx2::<F>(data, x) },
        _ => body::<F, false>(data, x),
    }
}

/// `data[i] = F(data[i])`, in parallel.
pub fn map_in_place<F: Lanewise>(data: &mut [f32]) {
    map_in_place_at::<F>(simd_level(), data);
}

/// [`map_in_place`] with the given instruction set, for comparing the compiled variants.
///
/// # Panics
/// Panics if this CPU lacks `level`.
pub fn map_in_place_at<F: Lanewise>(level: SimdLevel, data: &mut [f32]) {
    assert!(
        level.rank() <= detected_level().rank(),
        "this CPU has no {level:?} (it has {:?})",
        detected_level()
    );
    data.par_chunks_mut(CHUNK)
        .for_each(|chunk| run_chunk::<F>(level, chunk, None));
}

/// `data[i] *= F(x[i])`, in parallel.
///
/// # Panics
/// Panics if the slices differ in length.
pub fn scale_in_place<F: Lanewise>(data: &mut [f32], x: &[f32]) {
    assert_eq!(data.len(), x.len(), "scale_in_place: length mismatch");
    let level = simd_level();
    data.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(chunk, x)| run_chunk::<F>(level, chunk, Some(x)));
}
