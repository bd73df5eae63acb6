//! The model's forward pass as data, built once per model from its config and weights: a list
//! of ops over named activations. Each backend executes the same graph: the CPU executor
//! (`model/cpu.rs`) runs one window through the CPU kernels, the GPU executor (`gpu/plan.rs`)
//! maps each op to its dispatches for a batch of windows. A new config variant changes the
//! builder (`build.rs`) and, for a new op, one arm in each executor and the op's kernels.
//!
//! Shapes in ops are per window; a GPU executor running `b` windows multiplies the rows.

mod build;
pub mod weights;

pub(crate) use build::build;

use crate::kernels::scan::ScanDims;
use weights::{ConvId, DtId, DwId, LinId, NormId, ScanId};

/// Activations, each a per-window buffer the executor owns; `Cols` is the convolutions'
/// patch matrix, `Out` the window's outputs as [`OutLayout`] places them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Act {
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
    Y,
    Hidden,
    Logits,
    Out,
}

impl Act {
    pub const COUNT: usize = 14;
    /// Every activation, in the order of their discriminants (the executors' table index).
    pub const ALL: [Act; Act::COUNT] = [
        Act::Image,
        Act::X,
        Act::Xn,
        Act::Tmp,
        Act::Cols,
        Act::Xin,
        Act::Z,
        Act::U,
        Act::Dbl,
        Act::Delta,
        Act::Y,
        Act::Hidden,
        Act::Logits,
        Act::Out,
    ];
}

/// Intermediate activations a caller can observe (golden tests compare them with the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tap {
    /// The front end's image, `rows x cols`.
    Features,
    /// Patch embedding output, `(h, w, c)` token-major.
    PatchEmbed,
    /// Output of stage i before its downsample.
    Stage(usize),
}

/// What a linear op does with its product besides adding the bias.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epilogue {
    /// Add to the destination instead of overwriting it (residual connections).
    pub accumulate: bool,
    /// GELU after the bias (not with `accumulate`).
    pub gelu: bool,
}

#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `dst (h', w', cout) = conv(src (h, w, cin))`; `src` and `dst` differ.
    Conv {
        conv: ConvId,
        src: Act,
        dst: Act,
        h: usize,
        w: usize,
    },
    /// Rows of `c` values layer-normalised from `src` into `dst` (the same act: in place).
    LayerNorm {
        norm: NormId,
        src: Act,
        dst: Act,
        rows: usize,
        c: usize,
    },
    Gelu {
        x: Act,
        len: usize,
    },
    /// `dst[rows, n] (+)= src[rows, k] . W^T + b`; `src` and `dst` differ.
    Linear {
        lin: LinId,
        src: Act,
        dst: Act,
        rows: usize,
        epilogue: Epilogue,
    },
    /// `dst = SiLU(depthwise 3x3 (src) + b)` over an `(h, w, channels)` image.
    DwConvSilu {
        dw: DwId,
        src: Act,
        dst: Act,
        h: usize,
        w: usize,
        channels: usize,
    },
    /// Delta `[4][L][E]`: direction k's dt columns of `dbl` (the first R of its `R + 2N`)
    /// times its dt_proj transposed.
    DtProj {
        dt: DtId,
        dbl: Act,
        dst: Act,
        dims: ScanDims,
    },
    /// The SS2D core: the selective scan along the four directions, summed into `y [L][E]`,
    /// layer-normalised, and gated by SiLU(z) when there is a z.
    Scan {
        scan: ScanId,
        norm: NormId,
        u: Act,
        delta: Act,
        dbl: Act,
        z: Option<Act>,
        y: Act,
        dims: ScanDims,
    },
    /// `(h, w, c)` to `(h/2, w/2, 4c)`, VMamba's patch-merging order.
    PatchMerge {
        src: Act,
        dst: Act,
        h: usize,
        w: usize,
        c: usize,
    },
    /// Undoes the front end's window stacking: grid row `wi*hf + f` to frequency f, time
    /// `wi*w + col`, giving `(hf, w * h / hf, c)`.
    Unstack {
        src: Act,
        dst: Act,
        h: usize,
        w: usize,
        c: usize,
        hf: usize,
    },
    /// The embeddings, from `src` laid out `(rows, steps, c)`: frame t is the mean of its
    /// `rows` vectors, the clip the mean of the frames. Writes `[clip | frames]` into
    /// `Act::Out` at `at` (the clip only when `frames` is false).
    Embed {
        src: Act,
        rows: usize,
        steps: usize,
        c: usize,
        frames: bool,
        at: usize,
    },
    /// Mean over `tokens` rows of `c`.
    MeanPool {
        src: Act,
        dst: Act,
        tokens: usize,
        c: usize,
    },
    /// `Act::Out` from framewise logits `[steps][classes]` (the clip's are their mean) or,
    /// with `steps == 0`, clip logits.
    Finish {
        logits: Act,
        classes: usize,
        steps: usize,
    },
    /// An observation point: `len` floats of `act` (no work; backends without taps skip it).
    Tap {
        tap: Tap,
        act: Act,
        len: usize,
    },
}

