//! Layer ops on token-major (height x width x channels) activations.

use super::linalg::{matmul, PackedMatrix};
use super::math::{gelu, silu};
use super::par::Par;

pub const LN_EPS: f32 = 1e-5;

/// LayerNorm over the last axis of `x` (`tokens x c`), in place.
pub fn layer_norm(par: Par, x: &mut [f32], c: usize, w: &[f32], b: &[f32]) {
    par.for_chunks(x, c * 64, |_, rows| {
        for row in rows.chunks_exact_mut(c) {
            layer_norm_row(row, w, b);
        }
    });
}

/// LayerNorm of `x` into `out` (same shape).
pub fn layer_norm_into(par: Par, x: &[f32], out: &mut [f32], c: usize, w: &[f32], b: &[f32]) {
    out[..x.len()].copy_from_slice(x);
    layer_norm(par, &mut out[..x.len()], c, w, b);
}

#[inline]
fn layer_norm_row(row: &mut [f32], w: &[f32], b: &[f32]) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + LN_EPS).sqrt();
    for ((v, &ww), &bb) in row.iter_mut().zip(w).zip(b) {
        *v = (*v - mean) * inv * ww + bb;
    }
}

pub fn silu_inplace(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = silu(*v));
}

pub fn gelu_inplace(par: Par, x: &mut [f32]) {
    par.for_chunks(x, 16384, |_, c| c.iter_mut().for_each(|v| *v = gelu(*v)));
}

/// Geometry of a 2-D convolution on an HWC image with a PyTorch `[cout, cin, kh, kw]` weight.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub ph: usize,
    pub pw: usize,
}

impl ConvShape {
    pub fn out_size(&self, h: usize, w: usize) -> (usize, usize) {
        (
            (h + 2 * self.ph - self.kh) / self.stride + 1,
            (w + 2 * self.pw - self.kw) / self.stride + 1,
        )
    }
    pub fn patch_len(&self) -> usize {
        self.cin * self.kh * self.kw
    }
}

/// Dense convolution as im2col + gemm. `cols` is scratch of at least `out_h*out_w*patch_len`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    par: Par,
    s: &ConvShape,
    input: &[f32],
    h: usize,
    w: usize,
    weight: &PackedMatrix,
    bias: Option<&[f32]>,
    cols: &mut [f32],
    out: &mut [f32],
) -> (usize, usize) {
    let (oh, ow) = s.out_size(h, w);
    let plen = s.patch_len();
    let cols = &mut cols[..oh * ow * plen];
    par.for_chunks(cols, ow * plen, |oy, row| {
        for ox in 0..ow {
            let patch = &mut row[ox * plen..(ox + 1) * plen];
            for ky in 0..s.kh {
                let iy = (oy * s.stride + ky) as isize - s.ph as isize;
                for kx in 0..s.kw {
                    let ix = (ox * s.stride + kx) as isize - s.pw as isize;
                    let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                    let base = if inside {
                        (iy as usize * w + ix as usize) * s.cin
                    } else {
                        0
                    };
                    for ci in 0..s.cin {
                        patch[(ci * s.kh + ky) * s.kw + kx] =
                            if inside { input[base + ci] } else { 0.0 };
                    }
                }
            }
        }
    });
    debug_assert_eq!((weight.n(), weight.k()), (s.cout, plen));
    matmul(par, cols, plen, oh * ow, weight, bias, out, false);
    (oh, ow)
}

/// Depthwise 3x3 convolution, padding 1, followed by SiLU. `w9` is the weight transposed to
/// `[9][channels]` so the inner loop runs over contiguous channels.
// The shape goes in as scalars (h, w, c), as in every other kernel here.
#[allow(clippy::too_many_arguments)]
pub fn depthwise3x3_silu(
    par: Par,
    input: &[f32],
    h: usize,
    w: usize,
    c: usize,
    w9: &[f32],
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    par.for_chunks(&mut out[..h * w * c], w * c, |y, row| {
        for x in 0..w {
            let o = &mut row[x * c..(x + 1) * c];
            match bias {
                Some(b) => o.copy_from_slice(b),
                None => o.fill(0.0),
            }
            for ky in 0..3 {
                let iy = y as isize + ky as isize - 1;
                if iy < 0 || iy as usize >= h {
                    continue;
                }
                for kx in 0..3 {
                    let ix = x as isize + kx as isize - 1;
                    if ix < 0 || ix as usize >= w {
                        continue;
                    }
                    let src = &input[(iy as usize * w + ix as usize) * c..][..c];
                    let k = &w9[(ky * 3 + kx) * c..][..c];
                    for ((o, &s), &kk) in o.iter_mut().zip(src).zip(k) {
                        *o += s * kk;
                    }
                }
            }
            silu_inplace(o);
        }
    });
}

