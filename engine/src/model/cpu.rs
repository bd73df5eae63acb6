//! The CPU executor: runs a [`Graph`] on one window with the CPU kernels. Every activation is
//! allocated once at the size the graph says it needs, so a run allocates nothing.

use crate::graph::weights::{Host, Weights};
use crate::graph::{Act, Graph, Op, Tap};
use crate::kernels::linalg::matmul;
use crate::kernels::math::{sigmoid, silu};
use crate::kernels::nn::{
    conv2d, depthwise3x3_silu, gelu_inplace, layer_norm, layer_norm_into, patch_merge_gather,
};
use crate::kernels::par::Par;
use crate::kernels::scan::{ss2d_scan, ScanInputs, ScanParams};

pub(crate) type TapFn<'a> = Option<&'a mut (dyn FnMut(Tap, &[f32]) + Send)>;

/// One window's activations.
pub(crate) struct Acts {
    bufs: [Vec<f32>; Act::COUNT],
}

impl Acts {
    pub fn new(graph: &Graph) -> Self {
        Self {
            bufs: Act::ALL.map(|a| vec![0.0; graph.needs(a)]),
        }
    }

    pub fn get(&self, a: Act) -> &[f32] {
        &self.bufs[a as usize]
    }

    pub fn get_mut(&mut self, a: Act) -> &mut [f32] {
        &mut self.bufs[a as usize]
    }

    /// `a`'s buffer, moved out so that other activations can be read beside it (no allocation:
    /// an empty Vec stays in its place until [`Acts::put`]).
    fn take(&mut self, a: Act) -> Vec<f32> {
        std::mem::take(&mut self.bufs[a as usize])
    }

    fn put(&mut self, a: Act, v: Vec<f32>) {
        self.bufs[a as usize] = v;
    }
}

/// Runs `graph` on the image in `Act::Image`; the outputs land in `Act::Out`.
pub(crate) fn execute(
    graph: &Graph,
    wt: &Weights<Host>,
    par: Par,
    acts: &mut Acts,
    tap: &mut TapFn,
) {
    for op in &graph.ops {
        run_op(op, wt, par, acts, tap);
    }
}

