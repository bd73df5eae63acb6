//! The forward pass, on buffers the session owns. Buffers grow to their largest size during the
//! session's warm-up run and are only sliced afterwards, so steady-state runs allocate nothing.

use super::layers::{BlockW, Conv2d, DownsampleW, HeadW, LayerNorm, Linear, PatchEmbedW, Ss2dW};
use super::{Model, Tap};
use crate::config::StageGeometry;
use crate::kernels::linalg::matmul;
use crate::kernels::math::silu;
use crate::kernels::nn::{
    conv2d, depthwise3x3_silu, gelu_inplace, layer_norm, layer_norm_into, patch_merge_gather,
};
use crate::kernels::par::Par;
use crate::kernels::scan::{ss2d_scan, ScanDims, ScanInputs, ScanParams};

#[derive(Default)]
pub(super) struct Buffers {
    x: Vec<f32>,
    xn: Vec<f32>,
    tmp: Vec<f32>,
    cols: Vec<f32>,
    xin: Vec<f32>,
    z: Vec<f32>,
    u: Vec<f32>,
    dbl: Vec<f32>,
    delta: Vec<f32>,
    y: Vec<f32>,
    hidden: Vec<f32>,
}

fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

pub(super) type TapFn<'a> = Option<&'a mut (dyn FnMut(Tap, &[f32]) + Send)>;

fn conv(
    par: Par,
    c: &Conv2d,
    input: &[f32],
    h: usize,
    w: usize,
    cols: &mut Vec<f32>,
    out: &mut Vec<f32>,
) -> (usize, usize) {
    let (oh, ow) = c.shape.out_size(h, w);
    let cols = sized(cols, oh * ow * c.shape.patch_len());
    let out = sized(out, oh * ow * c.shape.cout);
    conv2d(par, &c.shape, input, h, w, &c.w, c.b.as_deref(), cols, out)
}

fn ln(par: Par, x: &mut [f32], n: &LayerNorm) {
    layer_norm(par, x, n.w.len(), &n.w, &n.b);
}

fn linear(par: Par, l: &Linear, a: &[f32], m: usize, out: &mut [f32], accumulate: bool) {
    matmul(par, a, l.w.k(), m, &l.w, l.b.as_deref(), out, accumulate);
}

/// Runs patch embedding and all stages on `image`; the result is in `b.x` as `(h, w, c)`.
pub(super) fn backbone(
    model: &Model,
    par: Par,
    image: &[f32],
    b: &mut Buffers,
    tap: &mut TapFn,
) -> (usize, usize, usize) {
    let (rows, cols) = model.config.image_size();
    let c0 = model.config.backbone.dims;
    let (mut h, mut w) = match &model.embed {
        PatchEmbedW::V1 { conv: cv, norm } => {
            let (h, w) = conv(par, cv, image, rows, cols, &mut b.cols, &mut b.x);
            ln(par, &mut b.x[..h * w * c0], norm);
            (h, w)
        }
        PatchEmbedW::V2 {
            conv1,
            norm1,
            conv2,
            norm2,
        } => {
            let (h1, w1) = conv(par, conv1, image, rows, cols, &mut b.cols, &mut b.tmp);
            let t = &mut b.tmp[..h1 * w1 * (c0 / 2)];
            ln(par, t, norm1);
            gelu_inplace(par, t);
            let (h, w) = conv(
                par,
                conv2,
                &b.tmp[..h1 * w1 * (c0 / 2)],
                h1,
                w1,
                &mut b.cols,
                &mut b.x,
            );
            ln(par, &mut b.x[..h * w * c0], norm2);
            (h, w)
        }
    };
    if let Some(f) = tap.as_mut() {
        f(Tap::PatchEmbed, &b.x[..h * w * c0]);
    }
    let mut c = c0;
    for (i, stage) in model.stages.iter().enumerate() {
        debug_assert_eq!(
            (h, w, c),
            (stage.geom.height, stage.geom.width, stage.geom.dim)
        );
        for block in &stage.blocks {
            vss_block(par, block, &stage.geom, model.config.backbone.d_state, b);
        }
        if let Some(f) = tap.as_mut() {
            f(Tap::Stage(i), &b.x[..h * w * c]);
        }
        match &stage.downsample {
            None => {}
            Some(DownsampleW::Merge { norm, reduction }) => {
                let t = sized(&mut b.tmp, h * w * c);
                patch_merge_gather(&b.x[..h * w * c], h, w, c, t);
                let l = (h / 2) * (w / 2);
                ln(par, &mut t[..l * 4 * c], norm);
                linear(
                    par,
                    reduction,
                    &b.tmp[..l * 4 * c],
                    l,
                    sized(&mut b.x, l * 2 * c),
                    false,
                );
                (h, w, c) = (h / 2, w / 2, 2 * c);
            }
            Some(DownsampleW::Conv { conv: cv, norm }) => {
                let (oh, ow) = conv(par, cv, &b.x[..h * w * c], h, w, &mut b.cols, &mut b.tmp);
                std::mem::swap(&mut b.x, &mut b.tmp);
                (h, w, c) = (oh, ow, 2 * c);
                ln(par, &mut b.x[..h * w * c], norm);
            }
        }
    }
    (h, w, c)
}

