//! Matrix products `out = a * w^T (+ bias)` where `w` is a model weight in PyTorch's `[out, in]`
//! layout.
//!
//! Hand-written rather than taken from the `gemm` or `matrixmultiply` crates because both
//! allocate a packing buffer on every call, and a session must run a window without allocating.
//! Every right-hand side here is a weight, so it is packed once at load time into panels of
//! `NR` output columns; the left-hand side is read in place (any row stride). A 4 x 16 register
//! tile keeps the FMA units busy; the crate `gemm` is kept as the speed yardstick in the benches.

use super::par::Par;

const NR: usize = 16;
const MR: usize = 4;
/// Output rows per parallel task: enough to amortise a task, few enough to balance two threads.
const ROWS_PER_TASK: usize = 64;

/// A weight `[n, k]` repacked as `ceil(n/16)` panels of `k x 16` (zero-padded past `n`).
#[derive(Clone, Debug)]
pub struct PackedMatrix {
    data: Vec<f32>,
    n: usize,
    k: usize,
}

impl PackedMatrix {
    pub fn pack(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "weight is not {n} x {k}");
        let panels = n.div_ceil(NR);
        let mut data = vec![0.0; panels * k * NR];
        for (row, wr) in w.chunks_exact(k).enumerate() {
            let (panel, j) = (row / NR, row % NR);
            for (p, &v) in wr.iter().enumerate() {
                data[(panel * k + p) * NR + j] = v;
            }
        }
        Self { data, n, k }
    }
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn k(&self) -> usize {
        self.k
    }
    /// The weight back in its `[n, k]` layout (the GPU backend uploads that).
    pub fn unpack(&self) -> Vec<f32> {
        let mut w = vec![0.0; self.n * self.k];
        for (row, wr) in w.chunks_exact_mut(self.k.max(1)).enumerate() {
            let (panel, j) = (row / NR, row % NR);
            for (p, v) in wr.iter_mut().enumerate() {
                *v = self.data[(panel * self.k + p) * NR + j];
            }
        }
        w
    }
}

/// `out[m, n] = a[m, k] * w^T (+ bias[n])`, or `+=` into `out` when `accumulate`. Rows of `a`
/// start `a_rs` elements apart.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    par: Par,
    a: &[f32],
    a_rs: usize,
    m: usize,
    w: &PackedMatrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    accumulate: bool,
) {
    let (n, k) = (w.n, w.k);
    assert!(a_rs >= k && out.len() >= m * n);
    assert!(m == 0 || a.len() >= (m - 1) * a_rs + k);
    assert!(bias.is_none_or(|b| b.len() >= n));
    if m == 0 || n == 0 {
        return;
    }
    par.for_chunks(&mut out[..m * n], ROWS_PER_TASK * n, |task, rows| {
        let a = &a[task * ROWS_PER_TASK * a_rs..];
        kernel_dispatch(a, a_rs, rows.len() / n, w, bias, rows, accumulate);
    });
}

fn kernel_dispatch(
    a: &[f32],
    a_rs: usize,
    m: usize,
    w: &PackedMatrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    acc: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::has_avx2_fma() {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { kernel_avx2(a, a_rs, m, w, bias, out, acc) };
        }
    }
    kernel::<false>(a, a_rs, m, w, bias, out, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_avx2(
    a: &[f32],
    a_rs: usize,
    m: usize,
    w: &PackedMatrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    acc: bool,
) {
    kernel::<true>(a, a_rs, m, w, bias, out, acc)
}

#[inline(always)]
fn kernel<const FMA: bool>(
    a: &[f32],
    a_rs: usize,
    m: usize,
    w: &PackedMatrix,
    bias: Option<&[f32]>,
    out: &mut [f32],
    accumulate: bool,
) {
    let (n, k) = (w.n, w.k);
    for panel in 0..n.div_ceil(NR) {
        let bp = &w.data[panel * k * NR..(panel + 1) * k * NR];
        let j0 = panel * NR;
        let jn = NR.min(n - j0);
        let mut i = 0;
        while i + MR <= m {
            let tile = tile::<MR, FMA>(
                std::array::from_fn(|r| &a[(i + r) * a_rs..(i + r) * a_rs + k]),
                bp,
            );
            store(&tile, out, i, n, j0, jn, bias, accumulate);
            i += MR;
        }
        while i < m {
            let tile = tile::<1, FMA>([&a[i * a_rs..i * a_rs + k]], bp);
            store(&tile, out, i, n, j0, jn, bias, accumulate);
            i += 1;
        }
    }
}

#[inline(always)]
fn tile<const R: usize, const FMA: bool>(rows: [&[f32]; R], bp: &[f32]) -> [[f32; NR]; R] {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: FMA is only true inside `kernel_avx2`, which runs only on AVX2+FMA CPUs.
        return unsafe { tile_fma::<R>(rows, bp) };
    }
    let mut acc = [[0.0f32; NR]; R];
    let k = rows[0].len();
    for p in 0..k {
        let b: &[f32; NR] = bp[p * NR..(p + 1) * NR].try_into().unwrap();
        for r in 0..R {
            let av = rows[r][p];
            for j in 0..NR {
                // mul_add is one instruction only where FMA is enabled; elsewhere it is a libm call.
                acc[r][j] = if FMA {
                    av.mul_add(b[j], acc[r][j])
                } else {
                    av * b[j] + acc[r][j]
                };
            }
        }
    }
    acc
}

