//! A model's weights on the device: uploaded once per model per process, in the layouts the
//! kernels read (PyTorch `[out, in]` matrices, the depthwise kernel as `[9][E]`, the scan's
//! per-channel parameters in one block).

use super::context::GpuContext;
use super::GpuError;
use crate::config::StageGeometry;
use crate::kernels::nn::ConvShape;
use crate::model::layers::{
    BlockW, Conv2d, DownsampleW, HeadW, LayerNorm, Linear, PatchEmbedW, Ss2dW, StageW,
};
use crate::model::Model;

fn upload(ctx: &GpuContext, label: &str, data: &[f32]) -> Result<wgpu::Buffer, GpuError> {
    let bytes = (data.len().max(4) * 4) as u64;
    if bytes > ctx.limits.max_storage_buffer_binding_size || bytes > ctx.limits.max_buffer_size {
        return Err(GpuError::Unsupported(format!(
            "tensor {label} has {bytes} bytes, the adapter binds at most {}",
            ctx.limits.max_storage_buffer_binding_size
        )));
    }
    let buf = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue.write_buffer(&buf, 0, bytemuck::cast_slice(data));
    Ok(buf)
}

pub(crate) struct LnG {
    pub w: wgpu::Buffer,
    pub b: wgpu::Buffer,
}

pub(crate) struct LinG {
    pub w: wgpu::Buffer,
    pub b: Option<wgpu::Buffer>,
    pub n: usize,
    pub k: usize,
}

pub(crate) struct ConvG {
    pub lin: LinG,
    pub shape: ConvShape,
}

pub(crate) struct Ss2dG {
    pub in_x: LinG,
    pub in_z: Option<LinG>,
    pub conv_w9: wgpu::Buffer,
    pub conv_b: Option<wgpu::Buffer>,
    /// `[4 (R + 2N), E]`
    pub x_proj: LinG,
    /// `[4][E][R]`
    pub dt_proj: wgpu::Buffer,
    /// `[dt_bias 4E | D 4E | -exp(A_log) as [4][N][E]]`
    pub scan: wgpu::Buffer,
    pub out_norm: LnG,
    pub out_proj: LinG,
}

pub(crate) struct MlpG {
    pub norm: LnG,
    pub fc1: LinG,
    pub fc2: LinG,
}

pub(crate) struct BlockG {
    pub norm: LnG,
    pub op: Ss2dG,
    pub mlp: Option<MlpG>,
}

pub(crate) enum DownG {
    Merge { norm: LnG, reduction: LinG },
    Conv { conv: ConvG, norm: LnG },
}

pub(crate) struct StageG {
    pub geom: StageGeometry,
    pub blocks: Vec<BlockG>,
    pub down: Option<DownG>,
}

pub(crate) enum EmbedG {
    V1 {
        conv: ConvG,
        norm: LnG,
    },
    V2 {
        conv1: ConvG,
        norm1: LnG,
        conv2: ConvG,
        norm2: LnG,
    },
}

pub(crate) enum HeadG {
    Tscam { norm: LnG, conv: ConvG },
    Linear { norm: LnG, head: LinG },
}

pub(crate) struct GpuWeights {
    pub embed: EmbedG,
    pub stages: Vec<StageG>,
    pub head: HeadG,
}

struct Up<'a> {
    ctx: &'a GpuContext,
}

