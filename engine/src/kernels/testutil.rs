//! Deterministic random data and a relative-L2 comparison for kernel tests.

/// Uniform values in [-1, 1) from a seeded xorshift generator.
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Relative L2 distance ||a - b|| / ||b||.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (num / den.max(1e-30)).sqrt()
}

#[track_caller]
pub fn assert_close(a: &[f32], b: &[f32], tol: f64, what: &str) {
    assert!(a.iter().all(|v| v.is_finite()), "{what}: non-finite output");
    let e = rel_l2(a, b);
    assert!(e <= tol, "{what}: relative L2 error {e:e} > {tol:e}");
}
