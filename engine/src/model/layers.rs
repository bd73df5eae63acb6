//! Weights of each layer, loaded by their VMamba state-dict names (docs/weights.md) and
//! rearranged once into the layouts the kernels want.

use crate::config::{Downsample, Gate, ModelConfig, PatchEmbed, StageGeometry};
use crate::error::Result;
use crate::kernels::linalg::PackedMatrix;
use crate::kernels::nn::ConvShape;
use crate::weights::TensorStore;

pub struct LayerNorm {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

impl LayerNorm {
    fn load(t: &mut TensorStore, prefix: &str, c: usize) -> Result<Self> {
        Ok(Self {
            w: t.take(&format!("{prefix}.weight"), &[c])?,
            b: t.take(&format!("{prefix}.bias"), &[c])?,
        })
    }
}

/// A PyTorch Linear: weight `[out, in]`.
/// A PyTorch Linear (weight `[out, in]`), packed for the matmul kernel.
pub struct Linear {
    pub w: PackedMatrix,
    pub b: Option<Vec<f32>>,
}

impl Linear {
    fn load(t: &mut TensorStore, prefix: &str, out: usize, inp: usize, bias: bool) -> Result<Self> {
        Ok(Self {
            w: PackedMatrix::pack(&t.take(&format!("{prefix}.weight"), &[out, inp])?, out, inp),
            b: if bias {
                Some(t.take(&format!("{prefix}.bias"), &[out])?)
            } else {
                None
            },
        })
    }
}

pub struct Conv2d {
    pub w: PackedMatrix,
    pub b: Option<Vec<f32>>,
    pub shape: ConvShape,
}

impl Conv2d {
    fn load(t: &mut TensorStore, prefix: &str, shape: ConvShape, bias: bool) -> Result<Self> {
        let s = shape;
        Ok(Self {
            w: PackedMatrix::pack(
                &t.take(&format!("{prefix}.weight"), &[s.cout, s.cin, s.kh, s.kw])?,
                s.cout,
                s.patch_len(),
            ),
            b: if bias {
                Some(t.take(&format!("{prefix}.bias"), &[s.cout])?)
            } else {
                None
            },
            shape,
        })
    }
}

pub enum PatchEmbedW {
    V1 {
        conv: Conv2d,
        norm: LayerNorm,
    },
    V2 {
        conv1: Conv2d,
        norm1: LayerNorm,
        conv2: Conv2d,
        norm2: LayerNorm,
    },
}

impl PatchEmbedW {
    pub fn load(t: &mut TensorStore, cfg: &ModelConfig) -> Result<Self> {
        let b = &cfg.backbone;
        let c = b.dims;
        Ok(match b.patch_embed {
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
                PatchEmbedW::V1 {
                    conv: Conv2d::load(t, "patch_embed.0", s, true)?,
                    norm: LayerNorm::load(t, "patch_embed.2", c)?,
                }
            }
            PatchEmbed::V2 => {
                let half = c / 2;
                let s1 = ConvShape {
                    cin: 1,
                    cout: half,
                    kh: 3,
                    kw: 3,
                    stride: 2,
                    ph: 1,
                    pw: 1,
                };
                let s2 = ConvShape {
                    cin: half,
                    cout: c,
                    kh: 3,
                    kw: 3,
                    stride: 2,
                    ph: 1,
                    pw: 1,
                };
                PatchEmbedW::V2 {
                    conv1: Conv2d::load(t, "patch_embed.0", s1, true)?,
                    norm1: LayerNorm::load(t, "patch_embed.2", half)?,
                    conv2: Conv2d::load(t, "patch_embed.5", s2, true)?,
                    norm2: LayerNorm::load(t, "patch_embed.7", c)?,
                }
            }
        })
    }
}

/// SS2D weights. `in_proj` is split into its x and z halves so each lands in its own buffer.
pub struct Ss2dW {
    pub in_x: Linear,
    pub in_z: Option<Linear>,
    /// Depthwise 3x3 kernel transposed to `[9][E]`.
    pub conv_w9: Vec<f32>,
    pub conv_b: Option<Vec<f32>>,
    /// The four directions' x_proj stacked: `[4 (R + 2N), E]`.
    pub x_proj: PackedMatrix,
    /// Per direction `[E, R]`.
    pub dt_proj: Vec<PackedMatrix>,
    /// `[4][E]`
    pub dt_bias: Vec<f32>,
    /// `-exp(A_log)` as `[4][N][E]`.
    pub a_neg: Vec<f32>,
    /// `[4][E]`
    pub d: Vec<f32>,
    pub out_norm: LayerNorm,
    pub out_proj: Linear,
}