impl Up<'_> {
    fn buf(&self, label: &str, d: &[f32]) -> Result<wgpu::Buffer, GpuError> {
        upload(self.ctx, label, d)
    }
    fn ln(&self, n: &LayerNorm) -> Result<LnG, GpuError> {
        Ok(LnG {
            w: self.buf("ln.w", &n.w)?,
            b: self.buf("ln.b", &n.b)?,
        })
    }
    fn lin(&self, l: &Linear) -> Result<LinG, GpuError> {
        Ok(LinG {
            w: self.buf("linear.w", &l.w.unpack())?,
            b: l.b
                .as_deref()
                .map(|b| self.buf("linear.b", b))
                .transpose()?,
            n: l.w.n(),
            k: l.w.k(),
        })
    }
    fn conv(&self, c: &Conv2d) -> Result<ConvG, GpuError> {
        Ok(ConvG {
            lin: LinG {
                w: self.buf("conv.w", &c.w.unpack())?,
                b: c.b.as_deref().map(|b| self.buf("conv.b", b)).transpose()?,
                n: c.w.n(),
                k: c.w.k(),
            },
            shape: c.shape,
        })
    }
    fn ss2d(&self, op: &Ss2dW) -> Result<Ss2dG, GpuError> {
        let dt: Vec<f32> = op.dt_proj.iter().flat_map(|m| m.unpack()).collect();
        let scan: Vec<f32> = [&op.dt_bias[..], &op.d, &op.a_neg].concat();
        Ok(Ss2dG {
            in_x: self.lin(&op.in_x)?,
            in_z: op.in_z.as_ref().map(|l| self.lin(l)).transpose()?,
            conv_w9: self.buf("conv_w9", &op.conv_w9)?,
            conv_b: op
                .conv_b
                .as_deref()
                .map(|b| self.buf("conv_b", b))
                .transpose()?,
            x_proj: LinG {
                w: self.buf("x_proj", &op.x_proj.unpack())?,
                b: None,
                n: op.x_proj.n(),
                k: op.x_proj.k(),
            },
            dt_proj: self.buf("dt_proj", &dt)?,
            scan: self.buf("scan params", &scan)?,
            out_norm: self.ln(&op.out_norm)?,
            out_proj: self.lin(&op.out_proj)?,
        })
    }
    fn block(&self, b: &BlockW) -> Result<BlockG, GpuError> {
        Ok(BlockG {
            norm: self.ln(&b.norm)?,
            op: self.ss2d(&b.op)?,
            mlp: match &b.mlp {
                Some(m) => Some(MlpG {
                    norm: self.ln(&m.norm)?,
                    fc1: self.lin(&m.fc1)?,
                    fc2: self.lin(&m.fc2)?,
                }),
                None => None,
            },
        })
    }
    fn stage(&self, s: &StageW) -> Result<StageG, GpuError> {
        Ok(StageG {
            geom: s.geom,
            blocks: s
                .blocks
                .iter()
                .map(|b| self.block(b))
                .collect::<Result<_, _>>()?,
            down: match &s.downsample {
                None => None,
                Some(DownsampleW::Merge { norm, reduction }) => Some(DownG::Merge {
                    norm: self.ln(norm)?,
                    reduction: self.lin(reduction)?,
                }),
                Some(DownsampleW::Conv { conv, norm }) => Some(DownG::Conv {
                    conv: self.conv(conv)?,
                    norm: self.ln(norm)?,
                }),
            },
        })
    }
}

impl GpuWeights {
    pub(crate) fn upload(ctx: &GpuContext, model: &Model) -> Result<Self, GpuError> {
        let up = Up { ctx };
        let (embed, stages, head) = model.layers();
        let embed = match embed {
            PatchEmbedW::V1 { conv, norm } => EmbedG::V1 {
                conv: up.conv(conv)?,
                norm: up.ln(norm)?,
            },
            PatchEmbedW::V2 {
                conv1,
                norm1,
                conv2,
                norm2,
            } => EmbedG::V2 {
                conv1: up.conv(conv1)?,
                norm1: up.ln(norm1)?,
                conv2: up.conv(conv2)?,
                norm2: up.ln(norm2)?,
            },
        };
        Ok(Self {
            embed,
            stages: stages
                .iter()
                .map(|s| up.stage(s))
                .collect::<Result<_, _>>()?,
            head: match head {
                HeadW::Tscam { norm, conv } => HeadG::Tscam {
                    norm: up.ln(norm)?,
                    conv: up.conv(conv)?,
                },
                HeadW::Linear { norm, head } => HeadG::Linear {
                    norm: up.ln(norm)?,
                    head: up.lin(head)?,
                },
            },
        })
    }
}
