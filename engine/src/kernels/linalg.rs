//! Dense matrix products through the `gemm` crate (packed, SIMD, optionally threaded), in the
//! PyTorch convention: a weight matrix is stored `[out, in]` row-major.

use super::par::Par;

/// `out[m, n] = a[m, k] * w[n, k]^T (+ bias[n])`, or `+=` into `out` when `accumulate`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_wt(
    par: Par,
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    out: &mut [f32],
    accumulate: bool,
) {
    matmul_wt_strided(par, a, k, m, k, w, n, bias, out, accumulate)
}

/// As [`matmul_wt`], with rows of `a` starting `a_rs` elements apart (a column slice of a wider
/// matrix).
#[allow(clippy::too_many_arguments)]
pub fn matmul_wt_strided(
    par: Par,
    a: &[f32],
    a_rs: usize,
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    out: &mut [f32],
    accumulate: bool,
) {
    assert!(a_rs >= k && w.len() >= n * k && out.len() >= m * n);
    assert!(m == 0 || a.len() >= (m - 1) * a_rs + k);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above bound every index gemm touches given these strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            1,
            a_rs as isize,
            w.as_ptr(),
            k as isize,
            1,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par.gemm(),
        );
    }
    if let Some(b) = bias {
        for row in out[..m * n].chunks_exact_mut(n) {
            for (o, &bb) in row.iter_mut().zip(b) {
                *o += bb;
            }
        }
    }
}

/// Plain triple loop: the reference the gemm path is tested against.
#[cfg(test)]
pub fn matmul_wt_ref(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a[i * k + p] as f64 * w[j * k + p] as f64;
            }
            out[i * n + j] = s as f32 + bias.map_or(0.0, |b| b[j]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::{assert_close, rand_vec};

    #[test]
    fn gemm_matches_triple_loop() {
        for (i, &(m, k, n)) in [(1, 1, 1), (7, 13, 5), (64, 96, 192), (300, 17, 33)]
            .iter()
            .enumerate()
        {
            let a = rand_vec(m * k, i as u64);
            let w = rand_vec(n * k, 100 + i as u64);
            let b = rand_vec(n, 200 + i as u64);
            let expect = matmul_wt_ref(&a, m, k, &w, n, Some(&b));
            for threads in [1, 2] {
                let mut out = vec![f32::NAN; m * n];
                matmul_wt(
                    Par::new(threads),
                    &a,
                    m,
                    k,
                    &w,
                    n,
                    Some(&b),
                    &mut out,
                    false,
                );
                assert_close(&out, &expect, 1e-6, "matmul");
                // accumulate adds onto what is there
                let mut acc = vec![1.0; m * n];
                matmul_wt(Par::new(threads), &a, m, k, &w, n, None, &mut acc, true);
                let plus1: Vec<f32> = matmul_wt_ref(&a, m, k, &w, n, None)
                    .iter()
                    .map(|v| v + 1.0)
                    .collect();
                assert_close(&acc, &plus1, 1e-6, "matmul accumulate");
            }
        }
    }

    #[test]
    fn strided_lhs_reads_a_column_slice() {
        let (m, k, n, rs) = (9, 4, 6, 11);
        let wide = rand_vec(m * rs, 1);
        let w = rand_vec(n * k, 2);
        let off = 3;
        let dense: Vec<f32> = (0..m)
            .flat_map(|r| wide[r * rs + off..r * rs + off + k].to_vec())
            .collect();
        let mut out = vec![0.0; m * n];
        matmul_wt_strided(
            Par::new(1),
            &wide[off..],
            rs,
            m,
            k,
            &w,
            n,
            None,
            &mut out,
            false,
        );
        assert_close(
            &out,
            &matmul_wt_ref(&dense, m, k, &w, n, None),
            1e-6,
            "strided",
        );
    }
}