fn vss_block(par: Par, blk: &BlockW, g: &StageGeometry, n: usize, b: &mut Buffers) {
    let (l, c) = (g.height * g.width, g.dim);
    let xn = sized(&mut b.xn, l * c);
    layer_norm_into(par, &b.x[..l * c], xn, c, &blk.norm.w, &blk.norm.b);
    ss2d(par, &blk.op, g, n, b);
    if let Some(mlp) = &blk.mlp {
        let xn = sized(&mut b.xn, l * c);
        layer_norm_into(par, &b.x[..l * c], xn, c, &mlp.norm.w, &mlp.norm.b);
        let hid = sized(&mut b.hidden, l * g.mlp_hidden);
        linear(par, &mlp.fc1, &b.xn[..l * c], l, hid, false);
        gelu_inplace(par, hid);
        linear(
            par,
            &mlp.fc2,
            &b.hidden[..l * g.mlp_hidden],
            l,
            &mut b.x[..l * c],
            true,
        );
    }
}

/// x += out_proj(SS2D(xn)), with xn = LN(x) already in `b.xn`.
fn ss2d(par: Par, op: &Ss2dW, g: &StageGeometry, n: usize, b: &mut Buffers) {
    let (l, c, e, r) = (g.height * g.width, g.dim, g.inner, g.dt_rank);
    let dims = ScanDims {
        h: g.height,
        w: g.width,
        e,
        n,
        r,
    };
    let row = dims.dbl_row();
    let xn = &b.xn[..l * c];
    linear(par, &op.in_x, xn, l, sized(&mut b.xin, l * e), false);
    if let Some(in_z) = &op.in_z {
        linear(par, in_z, xn, l, sized(&mut b.z, l * e), false);
    }
    let u = sized(&mut b.u, l * e);
    depthwise3x3_silu(
        par,
        &b.xin[..l * e],
        g.height,
        g.width,
        e,
        &op.conv_w9,
        op.conv_b.as_deref(),
        u,
    );
    matmul(
        par,
        &b.u[..l * e],
        e,
        l,
        &op.x_proj,
        None,
        sized(&mut b.dbl, l * row),
        false,
    );
    let delta = sized(&mut b.delta, 4 * l * e);
    for (k, dt_proj) in op.dt_proj.iter().enumerate() {
        // dt is the first R columns of direction k's slice of the fused x_proj output.
        let dbl_k = &b.dbl[k * (r + 2 * n)..l * row];
        matmul(
            par,
            dbl_k,
            row,
            l,
            dt_proj,
            None,
            &mut delta[k * l * e..(k + 1) * l * e],
            false,
        );
    }
    let y = sized(&mut b.y, l * e);
    let params = ScanParams {
        a_neg: &op.a_neg,
        dt_bias: &op.dt_bias,
        d: &op.d,
    };
    let inputs = ScanInputs {
        u: &b.u[..l * e],
        delta_raw: &b.delta[..4 * l * e],
        dbl: &b.dbl[..l * row],
    };
    ss2d_scan(par, dims, &params, &inputs, y);
    layer_norm(par, y, e, &op.out_norm.w, &op.out_norm.b);
    if op.in_z.is_some() {
        let z = &b.z[..l * e];
        par.for_chunks(y, e * 64, |i, chunk| {
            let zc = &z[i * e * 64..];
            for (v, &zz) in chunk.iter_mut().zip(zc) {
                *v *= silu(zz);
            }
        });
    }
    linear(par, &op.out_proj, &b.y[..l * e], l, &mut b.x[..l * c], true);
}

/// Head on the backbone output `(h, w, c)` in `b.x`: writes clip logits and, for the
/// token-semantic head, framewise logits `[steps, classes]`.
pub(super) fn head(
    model: &Model,
    par: Par,
    hwc: (usize, usize, usize),
    b: &mut Buffers,
    clip: &mut [f32],
    frames: &mut Vec<f32>,
) {
    let (h, w, c) = hwc;
    let l = h * w;
    let m = model.config.num_classes();
    match &model.head {
        HeadW::Tscam { norm, conv: cv } => {
            ln(par, &mut b.x[..l * c], norm);
            // Undo the front end's window stacking: grid row wi*hf + f -> freq f, time wi*w + col.
            let fr = model.config.freq_ratio();
            let (hf, steps) = (h / fr, w * fr);
            let t = sized(&mut b.tmp, hf * steps * c);
            for wi in 0..fr {
                for f in 0..hf {
                    for col in 0..w {
                        let src = ((wi * hf + f) * w + col) * c;
                        let dst = (f * steps + wi * w + col) * c;
                        t[dst..dst + c].copy_from_slice(&b.x[src..src + c]);
                    }
                }
            }
            let (_, ow) = conv(
                par,
                cv,
                &b.tmp[..hf * steps * c],
                hf,
                steps,
                &mut b.cols,
                frames,
            );
            debug_assert_eq!(ow, steps);
            clip.fill(0.0);
            for row in frames[..steps * m].chunks_exact(m) {
                for (o, &v) in clip.iter_mut().zip(row) {
                    *o += v / steps as f32;
                }
            }
        }
        HeadW::Linear { norm, head: lin } => {
            ln(par, &mut b.x[..l * c], norm);
            let pooled = sized(&mut b.xn, c);
            pooled.fill(0.0);
            for tok in b.x[..l * c].chunks_exact(c) {
                for (p, &v) in pooled.iter_mut().zip(tok) {
                    *p += v;
                }
            }
            pooled.iter_mut().for_each(|p| *p /= l as f32);
            linear(par, lin, &b.xn[..c], 1, clip, false);
        }
    }
}
