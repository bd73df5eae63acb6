//! The engine's CPU kernels behind [`Ops`].

use super::{Ops, ScanCase, TscamCase};
use crate::kernels::linalg::{matmul, PackedMatrix};
use crate::kernels::math::{sigmoid, silu};
use crate::kernels::nn::{
    conv2d, depthwise3x3_silu, gelu_inplace, layer_norm, patch_merge_gather, ConvShape,
};
use crate::kernels::par::Par;
use crate::kernels::scan::{ss2d_scan, ScanInputs, ScanParams};

/// The engine's CPU kernels.
pub struct CpuOps {
    pub par: Par,
}

impl Ops for CpuOps {
    fn name(&self) -> String {
        format!("cpu ({} threads)", self.par.threads())
    }
    fn matmul(
        &self,
        a: &[f32],
        m: usize,
        k: usize,
        w: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        gelu: bool,
        acc: Option<&[f32]>,
    ) -> Vec<f32> {
        let packed = PackedMatrix::pack(w, n, k);
        let mut out = vec![0.0; m * n];
        matmul(self.par, a, k, m, &packed, bias, &mut out, false);
        if gelu {
            gelu_inplace(self.par, &mut out);
        }
        if let Some(acc) = acc {
            out.iter_mut().zip(acc).for_each(|(o, a)| *o += a);
        }
        out
    }
    fn dt_proj(
        &self,
        dbl: &[f32],
        tokens: usize,
        r: usize,
        n: usize,
        e: usize,
        w: &[f32],
    ) -> Vec<f32> {
        let row = 4 * (r + 2 * n);
        let mut out = vec![0.0; 4 * tokens * e];
        for z in 0..4 {
            let packed = PackedMatrix::pack(&w[z * e * r..(z + 1) * e * r], e, r);
            let a = &dbl[z * (r + 2 * n)..tokens * row];
            matmul(
                self.par,
                a,
                row,
                tokens,
                &packed,
                None,
                &mut out[z * tokens * e..(z + 1) * tokens * e],
                false,
            );
        }
        out
    }
    fn layer_norm(&self, x: &[f32], c: usize, w: &[f32], b: &[f32], _in_place: bool) -> Vec<f32> {
        let mut out = x.to_vec();
        layer_norm(self.par, &mut out, c, w, b);
        out
    }
    fn merge_ln_gate(
        &self,
        y4: &[f32],
        c: usize,
        z: Option<&[f32]>,
        w: &[f32],
        b: &[f32],
    ) -> Vec<f32> {
        let plane = y4.len() / 4;
        let mut y: Vec<f32> = (0..plane)
            .map(|i| y4[i] + y4[i + plane] + y4[i + 2 * plane] + y4[i + 3 * plane])
            .collect();
        layer_norm(self.par, &mut y, c, w, b);
        if let Some(z) = z {
            y.iter_mut().zip(z).for_each(|(v, &zz)| *v *= silu(zz));
        }
        y
    }
    fn conv2d(
        &self,
        windows: usize,
        s: &ConvShape,
        x: &[f32],
        h: usize,
        w: usize,
        weight: &[f32],
        bias: Option<&[f32]>,
    ) -> Vec<f32> {
        let (oh, ow) = s.out_size(h, w);
        let packed = PackedMatrix::pack(weight, s.cout, s.patch_len());
        let mut cols = vec![0.0; oh * ow * s.patch_len()];
        let mut out = vec![0.0; windows * oh * ow * s.cout];
        for (xi, oi) in x
            .chunks(h * w * s.cin)
            .zip(out.chunks_mut(oh * ow * s.cout))
        {
            conv2d(self.par, s, xi, h, w, &packed, bias, &mut cols, oi);
        }
        out
    }
    fn depthwise3x3_silu(
        &self,
        windows: usize,
        x: &[f32],
        h: usize,
        w: usize,
        c: usize,
        w9: &[f32],
        bias: Option<&[f32]>,
    ) -> Vec<f32> {
        let mut out = vec![0.0; windows * h * w * c];
        for (xi, oi) in x.chunks(h * w * c).zip(out.chunks_mut(h * w * c)) {
            depthwise3x3_silu(self.par, xi, h, w, c, w9, bias, oi);
        }
        out
    }
    fn gelu(&self, x: &[f32]) -> Vec<f32> {
        let mut out = x.to_vec();
        gelu_inplace(self.par, &mut out);
        out
    }
    fn patch_merge(&self, _windows: usize, x: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        for (xi, oi) in x.chunks(h * w * c).zip(out.chunks_mut(h * w * c)) {
            patch_merge_gather(xi, h, w, c, oi);
        }
        out
    }
    fn ss2d_scan(&self, s: &ScanCase) -> Vec<f32> {
        let (l, e) = (s.dims.len(), s.dims.e);
        let row = s.dims.dbl_row();
        let bl = s.windows * l;
        let mut y = vec![0.0; bl * e];
        let mut delta = vec![0.0; 4 * l * e];
        for b in 0..s.windows {
            for z in 0..4 {
                delta[z * l * e..(z + 1) * l * e]
                    .copy_from_slice(&s.delta_raw[z * bl * e + b * l * e..][..l * e]);
            }
            let inputs = ScanInputs {
                u: &s.u[b * l * e..(b + 1) * l * e],
                delta_raw: &delta,
                dbl: &s.dbl[b * l * row..(b + 1) * l * row],
            };
            let params = ScanParams {
                a_neg: s.a_neg,
                dt_bias: s.dt_bias,
                d: s.d,
            };
            ss2d_scan(
                self.par,
                s.dims,
                &params,
                &inputs,
                &mut y[b * l * e..(b + 1) * l * e],
            );
        }
        y
    }
    fn tscam_head(&self, t: &TscamCase) -> Vec<f32> {
        let (hf, steps, c, m) = (t.h / t.fr, t.w * t.fr, t.c, t.classes);
        let mut out = Vec::new();
        for xb in t.x.chunks(t.h * t.w * c) {
            let mut un = vec![0.0; hf * steps * c];
            for wi in 0..t.fr {
                for f in 0..hf {
                    for col in 0..t.w {
                        let src = ((wi * hf + f) * t.w + col) * c;
                        let dst = (f * steps + wi * t.w + col) * c;
                        un[dst..dst + c].copy_from_slice(&xb[src..src + c]);
                    }
                }
            }
            let s = ConvShape {
                cin: c,
                cout: m,
                kh: hf,
                kw: 3,
                stride: 1,
                ph: 0,
                pw: 1,
            };
            let frames = self.conv2d(1, &s, &un, hf, steps, t.weight, Some(t.bias));
            let mut clip = vec![0.0f32; m];
            for row in frames.chunks_exact(m) {
                clip.iter_mut()
                    .zip(row)
                    .for_each(|(o, &v)| *o += v / steps as f32);
            }
            out.extend(clip.iter().copied());
            out.extend(clip.iter().map(|&v| sigmoid(v)));
            out.extend(frames.iter().copied());
            out.extend(frames.iter().map(|&v| sigmoid(v)));
        }
        out
    }
    fn linear_head(
        &self,
        windows: usize,
        x: &[f32],
        l: usize,
        c: usize,
        w: &[f32],
        b: &[f32],
        classes: usize,
    ) -> Vec<f32> {
        let mut out = Vec::new();
        for xb in x.chunks(l * c).take(windows) {
            let mut pooled = vec![0.0f32; c];
            for tok in xb.chunks_exact(c) {
                pooled.iter_mut().zip(tok).for_each(|(p, &v)| *p += v);
            }
            pooled.iter_mut().for_each(|p| *p /= l as f32);
            let logits = self.matmul(&pooled, 1, c, w, classes, Some(b), false, None);
            out.extend(logits.iter().copied());
            out.extend(logits.iter().map(|&v| sigmoid(v)));
        }
        out
    }
}
