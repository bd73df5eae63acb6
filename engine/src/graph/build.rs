//! The graph builder: walks the config once, taking each layer's tensors by their VMamba
//! state-dict names (docs/weights.md) into the host weight tree, rearranged once into the CPU
//! kernels' layouts, and emitting the ops that use them. The order of `take` calls is the
//! order a synthetic (random) model draws its values in, so it stays as it is.

use super::weights::{Conv, DwConv, Host, HostScan, Lin, Norm, Weights};
use super::weights::{ConvId, LinId, NormId};
use super::{Act, Epilogue, Graph, Op, OutLayout, Tap};
use crate::config::{Downsample, Gate, HeadConfig, ModelConfig, PatchEmbed, StageGeometry};
use crate::error::Result;
use crate::kernels::linalg::PackedMatrix;
use crate::kernels::nn::ConvShape;
use crate::kernels::scan::ScanDims;
use crate::weights::TensorStore;

struct Builder<'a> {
    t: &'a mut TensorStore,
    w: Weights<Host>,
    ops: Vec<Op>,
}

fn conv3x3s2(cin: usize, cout: usize) -> ConvShape {
    ConvShape {
        cin,
        cout,
        kh: 3,
        kw: 3,
        stride: 2,
        ph: 1,
        pw: 1,
    }
}

