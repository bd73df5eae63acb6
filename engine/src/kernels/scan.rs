//! The SS2D selective scan over the four cross-scan directions (model.md section 3), the
//! model's hot loop.
//!
//! Layout: every per-token tensor is token-major (`[L, channels]`) in the grid's row-major token
//! order. Instead of materialising the four scan sequences, direction k walks the tokens in its
//! own order and adds its output straight into the token's row, which is the cross-merge. Work is
//! split into groups of channels whose `[channels, d_state]` state stays in L1; within a group,
//! 16 channels at a time map onto SIMD registers.

use super::math::{fast_exp_with, softplus_with, Fused, MulAdd, Separate};
use super::par::{Par, SharedMut};

pub const MAX_D_STATE: usize = 256;
const LANES: usize = 16;

/// Shapes of one SS2D scan on an `h x w` grid.
#[derive(Clone, Copy, Debug)]
pub struct ScanDims {
    pub h: usize,
    pub w: usize,
    /// Inner channels E.
    pub e: usize,
    /// State size N.
    pub n: usize,
    /// dt rank R.
    pub r: usize,
}

impl ScanDims {
    pub fn len(&self) -> usize {
        self.h * self.w
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row length of the fused x_proj output: 4 directions x (R + 2N).
    pub fn dbl_row(&self) -> usize {
        4 * (self.r + 2 * self.n)
    }
    /// Token visited at step `t` by direction `k` (0 row-major, 1 column-major, 2/3 reversed).
    #[inline(always)]
    pub fn token(&self, k: usize, t: usize) -> usize {
        let l = self.len();
        let t = if k >= 2 { l - 1 - t } else { t };
        if k.is_multiple_of(2) {
            t
        } else {
            (t % self.h) * self.w + t / self.h
        }
    }
}

/// Per-layer scan parameters, in the layout the fast kernel wants.
pub struct ScanParams<'a> {
    /// `-exp(A_log)`, transposed to `[K][N][E]`.
    pub a_neg: &'a [f32],
    /// `[K][E]`
    pub dt_bias: &'a [f32],
    /// `[K][E]`
    pub d: &'a [f32],
}

/// Inputs for one scan.
pub struct ScanInputs<'a> {
    /// `u[L, E]`: the conv + SiLU output.
    pub u: &'a [f32],
    /// `[K][L][E]`: dt_proj output before the bias.
    pub delta_raw: &'a [f32],
    /// `[L][4 (R + 2N)]`: fused x_proj output, direction k at `k (R + 2N)`: `[dt | B | C]`.
    pub dbl: &'a [f32],
}

/// y[L, E] = sum over the 4 directions of the selective scan, written (not accumulated) to `y`.
pub fn ss2d_scan(par: Par, dims: ScanDims, p: &ScanParams, x: &ScanInputs, y: &mut [f32]) {
    assert!(dims.n <= MAX_D_STATE, "d_state above {MAX_D_STATE}");
    let (l, e) = (dims.len(), dims.e);
    assert!(x.u.len() >= l * e && x.delta_raw.len() >= 4 * l * e && y.len() >= l * e);
    assert!(x.dbl.len() >= l * dims.dbl_row() && p.a_neg.len() >= 4 * dims.n * e);
    // Channel groups: one per thread at least, and small enough that a group's state fits the
    // stack buffer. Groups are whole 16-lane blocks except the last.
    let blocks = e.div_ceil(LANES);
    let per_group_max = (STATE_FLOATS / (LANES * dims.n)).max(1);
    let groups = blocks
        .div_ceil(per_group_max)
        .max(par.threads().min(blocks));
    let per_group = blocks.div_ceil(groups);
    let out = SharedMut::new(y);
    par.for_each(blocks.div_ceil(per_group), |g| {
        let c0 = g * per_group * LANES;
        let c1 = ((g + 1) * per_group * LANES).min(e);
        // SAFETY: group g writes only channels c0..c1 of every token: disjoint from others.
        unsafe { scan_group_dispatch(dims, p, x, out, c0, c1) }
    });
}

/// Floats of selective-scan state one task keeps on its stack (64 KiB).
const STATE_FLOATS: usize = 16 * 1024;

