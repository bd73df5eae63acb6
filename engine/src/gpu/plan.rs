//! The GPU executor: the model's [`Graph`] mapped op by op to dispatches for a batch of
//! windows. Activations are named ([`Buf`]) rather than allocated: the recording notes each
//! one's largest size, and the session allocates them once.

use super::kernels::{self as k, Bind, Dispatch, Epilogue, Norm, Operand, ScanIo, ScanShape};
use super::weights::Device;
use super::weights::GpuWeights;
use crate::graph::weights::{Lin, NormId};
use crate::graph::{Act, Graph, Op};
use std::collections::HashMap;

/// A session's buffers, each holding every window of a batch back to back: the graph's
/// activations and the GPU kernels' own scratch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Buf {
    Act(Act),
    /// The scan's per-chunk state summaries.
    Summ,
    /// The scan's four directions before they are merged.
    Y4,
    /// Split-k partial sums (see `kernels::linear`).
    Partial,
}

pub(crate) struct Recording {
    pub dispatches: Vec<Dispatch<Buf>>,
    /// Floats each buffer needs.
    pub needs: HashMap<Buf, usize>,
}

struct Rec<'a> {
    b: usize,
    graph: &'a Graph,
    w: &'a GpuWeights,
    ds: Vec<Dispatch<Buf>>,
    needs: HashMap<Buf, usize>,
}

fn buf(w: &wgpu::Buffer) -> Bind<Buf> {
    Bind::Buf(w.clone())
}