fn run_op(op: &Op, wt: &Weights<Host>, par: Par, acts: &mut Acts, tap: &mut TapFn) {
    match *op {
        Op::Conv {
            conv,
            src,
            dst,
            h,
            w,
        } => {
            let c = &wt[conv];
            let (oh, ow) = c.shape.out_size(h, w);
            let (mut out, mut cols) = (acts.take(dst), acts.take(Act::Cols));
            let input = &acts.get(src)[..h * w * c.shape.cin];
            conv2d(
                par,
                &c.shape,
                input,
                h,
                w,
                &c.lin.w,
                c.lin.b.as_deref(),
                &mut cols,
                &mut out[..oh * ow * c.shape.cout],
            );
            acts.put(Act::Cols, cols);
            acts.put(dst, out);
        }
        Op::LayerNorm {
            norm,
            src,
            dst,
            rows,
            c,
        } => {
            let n = &wt[norm];
            if src == dst {
                layer_norm(par, &mut acts.get_mut(dst)[..rows * c], c, &n.w, &n.b);
            } else {
                let mut out = acts.take(dst);
                let x = &acts.get(src)[..rows * c];
                layer_norm_into(par, x, &mut out[..rows * c], c, &n.w, &n.b);
                acts.put(dst, out);
            }
        }
        Op::Gelu { x, len } => gelu_inplace(par, &mut acts.get_mut(x)[..len]),
        Op::Linear {
            lin,
            src,
            dst,
            rows,
            epilogue,
        } => {
            let l = &wt[lin];
            let mut out = acts.take(dst);
            let out_rows = &mut out[..rows * l.n];
            let a = &acts.get(src)[..rows * l.k];
            matmul(
                par,
                a,
                l.k,
                rows,
                &l.w,
                l.b.as_deref(),
                out_rows,
                epilogue.accumulate,
            );
            if epilogue.gelu {
                gelu_inplace(par, out_rows);
            }
            acts.put(dst, out);
        }
        Op::DwConvSilu {
            dw,
            src,
            dst,
            h,
            w,
            channels,
        } => {
            let d = &wt[dw];
            let mut out = acts.take(dst);
            let x = &acts.get(src)[..h * w * channels];
            depthwise3x3_silu(par, x, h, w, channels, &d.w9, d.b.as_deref(), &mut out);
            acts.put(dst, out);
        }
        Op::DtProj { dt, dbl, dst, dims } => {
            let (l, e, row) = (dims.len(), dims.e, dims.dbl_row());
            let mut delta = acts.take(dst);
            let dbl = acts.get(dbl);
            for (k, m) in wt.dt(dt).iter().enumerate() {
                // direction k's dt: the first R columns of its (R + 2N) slice of each row
                let a = &dbl[k * (dims.r + 2 * dims.n)..l * row];
                let out = &mut delta[k * l * e..(k + 1) * l * e];
                matmul(par, a, row, l, m, None, out, false);
            }
            acts.put(dst, delta);
        }
        Op::Scan {
            scan,
            norm,
            u,
            delta,
            dbl,
            z,
            y,
            dims,
        } => {
            let (l, e) = (dims.len(), dims.e);
            let p = wt.scan(scan);
            let params = ScanParams {
                a_neg: &p.a_neg,
                dt_bias: &p.dt_bias,
                d: &p.d,
            };
            let mut out = acts.take(y);
            let yv = &mut out[..l * e];
            let inputs = ScanInputs {
                u: &acts.get(u)[..l * e],
                delta_raw: &acts.get(delta)[..4 * l * e],
                dbl: &acts.get(dbl)[..l * dims.dbl_row()],
            };
            ss2d_scan(par, dims, &params, &inputs, yv);
            let n = &wt[norm];
            layer_norm(par, yv, e, &n.w, &n.b);
            if let Some(z) = z {
                let z = &acts.get(z)[..l * e];
                par.for_chunks(yv, e * 64, |i, chunk| {
                    for (v, &zz) in chunk.iter_mut().zip(&z[i * e * 64..]) {
                        *v *= silu(zz);
                    }
                });
            }
            acts.put(y, out);
        }
        Op::PatchMerge { src, dst, h, w, c } => {
            let mut out = acts.take(dst);
            patch_merge_gather(&acts.get(src)[..h * w * c], h, w, c, &mut out);
            acts.put(dst, out);
        }
        Op::Unstack {
            src,
            dst,
            h,
            w,
            c,
            hf,
        } => {
            let fr = h / hf;
            let steps = w * fr;
            let mut t = acts.take(dst);
            let x = acts.get(src);
            for wi in 0..fr {
                for f in 0..hf {
                    for col in 0..w {
                        let s = ((wi * hf + f) * w + col) * c;
                        let d = (f * steps + wi * w + col) * c;
                        t[d..d + c].copy_from_slice(&x[s..s + c]);
                    }
                }
            }
            acts.put(dst, t);
        }
        Op::Embed {
            src,
            rows,
            steps,
            c,
            frames,
            at,
        } => {
            let mut out = acts.take(Act::Out);
            let x = &acts.get(src)[..rows * steps * c];
            let (clip, frame) = out[at..].split_at_mut(c);
            // channel-major so a frame needs no scratch; the GPU kernel sums in the same order
            for (ch, clip_ch) in clip.iter_mut().enumerate() {
                let mut sum = 0.0;
                for t in 0..steps {
                    let mut s = 0.0f32;
                    for r in 0..rows {
                        s += x[(r * steps + t) * c + ch];
                    }
                    let mean = s / rows as f32;
                    if frames {
                        frame[t * c + ch] = mean;
                    }
                    sum += mean / steps as f32;
                }
                *clip_ch = sum;
            }
            acts.put(Act::Out, out);
        }
        Op::MeanPool {
            src,
            dst,
            tokens,
            c,
        } => {
            let mut pooled = acts.take(dst);
            let pooled_c = &mut pooled[..c];
            pooled_c.fill(0.0);
            for tok in acts.get(src)[..tokens * c].chunks_exact(c) {
                for (p, &v) in pooled_c.iter_mut().zip(tok) {
                    *p += v;
                }
            }
            pooled_c.iter_mut().for_each(|p| *p /= tokens as f32);
            acts.put(dst, pooled);
        }
        Op::Finish {
            logits,
            classes: m,
            steps,
        } => {
            let mut out = acts.take(Act::Out);
            let (clip, frames) = out.split_at_mut(2 * m);
            let (clip_logits, clip_probs) = clip.split_at_mut(m);
            let src = acts.get(logits);
            if steps == 0 {
                clip_logits.copy_from_slice(&src[..m]);
            } else {
                // the clip's logits are the mean of the frames'
                clip_logits.fill(0.0);
                for row in src[..steps * m].chunks_exact(m) {
                    for (o, &v) in clip_logits.iter_mut().zip(row) {
                        *o += v / steps as f32;
                    }
                }
                let (frame_logits, frame_probs) = frames[..2 * steps * m].split_at_mut(steps * m);
                frame_logits.copy_from_slice(&src[..steps * m]);
                for (p, &l) in frame_probs.iter_mut().zip(frame_logits.iter()) {
                    *p = sigmoid(l);
                }
            }
            for (p, &l) in clip_probs.iter_mut().zip(clip_logits.iter()) {
                *p = sigmoid(l);
            }
            acts.put(Act::Out, out);
        }
        Op::Tap { tap: t, act, len } => {
            if let Some(f) = tap.as_mut() {
                f(t, &acts.get(act)[..len]);
            }
        }
    }
}
