//! Compute kernels. Each has a plain reference implementation in its tests.

pub mod linalg;
pub mod math;
pub mod nn;
pub mod par;
pub mod scan;

/// Whether the AVX2 + FMA code paths may run on this CPU (checked once, then cached by std).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}
