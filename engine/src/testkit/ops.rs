//! Each op family behind one interface, so that a test states one expectation and runs it on
//! every backend (engine/tests/gpu_kernels.rs). [`GraphOps`] implements it with graph fragments:
//! the ops the model's graph is made of, run by the same executors that run the model.

use super::{run, Backend};
use crate::graph::weights::{Conv, DwConv, Host, HostScan, Lin, Norm, Weights};
use crate::graph::{Act, Epilogue, Graph, Op, OutLayout};
use crate::kernels::linalg::PackedMatrix;
use crate::kernels::nn::ConvShape;
use crate::kernels::scan::ScanDims;

/// SS2D scan parameters in the engine's layouts (`a_neg` as `[4][N][E]`).
pub struct ScanCase<'a> {
    pub dims: ScanDims,
    pub windows: usize,
    pub a_neg: &'a [f32],
    pub dt_bias: &'a [f32],
    pub d: &'a [f32],
    /// `[windows L, E]`
    pub u: &'a [f32],
    /// `[4][windows L][E]`
    pub delta_raw: &'a [f32],
    /// `[windows L][4 (R + 2N)]`
    pub dbl: &'a [f32],
    /// out_norm's weight and bias `[E]`
    pub norm_w: &'a [f32],
    pub norm_b: &'a [f32],
    /// The gate's input `[windows L, E]`, if the config has one.
    pub z: Option<&'a [f32]>,
}

/// Token-semantic head input: `windows` grids `(h, w, c)`, `fr` stacked windows.
pub struct TscamCase<'a> {
    pub windows: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub fr: usize,
    pub classes: usize,
    /// `[classes, c, h / fr, 3]`
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub x: &'a [f32],
}

pub trait Ops {
    fn name(&self) -> String;
    /// `a[m, k] . w[n, k]^T + bias`, then GELU if asked, added to `acc` if given.
    #[allow(clippy::too_many_arguments)]
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
    ) -> Vec<f32>;
    /// SS2D dt_proj: `delta[z][t, e] = dbl[t, z (R+2N) + 0..R] . w[z][e, :]` for the 4 directions.
    fn dt_proj(
        &self,
        dbl: &[f32],
        tokens: usize,
        r: usize,
        n: usize,
        e: usize,
        w: &[f32],
    ) -> Vec<f32>;
    fn layer_norm(&self, x: &[f32], c: usize, w: &[f32], b: &[f32], in_place: bool) -> Vec<f32>;
    #[allow(clippy::too_many_arguments)]
    fn conv2d(
        &self,
        windows: usize,
        s: &ConvShape,
        x: &[f32],
        h: usize,
        w: usize,
        weight: &[f32],
        bias: Option<&[f32]>,
    ) -> Vec<f32>;
    /// `w9` is the kernel as `[9][c]`.
    #[allow(clippy::too_many_arguments)]
    fn depthwise3x3_silu(
        &self,
        windows: usize,
        x: &[f32],
        h: usize,
        w: usize,
        c: usize,
        w9: &[f32],
        bias: Option<&[f32]>,
    ) -> Vec<f32>;
    fn gelu(&self, x: &[f32]) -> Vec<f32>;
    fn patch_merge(&self, windows: usize, x: &[f32], h: usize, w: usize, c: usize) -> Vec<f32>;
    /// The SS2D core: the scan's sum over the four directions, out_norm, the SiLU(z) gate;
    /// `[windows L, E]`.
    fn ss2d_scan(&self, case: &ScanCase) -> Vec<f32>;
    /// Per window `[clip logits | clip probs | frame logits | frame probs | clip embedding |
    /// frame embeddings]`.
    fn tscam_head(&self, case: &TscamCase) -> Vec<f32>;
    /// Mean over `l` tokens, Linear, sigmoid: per window `[clip logits | clip probs | clip
    /// embedding]`.
    #[allow(clippy::too_many_arguments)]
    fn linear_head(
        &self,
        windows: usize,
        x: &[f32],
        l: usize,
        c: usize,
        w: &[f32],
        b: &[f32],
        classes: usize,
    ) -> Vec<f32>;
}

fn lin(w: &[f32], n: usize, k: usize, bias: Option<&[f32]>) -> Lin<Host> {
    Lin {
        w: PackedMatrix::pack(w, n, k),
        b: bias.map(<[f32]>::to_vec),
        n,
        k,
    }
}

/// The ops of the model's graph on one backend.
pub struct GraphOps {
    pub backend: Backend,
}

impl GraphOps {
    fn run(
        &self,
        ops: Vec<Op>,
        w: &Weights<Host>,
        windows: usize,
        inputs: &[(Act, &[f32])],
        output: Act,
    ) -> Vec<f32> {
        self.run_head(ops, w, windows, inputs, output, OutLayout::default())
    }

    fn run_head(
        &self,
        ops: Vec<Op>,
        w: &Weights<Host>,
        windows: usize,
        inputs: &[(Act, &[f32])],
        output: Act,
        out: OutLayout,
    ) -> Vec<f32> {
        let graph = Graph::new(ops, w, out);
        run(&self.backend, &graph, w, windows, inputs, output)
    }
}