unsafe fn scan_group_dispatch(
    dims: ScanDims,
    p: &ScanParams,
    x: &ScanInputs,
    y: SharedMut,
    c0: usize,
    c1: usize,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::has_avx2_fma() {
            return scan_group_avx2(dims, p, x, y, c0, c1);
        }
    }
    scan_group::<Separate>(dims, p, x, y, c0, c1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_group_avx2(
    dims: ScanDims,
    p: &ScanParams,
    x: &ScanInputs,
    y: SharedMut,
    c0: usize,
    c1: usize,
) {
    scan_group::<Fused>(dims, p, x, y, c0, c1)
}

/// Scans channels `c0..c1` through all four directions and writes their merged output. Each
/// step handles all of the group's channels of one token, so every step reads one contiguous
/// stretch of each row whatever the direction's order (column-major steps jump a whole grid row,
/// and walking one 16-channel block at a time would touch a new page per step).
#[inline(always)]
unsafe fn scan_group<M: MulAdd>(
    dims: ScanDims,
    p: &ScanParams,
    x: &ScanInputs,
    y: SharedMut,
    c0: usize,
    c1: usize,
) {
    let ScanDims { e, n, r, .. } = dims;
    let l = dims.len();
    let row = dims.dbl_row();
    let mut h = [0.0f32; STATE_FLOATS];
    let full_end = c0 + (c1 - c0) / LANES * LANES;
    for k in 0..4 {
        h[..(c1 - c0) * n].fill(0.0);
        let a_k = &p.a_neg[k * n * e..(k + 1) * n * e];
        let delta_k = &x.delta_raw[k * l * e..(k + 1) * l * e];
        let bc_off = k * (r + 2 * n) + r;
        for t in 0..l {
            let tok = dims.token(k, t);
            let bc = &x.dbl[tok * row + bc_off..][..2 * n];
            let step = Step {
                k,
                tok,
                e,
                n,
                a_k,
                delta_k,
                bc,
                p,
                x,
                y,
            };
            let mut d0 = c0;
            while d0 < full_end {
                step.lanes::<LANES, M>(d0, &mut h[(d0 - c0) * n..(d0 - c0 + LANES) * n]);
                d0 += LANES;
            }
            for d in full_end..c1 {
                step.lanes::<1, M>(d, &mut h[(d - c0) * n..(d - c0 + 1) * n]);
            }
        }
    }
}

/// One token of one direction.
struct Step<'a> {
    k: usize,
    tok: usize,
    e: usize,
    n: usize,
    a_k: &'a [f32],
    delta_k: &'a [f32],
    bc: &'a [f32],
    p: &'a ScanParams<'a>,
    x: &'a ScanInputs<'a>,
    y: SharedMut,
}

impl Step<'_> {
    /// Advances channels `d0..d0+W` (state `h`: `[n][W]`) by one token.
    #[inline(always)]
    unsafe fn lanes<const W: usize, M: MulAdd>(&self, d0: usize, h: &mut [f32]) {
        let Step { k, tok, e, n, .. } = *self;
        let u: &[f32; W] = self.x.u[tok * e + d0..][..W].try_into().unwrap();
        let dr: &[f32; W] = self.delta_k[tok * e + d0..][..W].try_into().unwrap();
        let bias = &self.p.dt_bias[k * e + d0..][..W];
        let dd = &self.p.d[k * e + d0..][..W];
        // Plain loops, not array::from_fn: its closure is not inlined into the AVX2 caller and
        // would run without the target features (scalar).
        let (mut delta, mut du, mut acc) = ([0.0f32; W], [0.0f32; W], [0.0f32; W]);
        for c in 0..W {
            delta[c] = softplus_with::<M>(dr[c] + bias[c]);
            du[c] = delta[c] * u[c];
            acc[c] = dd[c] * u[c];
        }
        let (bs, cs) = self.bc.split_at(n);
        for s in 0..n {
            let a: &[f32; W] = self.a_k[s * e + d0..][..W].try_into().unwrap();
            let hs: &mut [f32; W] = (&mut h[s * W..(s + 1) * W]).try_into().unwrap();
            let (b, cc) = (bs[s], cs[s]);
            for c in 0..W {
                hs[c] = M::mul_add(fast_exp_with::<M>(delta[c] * a[c]), hs[c], du[c] * b);
                acc[c] = M::mul_add(cc, hs[c], acc[c]);
            }
        }
        let dst = self.y.at(tok * e + d0);
        for (c, v) in acc.iter().enumerate() {
            let o = dst.add(c);
            *o = if k == 0 { *v } else { *o + v };
        }
    }
}