impl Rec<'_> {
    fn buf(&mut self, a: Buf, floats: usize) -> Bind<Buf> {
        let e = self.needs.entry(a).or_insert(0);
        *e = (*e).max(floats);
        Bind::Act(a)
    }

    /// Graph activation `a`, sized as the graph says for every window of the batch.
    fn act(&mut self, a: Act) -> Bind<Buf> {
        self.buf(Buf::Act(a), self.b * self.graph.needs(a))
    }

    fn norm(&self, n: NormId) -> Norm<Buf> {
        let n = &self.w[n];
        Norm {
            w: buf(&n.w),
            b: buf(&n.b),
        }
    }

    /// `dst[rows, n] (+)= src[rows, k] . W^T + b` over every window's rows (`rows` in all).
    fn linear(&mut self, l: &Lin<Device>, rows: usize, src: Act, dst: Act, epi: Epilogue) {
        let a = self.act(src);
        let o = self.act(dst);
        let mut partial = 0;
        let ds = k::linear(
            (rows, l.n, l.k),
            Operand::dense(a, l.k),
            Operand::dense(buf(&l.w), l.k),
            l.b.as_ref().map(buf),
            Operand::dense(o, l.n),
            epi,
            |floats| {
                partial = floats;
                Bind::Act(Buf::Partial)
            },
        );
        if partial > 0 {
            self.buf(Buf::Partial, partial);
        }
        self.ds.extend(ds);
    }

    fn op(&mut self, op: &Op) {
        let b = self.b;
        let w = self.w;
        match *op {
            Op::Conv {
                conv,
                src,
                dst,
                h,
                w: wd,
            } => {
                let c = &w[conv];
                let s = &c.shape;
                let (oh, ow) = s.out_size(h, wd);
                let from = self.act(src);
                let cols = self.act(Act::Cols);
                self.ds.push(k::im2col(b, h, wd, s, from, cols));
                self.linear(&c.lin, b * oh * ow, Act::Cols, dst, Epilogue::default());
            }
            Op::LayerNorm {
                norm,
                src,
                dst,
                rows,
                c,
            } => {
                let n = self.norm(norm);
                let x = self.act(src);
                if src == dst {
                    self.ds.push(k::ln_inplace(b * rows, c, x, n));
                } else {
                    let y = self.act(dst);
                    self.ds.push(k::ln_copy(b * rows, c, x, y, n));
                }
            }
            Op::Gelu { x, len } => {
                let x = self.act(x);
                self.ds.push(k::gelu(b * len, x));
            }
            Op::Linear {
                lin,
                src,
                dst,
                rows,
                epilogue,
            } => {
                self.linear(&w[lin], b * rows, src, dst, epilogue);
            }
            Op::DwConvSilu {
                dw,
                src,
                dst,
                h,
                w: wd,
                channels,
            } => {
                let d = &w[dw];
                let x = self.act(src);
                let u = self.act(dst);
                self.ds.push(k::dwconv_silu(
                    b,
                    h,
                    wd,
                    channels,
                    x,
                    buf(&d.w9),
                    d.b.as_ref().map(buf),
                    u,
                ));
            }
            Op::DtProj { dt, dbl, dst, dims } => {
                // the four directions in one dispatch: direction z reads the first R columns
                // of its (R + 2N) slice of each dbl row and writes its own plane of delta
                let (l, e, r, n) = (dims.len(), dims.e, dims.r, dims.n);
                let (bl, row) = (b * l, dims.dbl_row());
                let dbl = self.act(dbl);
                let delta = self.act(dst);
                self.ds.push(k::matmul(
                    (bl, e, r),
                    Operand {
                        buf: dbl,
                        rs: row,
                        off: 0,
                        z: r + 2 * n,
                    },
                    Operand {
                        buf: buf(w.dt(dt)),
                        rs: r,
                        off: 0,
                        z: e * r,
                    },
                    None,
                    Operand {
                        buf: delta,
                        rs: e,
                        off: 0,
                        z: bl * e,
                    },
                    4,
                    Epilogue::default(),
                ));
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
                let shape = ScanShape {
                    windows: b,
                    h: dims.h,
                    w: dims.w,
                    e,
                    n: dims.n,
                    r: dims.r,
                };
                let io = ScanIo {
                    u: self.act(u),
                    delta: self.act(delta),
                    dbl: self.act(dbl),
                    params: buf(w.scan(scan)),
                };
                let summ = self.buf(Buf::Summ, shape.summary_len());
                let y4 = self.buf(Buf::Y4, 4 * b * l * e);
                self.ds.extend(k::scan(shape, io, summ, y4.clone()));
                let z = z.map(|z| self.act(z));
                let y = self.act(y);
                let n = self.norm(norm);
                self.ds
                    .push(k::merge_ln_gate(b * l, e, b * l * e, y4, z, y, n));
            }
            Op::PatchMerge {
                src,
                dst,
                h,
                w: wd,
                c,
            } => {
                let x = self.act(src);
                let y = self.act(dst);
                self.ds.push(k::patch_merge(b, h, wd, c, x, y));
            }
            Op::Unstack {
                src,
                dst,
                h,
                w: wd,
                c,
                hf,
            } => {
                let x = self.act(src);
                let t = self.act(dst);
                self.ds.push(k::unstack(b, h, wd, c, hf, x, t));
            }
            Op::Embed {
                src,
                rows,
                steps,
                c,
                frames,
                at,
            } => {
                let x = self.act(src);
                let out = self.act(Act::Out);
                let stride = self.graph.needs(Act::Out);
                let shape = k::EmbedShape {
                    rows,
                    steps,
                    c,
                    frames,
                    at,
                    stride,
                };
                self.ds.push(k::embed(b, shape, x, out));
            }
            Op::MeanPool {
                src,
                dst,
                tokens,
                c,
            } => {
                let x = self.act(src);
                let pooled = self.act(dst);
                self.ds.push(k::mean_pool(b, tokens, c, x, pooled));
            }
            Op::Finish {
                logits,
                classes,
                steps,
            } => {
                let logits = self.act(logits);
                let out = self.act(Act::Out);
                let stride = self.graph.needs(Act::Out);
                self.ds
                    .push(k::head_finish(b, classes, steps, stride, logits, out));
            }
            // no taps on the device: golden tests observe them on the CPU
            Op::Tap { .. } => {}
        }
    }
}

/// The recording at full `capacity`, with the floats each buffer needs over every batch size
/// up to it: a session allocates once and then runs any of them. Not monotonic in the batch
/// size: a small batch splits k where a large one does not, so its split-k partials can be the
/// largest.
pub(crate) fn record_up_to(
    graph: &Graph,
    w: &GpuWeights,
    capacity: usize,
) -> (Recording, HashMap<Buf, usize>) {
    let full = record(graph, w, capacity.max(1));
    let mut needs = full.needs.clone();
    for n in 1..capacity {
        for (a, f) in record(graph, w, n).needs {
            let e = needs.entry(a).or_insert(0);
            *e = (*e).max(f);
        }
    }
    (full, needs)
}

/// Records the graph for `windows` windows; the images go in `Act::Image`, the outputs come
/// out of `Act::Out`.
pub(crate) fn record(graph: &Graph, w: &GpuWeights, windows: usize) -> Recording {
    let mut r = Rec {
        b: windows,
        graph,
        w,
        ds: Vec::new(),
        needs: HashMap::new(),
    };
    r.act(Act::Image);
    for op in &graph.ops {
        r.op(op);
    }
    Recording {
        dispatches: r.ds,
        needs: r.needs,
    }
}