/// PatchMerging gather: `(h, w, c)` -> `(h/2, w/2, 4c)` with neighbours in VMamba's order
/// (row, col) = (0,0), (1,0), (0,1), (1,1).
pub fn patch_merge_gather(input: &[f32], h: usize, w: usize, c: usize, out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    for oy in 0..oh {
        for ox in 0..ow {
            let dst = &mut out[(oy * ow + ox) * 4 * c..][..4 * c];
            for (q, (dy, dx)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
                let src = ((2 * oy + dy) * w + 2 * ox + dx) * c;
                dst[q * c..(q + 1) * c].copy_from_slice(&input[src..src + c]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{assert_close, rand_vec};

    /// Direct 7-loop convolution in NCHW index arithmetic, the reference for im2col + gemm.
    fn conv_ref(s: &ConvShape, x: &[f32], h: usize, w: usize, wt: &[f32], b: &[f32]) -> Vec<f32> {
        let (oh, ow) = s.out_size(h, w);
        let mut out = vec![0.0; oh * ow * s.cout];
        for co in 0..s.cout {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = b[co] as f64;
                    for ci in 0..s.cin {
                        for ky in 0..s.kh {
                            for kx in 0..s.kw {
                                let iy = (oy * s.stride + ky) as isize - s.ph as isize;
                                let ix = (ox * s.stride + kx) as isize - s.pw as isize;
                                if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                                    continue;
                                }
                                let xv = x[(iy as usize * w + ix as usize) * s.cin + ci];
                                let wv = wt[((co * s.cin + ci) * s.kh + ky) * s.kw + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out[(oy * ow + ox) * s.cout + co] = acc as f32;
                }
            }
        }
        out
    }

    #[test]
    fn conv2d_matches_direct_loop() {
        let shapes = [
            (
                ConvShape {
                    cin: 1,
                    cout: 8,
                    kh: 4,
                    kw: 4,
                    stride: 4,
                    ph: 0,
                    pw: 0,
                },
                16,
                12,
            ),
            (
                ConvShape {
                    cin: 3,
                    cout: 6,
                    kh: 3,
                    kw: 3,
                    stride: 2,
                    ph: 1,
                    pw: 1,
                },
                9,
                10,
            ),
            (
                ConvShape {
                    cin: 5,
                    cout: 7,
                    kh: 2,
                    kw: 3,
                    stride: 1,
                    ph: 0,
                    pw: 1,
                },
                2,
                8,
            ),
        ];
        for (i, (s, h, w)) in shapes.into_iter().enumerate() {
            let x = rand_vec(h * w * s.cin, i as u64);
            let wt = rand_vec(s.cout * s.patch_len(), 10 + i as u64);
            let b = rand_vec(s.cout, 20 + i as u64);
            let (oh, ow) = s.out_size(h, w);
            for threads in [1, 2] {
                let mut cols = vec![0.0; oh * ow * s.patch_len()];
                let mut out = vec![0.0; oh * ow * s.cout];
                conv2d(
                    Par::new(threads),
                    &s,
                    &x,
                    h,
                    w,
                    &PackedMatrix::pack(&wt, s.cout, s.patch_len()),
                    Some(&b),
                    &mut cols,
                    &mut out,
                );
                assert_close(&out, &conv_ref(&s, &x, h, w, &wt, &b), 1e-5, "conv2d");
            }
        }
    }

    #[test]
    fn depthwise_matches_dense_conv_with_diagonal_weight() {
        let (h, w, c) = (5, 7, 11);
        let x = rand_vec(h * w * c, 1);
        let wt = rand_vec(c * 9, 2); // [c, 1, 3, 3]
        let b = rand_vec(c, 3);
        let mut w9 = vec![0.0; 9 * c];
        let mut dense = vec![0.0; c * c * 9];
        for ch in 0..c {
            for k in 0..9 {
                w9[k * c + ch] = wt[ch * 9 + k];
                dense[(ch * c + ch) * 9 + k] = wt[ch * 9 + k];
            }
        }
        let s = ConvShape {
            cin: c,
            cout: c,
            kh: 3,
            kw: 3,
            stride: 1,
            ph: 1,
            pw: 1,
        };
        let mut expect = conv_ref(&s, &x, h, w, &dense, &b);
        expect
            .iter_mut()
            .for_each(|v| *v = (*v as f64 / (1.0 + (-*v as f64).exp())) as f32);
        let mut out = vec![0.0; h * w * c];
        depthwise3x3_silu(Par::new(2), &x, h, w, c, &w9, Some(&b), &mut out);
        assert_close(&out, &expect, 1e-5, "depthwise3x3_silu");
    }

    #[test]
    fn layer_norm_normalises_each_token() {
        let (t, c) = (9, 13);
        let x = rand_vec(t * c, 4);
        let w = rand_vec(c, 5);
        let b = rand_vec(c, 6);
        let mut out = vec![0.0; t * c];
        layer_norm_into(Par::new(1), &x, &mut out, c, &w, &b);
        for (row, orow) in x.chunks(c).zip(out.chunks(c)) {
            let mean: f64 = row.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
            let var: f64 = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / c as f64;
            for i in 0..c {
                let e = (row[i] as f64 - mean) / (var + 1e-5).sqrt() * w[i] as f64 + b[i] as f64;
                assert!((orow[i] as f64 - e).abs() < 1e-5, "{} vs {}", orow[i], e);
            }
        }
    }

    #[test]
    fn patch_merge_order_is_vmamba_order() {
        let (h, w, c) = (2, 2, 1);
        // token (row, col) holds 10*row + col
        let x = [0.0, 1.0, 10.0, 11.0];
        let mut out = vec![0.0; 4 * c];
        patch_merge_gather(&x, h, w, c, &mut out);
        assert_eq!(out, vec![0.0, 10.0, 1.0, 11.0]);
    }
}