impl Ss2dW {
    fn load(
        t: &mut TensorStore,
        p: &str,
        g: &StageGeometry,
        n: usize,
        gate: Gate,
        conv_bias: bool,
    ) -> Result<Self> {
        let (c, e, r) = (g.dim, g.inner, g.dt_rank);
        let (in_x, in_z) = match gate {
            Gate::Z => {
                let w = t.take(&format!("{p}.in_proj.weight"), &[2 * e, c])?;
                let (x, z) = w.split_at(e * c);
                let half = |w| Linear {
                    w: PackedMatrix::pack(w, e, c),
                    b: None,
                };
                (half(x), Some(half(z)))
            }
            Gate::None => (Linear::load(t, &format!("{p}.in_proj"), e, c, false)?, None),
        };
        let conv = t.take(&format!("{p}.conv2d.weight"), &[e, 1, 3, 3])?;
        let mut conv_w9 = vec![0.0; 9 * e];
        for ch in 0..e {
            for k in 0..9 {
                conv_w9[k * e + ch] = conv[ch * 9 + k];
            }
        }
        let conv_b = if conv_bias {
            Some(t.take(&format!("{p}.conv2d.bias"), &[e])?)
        } else {
            None
        };
        let x_proj = PackedMatrix::pack(
            &t.take(&format!("{p}.x_proj_weight"), &[4, r + 2 * n, e])?,
            4 * (r + 2 * n),
            e,
        );
        let dt_proj = t.take(&format!("{p}.dt_projs_weight"), &[4, e, r])?;
        let dt_proj = dt_proj
            .chunks_exact(e * r)
            .map(|w| PackedMatrix::pack(w, e, r))
            .collect();
        let dt_bias = t.take(&format!("{p}.dt_projs_bias"), &[4, e])?;
        let a_log = t.take(&format!("{p}.A_logs"), &[4 * e, n])?;
        let mut a_neg = vec![0.0; 4 * n * e];
        for k in 0..4 {
            for ch in 0..e {
                for s in 0..n {
                    a_neg[(k * n + s) * e + ch] = -a_log[(k * e + ch) * n + s].exp();
                }
            }
        }
        Ok(Self {
            in_x,
            in_z,
            conv_w9,
            conv_b,
            x_proj,
            dt_proj,
            dt_bias,
            a_neg,
            d: t.take(&format!("{p}.Ds"), &[4 * e])?,
            out_norm: LayerNorm::load(t, &format!("{p}.out_norm"), e)?,
            out_proj: Linear::load(t, &format!("{p}.out_proj"), c, e, false)?,
        })
    }
}

pub struct MlpW {
    pub norm: LayerNorm,
    pub fc1: Linear,
    pub fc2: Linear,
}

pub struct BlockW {
    pub norm: LayerNorm,
    pub op: Ss2dW,
    pub mlp: Option<MlpW>,
}

pub enum DownsampleW {
    Merge { norm: LayerNorm, reduction: Linear },
    Conv { conv: Conv2d, norm: LayerNorm },
}

pub struct StageW {
    pub geom: StageGeometry,
    pub blocks: Vec<BlockW>,
    pub downsample: Option<DownsampleW>,
}

impl StageW {
    pub fn load(
        t: &mut TensorStore,
        cfg: &ModelConfig,
        i: usize,
        g: StageGeometry,
        last: bool,
    ) -> Result<Self> {
        let b = &cfg.backbone;
        let c = g.dim;
        let blocks = (0..g.depth)
            .map(|j| {
                let p = format!("layers.{i}.blocks.{j}");
                Ok(BlockW {
                    norm: LayerNorm::load(t, &format!("{p}.norm"), c)?,
                    op: Ss2dW::load(t, &format!("{p}.op"), &g, b.d_state, b.gate, b.conv_bias)?,
                    mlp: if g.mlp_hidden > 0 {
                        Some(MlpW {
                            norm: LayerNorm::load(t, &format!("{p}.norm2"), c)?,
                            fc1: Linear::load(t, &format!("{p}.mlp.fc1"), g.mlp_hidden, c, true)?,
                            fc2: Linear::load(t, &format!("{p}.mlp.fc2"), c, g.mlp_hidden, true)?,
                        })
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let p = format!("layers.{i}.downsample");
        let downsample = if last {
            None
        } else {
            Some(match b.downsample {
                Downsample::Merge => DownsampleW::Merge {
                    norm: LayerNorm::load(t, &format!("{p}.norm"), 4 * c)?,
                    reduction: Linear::load(t, &format!("{p}.reduction"), 2 * c, 4 * c, false)?,
                },
                Downsample::Conv => {
                    let s = ConvShape {
                        cin: c,
                        cout: 2 * c,
                        kh: 3,
                        kw: 3,
                        stride: 2,
                        ph: 1,
                        pw: 1,
                    };
                    DownsampleW::Conv {
                        conv: Conv2d::load(t, &format!("{p}.1"), s, true)?,
                        norm: LayerNorm::load(t, &format!("{p}.3"), 2 * c)?,
                    }
                }
            })
        };
        Ok(Self {
            geom: g,
            blocks,
            downsample,
        })
    }
}

pub enum HeadW {
    Tscam { norm: LayerNorm, conv: Conv2d },
    Linear { norm: LayerNorm, head: Linear },
}

impl HeadW {
    pub fn load(t: &mut TensorStore, cfg: &ModelConfig, last: StageGeometry) -> Result<Self> {
        let (c, m) = (last.dim, cfg.num_classes());
        let norm = LayerNorm::load(t, "classifier.norm", c)?;
        Ok(match cfg.head {
            crate::config::HeadConfig::Tscam => {
                let kh = last.height / cfg.freq_ratio();
                let s = ConvShape {
                    cin: c,
                    cout: m,
                    kh,
                    kw: 3,
                    stride: 1,
                    ph: 0,
                    pw: 1,
                };
                HeadW::Tscam {
                    norm,
                    conv: Conv2d::load(t, "tscam_conv", s, true)?,
                }
            }
            crate::config::HeadConfig::Linear => HeadW::Linear {
                norm,
                head: Linear::load(t, "classifier.head", m, c, true)?,
            },
        })
    }
}