/// Where one window's outputs sit in its block of `Act::Out`: `[clip logits | clip probs |
/// frame logits | frame probs | clip embedding | frame embeddings]`, frames `[steps][..]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutLayout {
    pub classes: usize,
    /// Framewise steps per window (0 for the linear head).
    pub steps: usize,
    /// Width of an embedding (0: the graph gives none).
    pub dim: usize,
}

impl OutLayout {
    /// Offset of the clip embedding (the frame embeddings follow it).
    pub fn embed_at(&self) -> usize {
        2 * self.classes + 2 * self.steps * self.classes
    }

    /// Floats of the whole block.
    pub fn len(&self) -> usize {
        self.embed_at() + self.dim * (1 + self.steps)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One model's forward pass.
pub struct Graph {
    pub ops: Vec<Op>,
    /// Floats each activation needs for one window.
    needs: [usize; Act::COUNT],
    pub out: OutLayout,
}

impl Graph {
    /// A graph of `ops` over `weights` (the builder's, or a test's fragment): each activation
    /// sized for the largest use any op makes of it, and `Act::Out` for one block of `out`.
    pub fn new<S: weights::Storage>(
        ops: Vec<Op>,
        weights: &weights::Weights<S>,
        out: OutLayout,
    ) -> Self {
        let mut needs = [0; Act::COUNT];
        needs[Act::Out as usize] = out.len();
        for op in &ops {
            op_needs(op, weights, &mut |a, floats| {
                let e = &mut needs[a as usize];
                *e = (*e).max(floats);
            });
        }
        assert_eq!(
            needs[Act::Out as usize],
            out.len(),
            "ops write outside the output layout {out:?}"
        );
        Self { ops, needs, out }
    }

    /// Floats `act` needs for one window.
    pub fn needs(&self, act: Act) -> usize {
        self.needs[act as usize]
    }
}

/// Calls `need(act, floats)` for every activation `op` reads or writes, with the floats of one
/// window it touches.
fn op_needs<S: weights::Storage>(
    op: &Op,
    w: &weights::Weights<S>,
    need: &mut dyn FnMut(Act, usize),
) {
    match *op {
        Op::Conv {
            conv,
            src,
            dst,
            h,
            w: wd,
        } => {
            let s = w[conv].shape;
            let (oh, ow) = s.out_size(h, wd);
            need(src, h * wd * s.cin);
            need(Act::Cols, oh * ow * s.patch_len());
            need(dst, oh * ow * s.cout);
        }
        Op::LayerNorm {
            src, dst, rows, c, ..
        } => {
            need(src, rows * c);
            need(dst, rows * c);
        }
        Op::Gelu { x, len } => need(x, len),
        Op::Linear {
            lin,
            src,
            dst,
            rows,
            ..
        } => {
            need(src, rows * w[lin].k);
            need(dst, rows * w[lin].n);
        }
        Op::DwConvSilu {
            src,
            dst,
            h,
            w: wd,
            channels,
            ..
        } => {
            need(src, h * wd * channels);
            need(dst, h * wd * channels);
        }
        Op::DtProj { dbl, dst, dims, .. } => {
            need(dbl, dims.len() * dims.dbl_row());
            need(dst, 4 * dims.len() * dims.e);
        }
        Op::Scan {
            u,
            delta,
            dbl,
            z,
            y,
            dims,
            ..
        } => {
            let le = dims.len() * dims.e;
            need(u, le);
            need(delta, 4 * le);
            need(dbl, dims.len() * dims.dbl_row());
            if let Some(z) = z {
                need(z, le);
            }
            need(y, le);
        }
        Op::PatchMerge {
            src,
            dst,
            h,
            w: wd,
            c,
        }
        | Op::Unstack {
            src,
            dst,
            h,
            w: wd,
            c,
            ..
        } => {
            need(src, h * wd * c);
            need(dst, h * wd * c);
        }
        Op::Embed {
            src,
            rows,
            steps,
            c,
            frames,
            at,
        } => {
            need(src, rows * steps * c);
            need(Act::Out, at + c * (1 + if frames { steps } else { 0 }));
        }
        Op::MeanPool {
            src,
            dst,
            tokens,
            c,
        } => {
            need(src, tokens * c);
            need(dst, c);
        }
        Op::Finish {
            logits,
            classes,
            steps,
        } => {
            need(logits, classes * steps.max(1));
            need(Act::Out, 2 * classes + 2 * steps * classes);
        }
        Op::Tap { act, len, .. } => need(act, len),
    }
}

#[cfg(test)]
mod tests {
    use super::Act;

    #[test]
    fn the_activation_table_is_indexed_by_discriminant() {
        for (i, a) in Act::ALL.into_iter().enumerate() {
            assert_eq!(a as usize, i, "{a:?}");
        }
    }
}
