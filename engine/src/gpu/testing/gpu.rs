//! The WGSL kernels behind [`Ops`], each call one submission on the shared device.

use super::{Ops, ScanCase, TscamCase};
use crate::gpu::context::{AdapterPolicy, GpuContext};
use crate::gpu::exec;
use crate::gpu::kernels::{self as k, Bind, Dispatch, Epilogue, Norm, Operand, ScanIo, ScanShape};
use crate::gpu::GpuError;
use crate::kernels::nn::ConvShape;
use std::sync::Arc;

/// The WGSL kernels, one dispatch (or two) per call on the shared device.
pub struct GpuOps {
    ctx: Arc<GpuContext>,
}

type D = Dispatch<usize>;

fn b(i: usize) -> Bind<usize> {
    Bind::Act(i)
}

impl GpuOps {
    /// Any adapter, CPU-emulated included.
    pub fn new() -> Result<Self, GpuError> {
        Ok(Self {
            ctx: GpuContext::shared(AdapterPolicy::Any)?,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Uploads `bufs` (binding `Bind::Act(i)` is `bufs[i]`), runs `ds` in one submission and
    /// reads back buffer `read`.
    fn run(&self, bufs: &[&[f32]], ds: &[D], read: usize) -> Vec<f32> {
        self.try_run(bufs, ds, read)
            .unwrap_or_else(|e| panic!("GPU kernel {:?}: {e}", ds[0].kernel))
    }

    fn try_run(&self, bufs: &[&[f32]], ds: &[D], read: usize) -> Result<Vec<f32>, GpuError> {
        let ctx = &*self.ctx;
        let gpu: Vec<wgpu::Buffer> = ctx.scoped(|| {
            bufs.iter()
                .map(|data| {
                    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                        label: None,
                        size: (data.len().max(4) * 4) as u64,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_DST
                            | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    });
                    ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
                    buf
                })
                .collect()
        })?;
        let readback = ctx.scoped(|| {
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: (bufs[read].len().max(4) * 4) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        let plan = exec::build_plan(ctx, ds, &|i: &usize| gpu[*i].clone())?;
        let mut out = vec![0.0; bufs[read].len()];
        exec::execute(ctx, &plan, None, (&gpu[read], &readback), &mut out)?;
        Ok(out)
    }
}

fn opt(i: usize, present: bool) -> Option<Bind<usize>> {
    present.then(|| b(i))
}

impl Ops for GpuOps {
    fn name(&self) -> String {
        format!("gpu {}", self.ctx.adapter())
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
        let zeros = vec![0.0; m * n];
        let out = acc.unwrap_or(&zeros);
        // The plan's path: split k where the output tiles are few (see `k_splits`).
        let mut partial = vec![0.0f32; 1];
        let ds = k::linear(
            (m, n, k),
            Operand::dense(b(0), k),
            Operand::dense(b(1), k),
            opt(2, bias.is_some()),
            Operand::dense(b(3), n),
            Epilogue {
                accumulate: acc.is_some(),
                gelu,
            },
            |floats| {
                partial = vec![0.0; floats];
                b(4)
            },
        );
        self.run(&[a, w, bias.unwrap_or(&[0.0]), out, &partial], &ds, 3)
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
        let d = k::matmul(
            (tokens, e, r),
            Operand {
                buf: b(0),
                rs: 4 * (r + 2 * n),
                off: 0,
                z: r + 2 * n,
            },
            Operand {
                buf: b(1),
                rs: r,
                off: 0,
                z: e * r,
            },
            None,
            Operand {
                buf: b(2),
                rs: e,
                off: 0,
                z: tokens * e,
            },
            4,
            Epilogue::default(),
        );
        self.run(&[dbl, w, &vec![0.0; 4 * tokens * e]], &[d], 2)
    }
    fn layer_norm(&self, x: &[f32], c: usize, w: &[f32], bb: &[f32], in_place: bool) -> Vec<f32> {
        let rows = x.len() / c;
        let norm = Norm { w: b(0), b: b(1) };
        if in_place {
            self.run(&[w, bb, x], &[k::ln_inplace(rows, c, b(2), norm)], 2)
        } else {
            let d = k::ln_copy(rows, c, b(2), b(3), norm);
            self.run(&[w, bb, x, &vec![0.0; x.len()]], &[d], 3)
        }
    }
    fn merge_ln_gate(
        &self,
        y4: &[f32],
        c: usize,
        z: Option<&[f32]>,
        w: &[f32],
        bb: &[f32],
    ) -> Vec<f32> {
        let plane = y4.len() / 4;
        let d = k::merge_ln_gate(
            plane / c,
            c,
            plane,
            b(2),
            opt(3, z.is_some()),
            b(4),
            Norm { w: b(0), b: b(1) },
        );
        self.run(
            &[w, bb, y4, z.unwrap_or(&[0.0]), &vec![0.0; plane]],
            &[d],
            4,
        )
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
        let rows = windows * oh * ow;
        let ds = [
            k::im2col(windows, h, w, s, b(0), b(1)),
            k::matmul(
                (rows, s.cout, s.patch_len()),
                Operand::dense(b(1), s.patch_len()),
                Operand::dense(b(2), s.patch_len()),
                opt(3, bias.is_some()),
                Operand::dense(b(4), s.cout),
                1,
                Epilogue::default(),
            ),
        ];
        let cols = vec![0.0; rows * s.patch_len()];
        self.run(
            &[
                x,
                &cols,
                weight,
                bias.unwrap_or(&[0.0]),
                &vec![0.0; rows * s.cout],
            ],
            &ds,
            4,
        )
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
        let d = k::dwconv_silu(windows, h, w, c, b(0), b(1), opt(2, bias.is_some()), b(3));
        self.run(
            &[x, w9, bias.unwrap_or(&[0.0]), &vec![0.0; x.len()]],
            &[d],
            3,
        )
    }
    fn gelu(&self, x: &[f32]) -> Vec<f32> {
        self.run(&[x], &[k::gelu(x.len(), b(0))], 0)
    }
    fn patch_merge(&self, windows: usize, x: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
        let d = k::patch_merge(windows, h, w, c, b(0), b(1));
        self.run(&[x, &vec![0.0; x.len()]], &[d], 1)
    }
    fn ss2d_scan(&self, s: &ScanCase) -> Vec<f32> {
        let shape = ScanShape {
            windows: s.windows,
            h: s.dims.h,
            w: s.dims.w,
            e: s.dims.e,
            n: s.dims.n,
            r: s.dims.r,
        };
        let params: Vec<f32> = [s.dt_bias, s.d, s.a_neg].concat();
        let io = ScanIo {
            u: b(0),
            delta: b(1),
            dbl: b(2),
            params: b(3),
        };
        let ds = k::scan(shape, io, b(4), b(5));
        let plane = shape.plane();
        let y4 = self.run(
            &[
                s.u,
                s.delta_raw,
                s.dbl,
                &params,
                &vec![0.0; shape.summary_len()],
                &vec![0.0; 4 * plane],
            ],
            &ds,
            5,
        );
        (0..plane)
            .map(|i| y4[i] + y4[i + plane] + y4[i + 2 * plane] + y4[i + 3 * plane])
            .collect()
    }
    fn tscam_head(&self, t: &TscamCase) -> Vec<f32> {
        let (hf, steps, c, m) = (t.h / t.fr, t.w * t.fr, t.c, t.classes);
        let s = ConvShape {
            cin: c,
            cout: m,
            kh: hf,
            kw: 3,
            stride: 1,
            ph: 0,
            pw: 1,
        };
        let rows = t.windows * steps;
        let ds = [
            k::unstack(t.windows, t.h, t.w, c, hf, b(0), b(1)),
            k::im2col(t.windows, hf, steps, &s, b(1), b(2)),
            k::matmul(
                (rows, m, s.patch_len()),
                Operand::dense(b(2), s.patch_len()),
                Operand::dense(b(3), s.patch_len()),
                Some(b(4)),
                Operand::dense(b(5), m),
                1,
                Epilogue::default(),
            ),
            k::head_finish(t.windows, m, steps, b(5), b(6)),
        ];
        let out_len = t.windows * (2 * m + 2 * steps * m);
        self.run(
            &[
                t.x,
                &vec![0.0; t.x.len()],
                &vec![0.0; rows * s.patch_len()],
                t.weight,
                t.bias,
                &vec![0.0; rows * m],
                &vec![0.0; out_len],
            ],
            &ds,
            6,
        )
    }
    fn linear_head(
        &self,
        windows: usize,
        x: &[f32],
        l: usize,
        c: usize,
        w: &[f32],
        bb: &[f32],
        classes: usize,
    ) -> Vec<f32> {
        let ds = [
            k::mean_pool(windows, l, c, b(0), b(1)),
            k::matmul(
                (windows, classes, c),
                Operand::dense(b(1), c),
                Operand::dense(b(2), c),
                Some(b(3)),
                Operand::dense(b(4), classes),
                1,
                Epilogue::default(),
            ),
            k::head_finish(windows, classes, 0, b(4), b(5)),
        ];
        self.run(
            &[
                x,
                &vec![0.0; windows * c],
                w,
                bb,
                &vec![0.0; windows * classes],
                &vec![0.0; windows * 2 * classes],
            ],
            &ds,
            5,
        )
    }
}