impl Ops for GraphOps {
    fn name(&self) -> String {
        self.backend.name()
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
        let mut wt = Weights::default();
        let id = wt.push_lin(lin(w, n, k, bias));
        let zeros = vec![0.0; m * n];
        let op = Op::Linear {
            lin: id,
            src: Act::Xn,
            dst: Act::X,
            rows: m,
            epilogue: Epilogue {
                accumulate: acc.is_some(),
                gelu,
            },
        };
        let out = acc.unwrap_or(&zeros);
        self.run(vec![op], &wt, 1, &[(Act::Xn, a), (Act::X, out)], Act::X)
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
        let mut wt = Weights::default();
        let dt = wt.push_dt(
            w.chunks_exact(e * r)
                .map(|m| PackedMatrix::pack(m, e, r))
                .collect(),
        );
        let dims = ScanDims {
            h: tokens,
            w: 1,
            e,
            n,
            r,
        };
        let op = Op::DtProj {
            dt,
            dbl: Act::Dbl,
            dst: Act::Delta,
            dims,
        };
        self.run(vec![op], &wt, 1, &[(Act::Dbl, dbl)], Act::Delta)
    }
    fn layer_norm(&self, x: &[f32], c: usize, w: &[f32], b: &[f32], in_place: bool) -> Vec<f32> {
        let mut wt = Weights::default();
        let norm = wt.push_norm(Norm {
            w: w.to_vec(),
            b: b.to_vec(),
        });
        let dst = if in_place { Act::X } else { Act::Xn };
        let op = Op::LayerNorm {
            norm,
            src: Act::X,
            dst,
            rows: x.len() / c,
            c,
        };
        self.run(vec![op], &wt, 1, &[(Act::X, x)], dst)
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
        let mut wt = Weights::default();
        let conv = wt.push_conv(Conv {
            lin: lin(weight, s.cout, s.patch_len(), bias),
            shape: *s,
        });
        let op = Op::Conv {
            conv,
            src: Act::Tmp,
            dst: Act::X,
            h,
            w,
        };
        self.run(vec![op], &wt, windows, &[(Act::Tmp, x)], Act::X)
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
        let mut wt = Weights::default();
        let dw = wt.push_dw(DwConv {
            w9: w9.to_vec(),
            b: bias.map(<[f32]>::to_vec),
        });
        let op = Op::DwConvSilu {
            dw,
            src: Act::Xin,
            dst: Act::U,
            h,
            w,
            channels: c,
        };
        self.run(vec![op], &wt, windows, &[(Act::Xin, x)], Act::U)
    }
    fn gelu(&self, x: &[f32]) -> Vec<f32> {
        let op = Op::Gelu {
            x: Act::Tmp,
            len: x.len(),
        };
        self.run(vec![op], &Weights::default(), 1, &[(Act::Tmp, x)], Act::Tmp)
    }
    fn patch_merge(&self, windows: usize, x: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
        let op = Op::PatchMerge {
            src: Act::X,
            dst: Act::Xn,
            h,
            w,
            c,
        };
        self.run(
            vec![op],
            &Weights::default(),
            windows,
            &[(Act::X, x)],
            Act::Xn,
        )
    }
    fn ss2d_scan(&self, s: &ScanCase) -> Vec<f32> {
        let mut wt = Weights::default();
        let scan = wt.push_scan(HostScan {
            a_neg: s.a_neg.to_vec(),
            dt_bias: s.dt_bias.to_vec(),
            d: s.d.to_vec(),
        });
        let norm = wt.push_norm(Norm {
            w: s.norm_w.to_vec(),
            b: s.norm_b.to_vec(),
        });
        let op = Op::Scan {
            scan,
            norm,
            u: Act::U,
            delta: Act::Delta,
            dbl: Act::Dbl,
            z: s.z.map(|_| Act::Z),
            y: Act::Y,
            dims: s.dims,
        };
        let mut inputs = vec![(Act::U, s.u), (Act::Delta, s.delta_raw), (Act::Dbl, s.dbl)];
        if let Some(z) = s.z {
            inputs.push((Act::Z, z));
        }
        self.run(vec![op], &wt, s.windows, &inputs, Act::Y)
    }
    fn tscam_head(&self, t: &TscamCase) -> Vec<f32> {
        let (hf, steps, m) = (t.h / t.fr, t.w * t.fr, t.classes);
        let mut wt = Weights::default();
        let shape = ConvShape {
            cin: t.c,
            cout: m,
            kh: hf,
            kw: 3,
            stride: 1,
            ph: 0,
            pw: 1,
        };
        let conv = wt.push_conv(Conv {
            lin: lin(t.weight, m, shape.patch_len(), Some(t.bias)),
            shape,
        });
        let out = OutLayout {
            classes: m,
            steps,
            dim: t.c,
        };
        let ops = vec![
            Op::Unstack {
                src: Act::X,
                dst: Act::Tmp,
                h: t.h,
                w: t.w,
                c: t.c,
                hf,
            },
            Op::Embed {
                src: Act::Tmp,
                rows: hf,
                steps,
                c: t.c,
                frames: true,
                at: out.embed_at(),
            },
            Op::Conv {
                conv,
                src: Act::Tmp,
                dst: Act::Logits,
                h: hf,
                w: steps,
            },
            Op::Finish {
                logits: Act::Logits,
                classes: m,
                steps,
            },
        ];
        self.run_head(ops, &wt, t.windows, &[(Act::X, t.x)], Act::Out, out)
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
        let mut wt = Weights::default();
        let head = wt.push_lin(lin(w, classes, c, Some(b)));
        let out = OutLayout {
            classes,
            steps: 0,
            dim: c,
        };
        let ops = vec![
            Op::MeanPool {
                src: Act::X,
                dst: Act::Xn,
                tokens: l,
                c,
            },
            Op::Embed {
                src: Act::Xn,
                rows: 1,
                steps: 1,
                c,
                frames: false,
                at: out.embed_at(),
            },
            Op::Linear {
                lin: head,
                src: Act::Xn,
                dst: Act::Logits,
                rows: 1,
                epilogue: Epilogue::default(),
            },
            Op::Finish {
                logits: Act::Logits,
                classes,
                steps: 0,
            },
        ];
        self.run_head(
            ops,
            &wt,
            windows,
            &[(Act::X, &x[..windows * l * c])],
            Act::Out,
            out,
        )
    }
}