/// The register tile with explicit AVX2 intrinsics: written as arrays, LLVM spills the
/// accumulators to the stack on every step.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile_fma<const R: usize>(rows: [&[f32]; R], bp: &[f32]) -> [[f32; NR]; R] {
    use std::arch::x86_64::*;
    let k = rows[0].len();
    debug_assert!(bp.len() >= k * NR);
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    let b = bp.as_ptr();
    for p in 0..k {
        let b0 = _mm256_loadu_ps(b.add(p * NR));
        let b1 = _mm256_loadu_ps(b.add(p * NR + 8));
        for r in 0..R {
            let a = _mm256_set1_ps(*rows[r].get_unchecked(p));
            lo[r] = _mm256_fmadd_ps(a, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(a, b1, hi[r]);
        }
    }
    let mut out = [[0.0f32; NR]; R];
    for r in 0..R {
        _mm256_storeu_ps(out[r].as_mut_ptr(), lo[r]);
        _mm256_storeu_ps(out[r].as_mut_ptr().add(8), hi[r]);
    }
    out
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn store<const R: usize>(
    tile: &[[f32; NR]; R],
    out: &mut [f32],
    i: usize,
    n: usize,
    j0: usize,
    jn: usize,
    bias: Option<&[f32]>,
    accumulate: bool,
) {
    for (r, t) in tile.iter().enumerate() {
        let dst = &mut out[(i + r) * n + j0..(i + r) * n + j0 + jn];
        for (j, d) in dst.iter_mut().enumerate() {
            let v = t[j] + bias.map_or(0.0, |b| b[j0 + j]);
            *d = if accumulate { *d + v } else { v };
        }
    }
}

/// Plain triple loop: the reference the packed kernel is tested against.
#[cfg(test)]
pub fn matmul_ref(
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
    use crate::testkit::{assert_close, rand_vec};

    #[test]
    fn packed_kernel_matches_triple_loop() {
        // Tails in every direction: m % 4, n % 16, k = 1, and more rows than one task.
        for (i, &(m, k, n)) in [
            (1, 1, 1),
            (7, 13, 5),
            (64, 96, 192),
            (300, 17, 33),
            (131, 40, 16),
        ]
        .iter()
        .enumerate()
        {
            let a = rand_vec(m * k, i as u64);
            let w = rand_vec(n * k, 100 + i as u64);
            let b = rand_vec(n, 200 + i as u64);
            let packed = PackedMatrix::pack(&w, n, k);
            assert_eq!(packed.unpack(), w, "unpack inverts pack");
            let expect = matmul_ref(&a, m, k, &w, n, Some(&b));
            for threads in [1, 2] {
                let mut out = vec![f32::NAN; m * n];
                matmul(
                    Par::new(threads),
                    &a,
                    k,
                    m,
                    &packed,
                    Some(&b),
                    &mut out,
                    false,
                );
                assert_close(&out, &expect, 1e-6, "matmul");
                let mut acc = vec![1.0; m * n];
                matmul(Par::new(threads), &a, k, m, &packed, None, &mut acc, true);
                let plus1: Vec<f32> = matmul_ref(&a, m, k, &w, n, None)
                    .iter()
                    .map(|v| v + 1.0)
                    .collect();
                assert_close(&acc, &plus1, 1e-6, "matmul accumulate");
            }
            // The portable path (CPUs without AVX2/FMA), called directly.
            let mut out = vec![f32::NAN; m * n];
            kernel::<false>(&a, k, m, &packed, Some(&b), &mut out, false);
            assert_close(&out, &expect, 1e-6, "portable matmul");
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
        matmul(
            Par::new(1),
            &wide[off..],
            rs,
            m,
            &PackedMatrix::pack(&w, n, k),
            None,
            &mut out,
            false,
        );
        assert_close(
            &out,
            &matmul_ref(&dense, m, k, &w, n, None),
            1e-6,
            "strided",
        );
    }
}
