//! The forward pass as a list of dispatches for a given number of windows, mirroring
//! `model/forward.rs` op for op. Activations are named ([`Act`]) rather than allocated: the
//! recording notes each one's largest size, and the session allocates them once.

use super::kernels::{self as k, Bind, Dispatch, Epilogue, Norm, Operand, ScanIo, ScanShape};
use super::weights::{BlockG, ConvG, DownG, EmbedG, GpuWeights, HeadG, LinG, LnG};
use crate::config::{ModelConfig, StageGeometry};
use std::collections::HashMap;

/// Activation buffers of a session, each holding every window of a batch back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Act {
    Image,
    X,
    Xn,
    Tmp,
    Cols,
    Xin,
    Z,
    U,
    Dbl,
    Delta,
    Summ,
    Y4,
    Y,
    Hidden,
    Logits,
    /// Split-k partial sums (see `kernels::linear`).
    Partial,
    /// Per window `[clip logits | clip probs | frame logits | frame probs]`: all that is read back.
    Out,
}

pub(crate) struct Recording {
    pub dispatches: Vec<Dispatch<Act>>,
    /// Floats each activation needs.
    pub needs: HashMap<Act, usize>,
}

struct Rec {
    b: usize,
    ds: Vec<Dispatch<Act>>,
    needs: HashMap<Act, usize>,
}

fn buf(w: &wgpu::Buffer) -> Bind<Act> {
    Bind::Buf(w.clone())
}

fn norm(n: &LnG) -> Norm<Act> {
    Norm {
        w: buf(&n.w),
        b: buf(&n.b),
    }
}

impl Rec {
    fn act(&mut self, a: Act, floats: usize) -> Bind<Act> {
        let e = self.needs.entry(a).or_insert(0);
        *e = (*e).max(floats);
        Bind::Act(a)
    }

    /// `dst[rows, n] (+)= src[rows, k] . W^T + b` for every window's rows.
    fn linear(&mut self, l: &LinG, rows: usize, src: Act, dst: Act, epi: Epilogue) {
        let a = self.act(src, rows * l.k);
        let o = self.act(dst, rows * l.n);
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
                Bind::Act(Act::Partial)
            },
        );
        if partial > 0 {
            self.act(Act::Partial, partial);
        }
        self.ds.extend(ds);
    }

    /// Dense convolution of every window's `(h, w, cin)` image in `src` into `dst`.
    fn conv(&mut self, c: &ConvG, src: Act, h: usize, w: usize, dst: Act) -> (usize, usize) {
        let s = &c.shape;
        let (oh, ow) = s.out_size(h, w);
        let (b, rows) = (self.b, self.b * oh * ow);
        let from = self.act(src, b * h * w * s.cin);
        let cols = self.act(Act::Cols, rows * s.patch_len());
        self.ds.push(k::im2col(b, h, w, s, from, cols));
        self.linear(&c.lin, rows, Act::Cols, dst, Epilogue::default());
        (oh, ow)
    }

    fn ln_inplace(&mut self, x: Act, rows: usize, c: usize, n: &LnG) {
        let x = self.act(x, rows * c);
        self.ds.push(k::ln_inplace(rows, c, x, norm(n)));
    }

    fn block(&mut self, blk: &BlockG, g: &StageGeometry, n: usize) {
        let (l, c, e, r) = (g.height * g.width, g.dim, g.inner, g.dt_rank);
        let bl = self.b * l;
        let row = 4 * (r + 2 * n);
        let x = self.act(Act::X, bl * c);
        let xn = self.act(Act::Xn, bl * c);
        self.ds.push(k::ln_copy(bl, c, x, xn, norm(&blk.norm)));
        let op = &blk.op;
        self.linear(&op.in_x, bl, Act::Xn, Act::Xin, Epilogue::default());
        if let Some(in_z) = &op.in_z {
            self.linear(in_z, bl, Act::Xn, Act::Z, Epilogue::default());
        }
        let xin = self.act(Act::Xin, bl * e);
        let u = self.act(Act::U, bl * e);
        self.ds.push(k::dwconv_silu(
            self.b,
            g.height,
            g.width,
            e,
            xin,
            buf(&op.conv_w9),
            op.conv_b.as_ref().map(buf),
            u.clone(),
        ));
        self.linear(&op.x_proj, bl, Act::U, Act::Dbl, Epilogue::default());
        // dt_proj of the four directions in one dispatch: direction z reads the first R columns
        // of its (R + 2N) slice of each dbl row and writes its own plane of delta.
        let dbl = self.act(Act::Dbl, bl * row);
        let delta = self.act(Act::Delta, 4 * bl * e);
        self.ds.push(k::matmul(
            (bl, e, r),
            Operand {
                buf: dbl.clone(),
                rs: row,
                off: 0,
                z: r + 2 * n,
            },
            Operand {
                buf: buf(&op.dt_proj),
                rs: r,
                off: 0,
                z: e * r,
            },
            None,
            Operand {
                buf: delta.clone(),
                rs: e,
                off: 0,
                z: bl * e,
            },
            4,
            Epilogue::default(),
        ));
        let shape = ScanShape {
            windows: self.b,
            h: g.height,
            w: g.width,
            e,
            n,
            r,
        };
        let summ = self.act(Act::Summ, shape.summary_len());
        let y4 = self.act(Act::Y4, 4 * bl * e);
        let io = ScanIo {
            u,
            delta,
            dbl,
            params: buf(&op.scan),
        };
        self.ds.extend(k::scan(shape, io, summ, y4.clone()));
        let z = op.in_z.as_ref().map(|_| Bind::Act(Act::Z));
        let y = self.act(Act::Y, bl * e);
        self.ds.push(k::merge_ln_gate(
            bl,
            e,
            bl * e,
            y4,
            z,
            y,
            norm(&op.out_norm),
        ));
        let acc = Epilogue {
            accumulate: true,
            gelu: false,
        };
        self.linear(&op.out_proj, bl, Act::Y, Act::X, acc);
        if let Some(mlp) = &blk.mlp {
            let x = self.act(Act::X, bl * c);
            let xn = self.act(Act::Xn, bl * c);
            self.ds.push(k::ln_copy(bl, c, x, xn, norm(&mlp.norm)));
            let gelu = Epilogue {
                accumulate: false,
                gelu: true,
            };
            self.linear(&mlp.fc1, bl, Act::Xn, Act::Hidden, gelu);
            self.linear(&mlp.fc2, bl, Act::Hidden, Act::X, acc);
        }
    }
}