/// The plain selective scan of one sequence, exactly as model.md states it, with std's exp and
/// ln_1p: the reference the fast kernel is tested against.
/// `u`, `delta_raw`: `[L]` for one channel; `b`, `c`: `[L][N]`; `a_log`: `[N]`.
#[allow(clippy::too_many_arguments)]
pub fn selective_scan_ref(
    u: &[f32],
    delta_raw: &[f32],
    a_log: &[f32],
    b: &[f32],
    c: &[f32],
    d: f32,
    delta_bias: f32,
    y: &mut [f32],
) {
    let n = a_log.len();
    let mut h = vec![0.0f32; n];
    for t in 0..u.len() {
        let z = delta_raw[t] + delta_bias;
        let delta = if z > 20.0 { z } else { z.exp().ln_1p() };
        let mut acc = 0.0f32;
        for s in 0..n {
            let a = -a_log[s].exp();
            h[s] = (delta * a).exp() * h[s] + delta * b[t * n + s] * u[t];
            acc += c[t * n + s] * h[s];
        }
        y[t] = acc + d * u[t];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_close, rand_vec};

    /// Cross-scan by materialising the four sequences, the plain scan per channel, and the
    /// cross-merge by undoing the orders: model.md section 2 steps 4-7 taken literally.
    fn ss2d_ref(
        dims: ScanDims,
        a_log: &[f32],
        dt_bias: &[f32],
        d: &[f32],
        x: &ScanInputs,
    ) -> Vec<f32> {
        let (l, e, n, r) = (dims.len(), dims.e, dims.n, dims.r);
        let mut y = vec![0.0; l * e];
        for k in 0..4 {
            let order: Vec<usize> = match k {
                0 => (0..l).collect(),
                1 => (0..dims.w)
                    .flat_map(|col| (0..dims.h).map(move |row| row * dims.w + col))
                    .collect(),
                2 => (0..l).rev().collect(),
                _ => (0..dims.w)
                    .flat_map(|col| (0..dims.h).map(move |row| row * dims.w + col))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect(),
            };
            let off = k * (r + 2 * n);
            let bseq: Vec<f32> = order
                .iter()
                .flat_map(|&p| x.dbl[p * dims.dbl_row() + off + r..][..n].to_vec())
                .collect();
            let cseq: Vec<f32> = order
                .iter()
                .flat_map(|&p| x.dbl[p * dims.dbl_row() + off + r + n..][..n].to_vec())
                .collect();
            for ch in 0..e {
                let u: Vec<f32> = order.iter().map(|&p| x.u[p * e + ch]).collect();
                let dr: Vec<f32> = order
                    .iter()
                    .map(|&p| x.delta_raw[k * l * e + p * e + ch])
                    .collect();
                let mut ys = vec![0.0; l];
                let kd = k * e + ch;
                selective_scan_ref(
                    &u,
                    &dr,
                    &a_log[kd * n..(kd + 1) * n],
                    &bseq,
                    &cseq,
                    d[kd],
                    dt_bias[kd],
                    &mut ys,
                );
                for (t, &p) in order.iter().enumerate() {
                    y[p * e + ch] += ys[t];
                }
            }
        }
        y
    }

    fn check(dims: ScanDims, threads: usize) {
        let (l, e, n) = (dims.len(), dims.e, dims.n);
        let u = rand_vec(l * e, 1);
        let delta_raw: Vec<f32> = rand_vec(4 * l * e, 2)
            .iter()
            .map(|v| v * 3.0 - 1.0)
            .collect();
        let dbl = rand_vec(l * dims.dbl_row(), 3);
        // A_log = log(1..N) as VMamba initialises it, perturbed.
        let a_log: Vec<f32> = (0..4 * e * n)
            .map(|i| (((i % n) + 1) as f32).ln())
            .zip(rand_vec(4 * e * n, 4))
            .map(|(a, r)| a + 0.3 * r)
            .collect();
        let dt_bias = rand_vec(4 * e, 5);
        let d = rand_vec(4 * e, 6);
        let mut a_neg = vec![0.0; 4 * n * e];
        for k in 0..4 {
            for ch in 0..e {
                for s in 0..n {
                    a_neg[(k * n + s) * e + ch] = -a_log[(k * e + ch) * n + s].exp();
                }
            }
        }
        let inputs = ScanInputs {
            u: &u,
            delta_raw: &delta_raw,
            dbl: &dbl,
        };
        let params = ScanParams {
            a_neg: &a_neg,
            dt_bias: &dt_bias,
            d: &d,
        };
        let mut y = vec![f32::NAN; l * e];
        ss2d_scan(Par::new(threads), dims, &params, &inputs, &mut y);
        let expect = ss2d_ref(dims, &a_log, &dt_bias, &d, &inputs);
        assert_close(&y, &expect, 2e-6, &format!("ss2d scan {dims:?}"));
        // The portable path (CPUs without AVX2/FMA), called directly since dispatch picks AVX2 here.
        if dims.e * dims.n <= STATE_FLOATS {
            let mut y2 = vec![f32::NAN; l * e];
            unsafe {
                scan_group::<Separate>(dims, &params, &inputs, SharedMut::new(&mut y2), 0, e)
            };
            assert_close(&y2, &expect, 2e-6, &format!("portable ss2d scan {dims:?}"));
        }
    }

    #[test]
    fn fast_scan_matches_plain_scan() {
        // Full 16-lane blocks, a ragged tail, non-square grids, d_state 1 and 16.
        check(
            ScanDims {
                h: 4,
                w: 6,
                e: 32,
                n: 16,
                r: 2,
            },
            1,
        );
        check(
            ScanDims {
                h: 5,
                w: 3,
                e: 21,
                n: 1,
                r: 1,
            },
            2,
        );
        check(
            ScanDims {
                h: 8,
                w: 8,
                e: 16,
                n: 4,
                r: 3,
            },
            2,
        );
        check(
            ScanDims {
                h: 1,
                w: 7,
                e: 5,
                n: 2,
                r: 1,
            },
            1,
        );
    }

    #[test]
    fn token_orders_are_permutations() {
        let dims = ScanDims {
            h: 3,
            w: 5,
            e: 1,
            n: 1,
            r: 1,
        };
        for k in 0..4 {
            let mut seen: Vec<usize> = (0..15).map(|t| dims.token(k, t)).collect();
            if k == 1 {
                assert_eq!(&seen[..4], &[0, 5, 10, 1]);
            }
            seen.sort();
            assert_eq!(seen, (0..15).collect::<Vec<_>>());
        }
    }
}