impl Builder<'_> {
    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    fn norm(&mut self, prefix: &str, c: usize) -> Result<NormId> {
        let n = Norm {
            w: self.t.take(&format!("{prefix}.weight"), &[c])?,
            b: self.t.take(&format!("{prefix}.bias"), &[c])?,
        };
        Ok(self.w.push_norm(n))
    }

    fn bias(&mut self, prefix: &str, n: usize, bias: bool) -> Result<Option<Vec<f32>>> {
        bias.then(|| self.t.take(&format!("{prefix}.bias"), &[n]))
            .transpose()
    }

    /// A PyTorch Linear (weight `[out, in]`), packed for the CPU matmul.
    fn lin(&mut self, prefix: &str, out: usize, inp: usize, bias: bool) -> Result<LinId> {
        let w = self.t.take(&format!("{prefix}.weight"), &[out, inp])?;
        let l = Lin {
            w: PackedMatrix::pack(&w, out, inp),
            b: self.bias(prefix, out, bias)?,
            n: out,
            k: inp,
        };
        Ok(self.w.push_lin(l))
    }

    fn conv_w(&mut self, prefix: &str, s: ConvShape, bias: bool) -> Result<ConvId> {
        let w = self
            .t
            .take(&format!("{prefix}.weight"), &[s.cout, s.cin, s.kh, s.kw])?;
        let lin = Lin {
            w: PackedMatrix::pack(&w, s.cout, s.patch_len()),
            b: self.bias(prefix, s.cout, bias)?,
            n: s.cout,
            k: s.patch_len(),
        };
        Ok(self.w.push_conv(Conv { lin, shape: s }))
    }

    // ---- ops ----

    fn conv(&mut self, id: ConvId, src: Act, h: usize, w: usize, dst: Act) -> (usize, usize) {
        let s = self.w[id].shape;
        let (oh, ow) = s.out_size(h, w);
        self.push(Op::Conv {
            conv: id,
            src,
            dst,
            h,
            w,
        });
        (oh, ow)
    }

    fn ln(&mut self, norm: NormId, src: Act, dst: Act, rows: usize, c: usize) {
        self.push(Op::LayerNorm {
            norm,
            src,
            dst,
            rows,
            c,
        });
    }

    fn linear(&mut self, lin: LinId, src: Act, dst: Act, rows: usize, epilogue: Epilogue) {
        self.push(Op::Linear {
            lin,
            src,
            dst,
            rows,
            epilogue,
        });
    }

    fn tap(&mut self, tap: Tap, act: Act, len: usize) {
        self.push(Op::Tap { tap, act, len });
    }

    // ---- layers ----

    fn patch_embed(&mut self, cfg: &ModelConfig) -> Result<(usize, usize)> {
        let (rows, cols) = cfg.image_size();
        let b = &cfg.backbone;
        let c = b.dims;
        let (h, w) = match b.patch_embed {
            PatchEmbed::V1 => {
                let p = b.patch_size;
                let s = ConvShape {
                    cin: 1,
                    cout: c,
                    kh: p,
                    kw: p,
                    stride: p,
                    ph: 0,
                    pw: 0,
                };
                let conv = self.conv_w("patch_embed.0", s, true)?;
                let norm = self.norm("patch_embed.2", c)?;
                let (h, w) = self.conv(conv, Act::Image, rows, cols, Act::X);
                self.ln(norm, Act::X, Act::X, h * w, c);
                (h, w)
            }
            PatchEmbed::V2 => {
                let half = c / 2;
                let conv1 = self.conv_w("patch_embed.0", conv3x3s2(1, half), true)?;
                let norm1 = self.norm("patch_embed.2", half)?;
                let conv2 = self.conv_w("patch_embed.5", conv3x3s2(half, c), true)?;
                let norm2 = self.norm("patch_embed.7", c)?;
                let (h1, w1) = self.conv(conv1, Act::Image, rows, cols, Act::Tmp);
                self.ln(norm1, Act::Tmp, Act::Tmp, h1 * w1, half);
                self.push(Op::Gelu {
                    x: Act::Tmp,
                    len: h1 * w1 * half,
                });
                let (h, w) = self.conv(conv2, Act::Tmp, h1, w1, Act::X);
                self.ln(norm2, Act::X, Act::X, h * w, c);
                (h, w)
            }
        };
        self.tap(Tap::PatchEmbed, Act::X, h * w * c);
        Ok((h, w))
    }

    /// One VSS block: `x += out_proj(SS2D(LN(x)))`, then `x += fc2(GELU(fc1(LN(x))))`.
    fn block(&mut self, cfg: &ModelConfig, p: &str, g: &StageGeometry) -> Result<()> {
        let b = &cfg.backbone;
        let (l, c, e, r, n) = (g.height * g.width, g.dim, g.inner, g.dt_rank, b.d_state);
        let norm = self.norm(&format!("{p}.norm"), c)?;
        // SS2D weights, `in_proj` split into its x and z halves
        let q = format!("{p}.op");
        let (in_x, in_z) = match b.gate {
            Gate::Z => {
                let w = self.t.take(&format!("{q}.in_proj.weight"), &[2 * e, c])?;
                let (x, z) = w.split_at(e * c);
                let mut half = |w: &[f32]| {
                    self.w.push_lin(Lin {
                        w: PackedMatrix::pack(w, e, c),
                        b: None,
                        n: e,
                        k: c,
                    })
                };
                let x = half(x);
                (x, Some(half(z)))
            }
            Gate::None => (self.lin(&format!("{q}.in_proj"), e, c, false)?, None),
        };
        let conv = self.t.take(&format!("{q}.conv2d.weight"), &[e, 1, 3, 3])?;
        let mut w9 = vec![0.0; 9 * e];
        for ch in 0..e {
            for k in 0..9 {
                w9[k * e + ch] = conv[ch * 9 + k];
            }
        }
        let dw_b = self.bias(&format!("{q}.conv2d"), e, b.conv_bias)?;
        let dw = self.w.push_dw(DwConv { w9, b: dw_b });
        // the four directions' x_proj stacked: `[4 (R + 2N), E]`
        let x_proj = self
            .t
            .take(&format!("{q}.x_proj_weight"), &[4, r + 2 * n, e])?;
        let x_proj = self.w.push_lin(Lin {
            w: PackedMatrix::pack(&x_proj, 4 * (r + 2 * n), e),
            b: None,
            n: 4 * (r + 2 * n),
            k: e,
        });
        let dt = self.t.take(&format!("{q}.dt_projs_weight"), &[4, e, r])?;
        let dt = self.w.push_dt(
            dt.chunks_exact(e * r)
                .map(|w| PackedMatrix::pack(w, e, r))
                .collect(),
        );
        let dt_bias = self.t.take(&format!("{q}.dt_projs_bias"), &[4, e])?;
        let a_log = self.t.take(&format!("{q}.A_logs"), &[4 * e, n])?;
        let mut a_neg = vec![0.0; 4 * n * e];
        for k in 0..4 {
            for ch in 0..e {
                for s in 0..n {
                    a_neg[(k * n + s) * e + ch] = -a_log[(k * e + ch) * n + s].exp();
                }
            }
        }
        let d = self.t.take(&format!("{q}.Ds"), &[4 * e])?;
        let scan = self.w.push_scan(HostScan { a_neg, dt_bias, d });
        let out_norm = self.norm(&format!("{q}.out_norm"), e)?;
        let out_proj = self.lin(&format!("{q}.out_proj"), c, e, false)?;

        let dims = ScanDims {
            h: g.height,
            w: g.width,
            e,
            n,
            r,
        };
        let plain = Epilogue::default();
        let acc = Epilogue {
            accumulate: true,
            gelu: false,
        };
        self.ln(norm, Act::X, Act::Xn, l, c);
        self.linear(in_x, Act::Xn, Act::Xin, l, plain);
        if let Some(in_z) = in_z {
            self.linear(in_z, Act::Xn, Act::Z, l, plain);
        }
        self.push(Op::DwConvSilu {
            dw,
            src: Act::Xin,
            dst: Act::U,
            h: g.height,
            w: g.width,
            channels: e,
        });
        self.linear(x_proj, Act::U, Act::Dbl, l, plain);
        self.push(Op::DtProj {
            dt,
            dbl: Act::Dbl,
            dst: Act::Delta,
            dims,
        });
        self.push(Op::Scan {
            scan,
            norm: out_norm,
            u: Act::U,
            delta: Act::Delta,
            dbl: Act::Dbl,
            z: in_z.map(|_| Act::Z),
            y: Act::Y,
            dims,
        });
        self.linear(out_proj, Act::Y, Act::X, l, acc);
        if g.mlp_hidden > 0 {
            let norm2 = self.norm(&format!("{p}.norm2"), c)?;
            let fc1 = self.lin(&format!("{p}.mlp.fc1"), g.mlp_hidden, c, true)?;
            let fc2 = self.lin(&format!("{p}.mlp.fc2"), c, g.mlp_hidden, true)?;
            let gelu = Epilogue {
                accumulate: false,
                gelu: true,
            };
            self.ln(norm2, Act::X, Act::Xn, l, c);
            self.linear(fc1, Act::Xn, Act::Hidden, l, gelu);
            self.linear(fc2, Act::Hidden, Act::X, l, acc);
        }
        Ok(())
    }

    fn downsample(&mut self, cfg: &ModelConfig, i: usize, g: &StageGeometry) -> Result<()> {
        let (h, w, c) = (g.height, g.width, g.dim);
        let p = format!("layers.{i}.downsample");
        let l = (h / 2) * (w / 2);
        match cfg.backbone.downsample {
            Downsample::Merge => {
                let norm = self.norm(&format!("{p}.norm"), 4 * c)?;
                let reduction = self.lin(&format!("{p}.reduction"), 2 * c, 4 * c, false)?;
                self.push(Op::PatchMerge {
                    src: Act::X,
                    dst: Act::Xn,
                    h,
                    w,
                    c,
                });
                self.ln(norm, Act::Xn, Act::Xn, l, 4 * c);
                self.linear(reduction, Act::Xn, Act::X, l, Epilogue::default());
            }
            Downsample::Conv => {
                let conv = self.conv_w(&format!("{p}.1"), conv3x3s2(c, 2 * c), true)?;
                let norm = self.norm(&format!("{p}.3"), 2 * c)?;
                let (oh, ow) = self.conv(conv, Act::X, h, w, Act::Tmp);
                self.ln(norm, Act::Tmp, Act::X, oh * ow, 2 * c);
            }
        }
        Ok(())
    }

    fn head(&mut self, cfg: &ModelConfig, last: &StageGeometry) -> Result<OutLayout> {
        let (h, w, c, m) = (last.height, last.width, last.dim, cfg.num_classes());
        let l = h * w;
        let embed_at = |steps| {
            OutLayout {
                classes: m,
                steps,
                dim: c,
            }
            .embed_at()
        };
        let norm = self.norm("classifier.norm", c)?;
        let steps = match cfg.head {
            HeadConfig::Tscam => {
                let fr = cfg.freq_ratio();
                let (hf, steps) = (h / fr, w * fr);
                let s = ConvShape {
                    cin: c,
                    cout: m,
                    kh: hf,
                    kw: 3,
                    stride: 1,
                    ph: 0,
                    pw: 1,
                };
                let conv = self.conv_w("tscam_conv", s, true)?;
                self.ln(norm, Act::X, Act::X, l, c);
                self.push(Op::Unstack {
                    src: Act::X,
                    dst: Act::Tmp,
                    h,
                    w,
                    c,
                    hf,
                });
                self.push(Op::Embed {
                    src: Act::Tmp,
                    rows: hf,
                    steps,
                    c,
                    frames: true,
                    at: embed_at(steps),
                });
                let (_, ow) = self.conv(conv, Act::Tmp, hf, steps, Act::Logits);
                debug_assert_eq!(ow, steps);
                steps
            }
            HeadConfig::Linear => {
                let head = self.lin("classifier.head", m, c, true)?;
                self.ln(norm, Act::X, Act::X, l, c);
                self.push(Op::MeanPool {
                    src: Act::X,
                    dst: Act::Xn,
                    tokens: l,
                    c,
                });
                // the pooled vector the Linear reads is the clip embedding
                self.push(Op::Embed {
                    src: Act::Xn,
                    rows: 1,
                    steps: 1,
                    c,
                    frames: false,
                    at: embed_at(0),
                });
                self.linear(head, Act::Xn, Act::Logits, 1, Epilogue::default());
                0
            }
        };
        self.push(Op::Finish {
            logits: Act::Logits,
            classes: m,
            steps,
        });
        Ok(OutLayout {
            classes: m,
            steps,
            dim: c,
        })
    }
}

/// The graph of `cfg` and its host weights, taken from `tensors` (which must then be empty).
pub(crate) fn build(
    cfg: &ModelConfig,
    tensors: &mut TensorStore,
) -> Result<(Graph, Weights<Host>)> {
    let mut b = Builder {
        t: tensors,
        w: Weights::default(),
        ops: Vec::new(),
    };
    b.patch_embed(cfg)?;
    let geoms = cfg.stages();
    for (i, g) in geoms.iter().enumerate() {
        for j in 0..g.depth {
            b.block(cfg, &format!("layers.{i}.blocks.{j}"), g)?;
        }
        b.tap(Tap::Stage(i), Act::X, g.height * g.width * g.dim);
        if i + 1 < geoms.len() {
            b.downsample(cfg, i, g)?;
        }
    }
    let out = b.head(cfg, geoms.last().expect("validated"))?;
    Ok((Graph::new(b.ops, &b.w, out), b.w))
}