/// The recording at full `capacity`, with the floats each activation needs over every batch
/// size up to it: a session allocates once and then runs any of them. Not monotonic in the
/// batch size: a small batch splits k where a large one does not, so its split-k partials can
/// be the largest.
pub(crate) fn record_up_to(
    cfg: &ModelConfig,
    w: &GpuWeights,
    capacity: usize,
) -> (Recording, HashMap<Act, usize>) {
    let full = record(cfg, w, capacity.max(1));
    let mut needs = full.needs.clone();
    for n in 1..capacity {
        for (a, f) in record(cfg, w, n).needs {
            let e = needs.entry(a).or_insert(0);
            *e = (*e).max(f);
        }
    }
    (full, needs)
}

/// Records the forward pass of `windows` windows; the image goes in `Act::Image`, the outputs
/// come out of `Act::Out`.
pub(crate) fn record(cfg: &ModelConfig, w: &GpuWeights, windows: usize) -> Recording {
    let mut r = Rec {
        b: windows,
        ds: Vec::new(),
        needs: HashMap::new(),
    };
    let b = windows;
    let (rows, cols) = cfg.image_size();
    r.act(Act::Image, b * rows * cols);
    let c0 = cfg.backbone.dims;
    let (mut h, mut wd) = match &w.embed {
        EmbedG::V1 { conv, norm } => {
            let (h, wd) = r.conv(conv, Act::Image, rows, cols, Act::X);
            r.ln_inplace(Act::X, b * h * wd, c0, norm);
            (h, wd)
        }
        EmbedG::V2 {
            conv1,
            norm1,
            conv2,
            norm2,
        } => {
            let (h1, w1) = r.conv(conv1, Act::Image, rows, cols, Act::Tmp);
            r.ln_inplace(Act::Tmp, b * h1 * w1, c0 / 2, norm1);
            let t = r.act(Act::Tmp, b * h1 * w1 * (c0 / 2));
            r.ds.push(k::gelu(b * h1 * w1 * (c0 / 2), t));
            let (h, wd) = r.conv(conv2, Act::Tmp, h1, w1, Act::X);
            r.ln_inplace(Act::X, b * h * wd, c0, norm2);
            (h, wd)
        }
    };
    let mut c = c0;
    for stage in &w.stages {
        for blk in &stage.blocks {
            r.block(blk, &stage.geom, cfg.backbone.d_state);
        }
        match &stage.down {
            None => {}
            Some(DownG::Merge { norm, reduction }) => {
                let x = r.act(Act::X, b * h * wd * c);
                let xn = r.act(Act::Xn, b * h * wd * c);
                r.ds.push(k::patch_merge(b, h, wd, c, x, xn));
                let l = (h / 2) * (wd / 2);
                r.ln_inplace(Act::Xn, b * l, 4 * c, norm);
                r.linear(reduction, b * l, Act::Xn, Act::X, Epilogue::default());
                (h, wd, c) = (h / 2, wd / 2, 2 * c);
            }
            Some(DownG::Conv { conv, norm }) => {
                // im2col copies X out before the product overwrites it.
                let (oh, ow) = r.conv(conv, Act::X, h, wd, Act::X);
                (h, wd, c) = (oh, ow, 2 * c);
                r.ln_inplace(Act::X, b * h * wd, c, norm);
            }
        }
    }
    let m = cfg.num_classes();
    let l = h * wd;
    let steps = match &w.head {
        HeadG::Tscam { norm, conv } => {
            r.ln_inplace(Act::X, b * l, c, norm);
            let fr = cfg.freq_ratio();
            let (hf, steps) = (h / fr, wd * fr);
            let x = r.act(Act::X, b * l * c);
            let t = r.act(Act::Tmp, b * l * c);
            r.ds.push(k::unstack(b, h, wd, c, hf, x, t));
            r.conv(conv, Act::Tmp, hf, steps, Act::Logits);
            steps
        }
        HeadG::Linear { norm, head } => {
            r.ln_inplace(Act::X, b * l, c, norm);
            let x = r.act(Act::X, b * l * c);
            let pooled = r.act(Act::Xn, b * c);
            r.ds.push(k::mean_pool(b, l, c, x, pooled));
            r.linear(head, b, Act::Xn, Act::Logits, Epilogue::default());
            0
        }
    };
    let logits = r.act(Act::Logits, b * m * steps.max(1));
    let out = r.act(Act::Out, b * out_len(m, steps));
    r.ds.push(k::head_finish(b, m, steps, logits, out));
    Recording {
        dispatches: r.ds,
        needs: r.needs,
    }
}

/// Floats of one window's output block.
pub(crate) fn out_len(classes: usize, steps: usize) -> usize {
    2 * classes + 2 * steps * classes
}
