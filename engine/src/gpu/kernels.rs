//! The WGSL kernels and one constructor per op that fills in a kernel's parameters, bindings and
//! grid. Constructors describe dispatches; [`super::plan`] strings them into a forward pass and
//! the test kit (`crate::testkit`) runs one-op graphs through them against plain references.

use crate::kernels::nn::ConvShape;

const MATMUL: &str = include_str!("../../shaders/matmul.wgsl");
const LAYERNORM: &str = include_str!("../../shaders/layernorm.wgsl");
const CONV: &str = include_str!("../../shaders/conv.wgsl");
const LAYOUT: &str = include_str!("../../shaders/layout.wgsl");
const HEAD: &str = include_str!("../../shaders/head.wgsl");
const SCAN: &str = include_str!("../../shaders/scan.wgsl");

/// Largest state group the scan keeps in registers (the size of its private arrays).
const SCAN_GROUP_MAX: usize = 16;
/// WebGPU guarantees at least this many workgroups per grid dimension.
const MAX_GROUPS: u32 = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kernel {
    Matmul,
    MatmulReduce,
    LnCopy,
    LnInplace,
    MergeLnGate,
    Im2col,
    DwconvSilu,
    PatchMerge,
    Unstack,
    Gelu,
    MeanPool,
    HeadFinish,
    Embed,
    /// The state group size is a pipeline constant.
    ScanChunk(u32),
    ScanApply(u32),
}

impl Kernel {
    pub(crate) fn source(self) -> (&'static str, &'static str) {
        use Kernel::*;
        match self {
            Matmul | MatmulReduce => ("matmul.wgsl", MATMUL),
            LnCopy | LnInplace | MergeLnGate => ("layernorm.wgsl", LAYERNORM),
            Im2col | DwconvSilu => ("conv.wgsl", CONV),
            PatchMerge | Unstack => ("layout.wgsl", LAYOUT),
            Gelu | MeanPool | HeadFinish | Embed => ("head.wgsl", HEAD),
            ScanChunk(_) | ScanApply(_) => ("scan.wgsl", SCAN),
        }
    }

    pub(crate) fn entry(self) -> &'static str {
        use Kernel::*;
        match self {
            Matmul => "main",
            MatmulReduce => "reduce",
            LnCopy => "ln_copy",
            LnInplace => "ln_inplace",
            MergeLnGate => "merge_ln_gate",
            Im2col => "im2col",
            DwconvSilu => "dwconv_silu",
            PatchMerge => "patch_merge",
            Unstack => "unstack",
            Gelu => "gelu",
            MeanPool => "mean_pool",
            HeadFinish => "head_finish",
            Embed => "embed",
            ScanChunk(_) => "scan_chunk",
            ScanApply(_) => "scan_apply",
        }
    }

    pub(crate) fn constants(self) -> Vec<(&'static str, f64)> {
        match self {
            Kernel::ScanChunk(g) | Kernel::ScanApply(g) => vec![("GROUP", g as f64)],
            _ => Vec::new(),
        }
    }
}

/// What a binding points at: a session activation buffer (allocated after the whole pass is
/// described, at its largest size), a buffer of its own (weights, test data), or nothing.
#[derive(Clone, Debug)]
pub(crate) enum Bind<A> {
    Act(A),
    Buf(wgpu::Buffer),
    Unused,
}

#[derive(Clone, Debug)]
pub(crate) struct Dispatch<A> {
    pub kernel: Kernel,
    pub params: Vec<u32>,
    /// (binding index, resource); binding 0 is always the parameter block.
    pub binds: Vec<(u32, Bind<A>)>,
    pub groups: [u32; 3],
}

fn u(x: usize) -> u32 {
    debug_assert!(x <= u32::MAX as usize);
    x as u32
}

/// A grid of `n` workgroups folded into two dimensions; kernels rebuild the flat index and skip
/// the tail.
fn grid(n: usize) -> [u32; 3] {
    let n = u(n.max(1));
    if n <= MAX_GROUPS {
        [n, 1, 1]
    } else {
        [MAX_GROUPS, n.div_ceil(MAX_GROUPS), 1]
    }
}

/// A matrix operand: `buf[off + z * z_stride + row * rs + col]`.
#[derive(Clone, Debug)]
pub(crate) struct Operand<A> {
    pub buf: Bind<A>,
    pub rs: usize,
    pub off: usize,
    pub z: usize,
}

impl<A> Operand<A> {
    pub fn dense(buf: Bind<A>, rs: usize) -> Self {
        Self {
            buf,
            rs,
            off: 0,
            z: 0,
        }
    }
}

/// What a matrix product does besides adding the bias: the graph's epilogue.
pub(crate) use crate::graph::Epilogue;

/// `out[z][m, n] (+)= a[z][m, k] . w[z][n, k]^T (+ bias)`, for `zs` values of z.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul<A>(
    (m, n, k): (usize, usize, usize),
    a: Operand<A>,
    w: Operand<A>,
    bias: Option<Bind<A>>,
    out: Operand<A>,
    zs: usize,
    epi: Epilogue,
) -> Dispatch<A> {
    matmul_params((m, n, k), a, w, bias, out, zs, epi, (1, k.max(1)))
}

/// Workgroups under which a product splits k (about two per SM of a large GPU), and the least k
/// a split covers.
const SPLIT_BELOW: usize = 256;
const SPLIT_MIN_K: usize = 128;

/// How many splits of k, and the k each covers (a multiple of the 16-deep k tile), for a
/// product of `m x n` outputs: 1 when its 64 x 64 tiles already fill the GPU or k is short.
pub(crate) fn k_splits(m: usize, n: usize, k: usize) -> (usize, usize) {
    let tiles = m.div_ceil(64) * n.div_ceil(64);
    if tiles >= SPLIT_BELOW || k < 2 * SPLIT_MIN_K {
        return (1, k.max(1));
    }
    let want = SPLIT_BELOW
        .div_ceil(tiles)
        .min(k / SPLIT_MIN_K)
        .clamp(1, 64);
    let chunk = k.div_ceil(want).next_multiple_of(16);
    (k.div_ceil(chunk), chunk)
}

/// `out[m, n] (+)= a[m, k] . w[n, k]^T (+ bias)` as one dispatch, or as split k (see
/// matmul.wgsl) when [`k_splits`] says so: then `scratch(floats)` gives the partials' buffer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear<A: Clone>(
    (m, n, k): (usize, usize, usize),
    a: Operand<A>,
    w: Operand<A>,
    bias: Option<Bind<A>>,
    out: Operand<A>,
    epi: Epilogue,
    scratch: impl FnOnce(usize) -> Bind<A>,
) -> Vec<Dispatch<A>> {
    let (splits, chunk) = k_splits(m, n, k);
    if splits == 1 {
        return vec![matmul((m, n, k), a, w, bias, out, 1, epi)];
    }
    let part = scratch(splits * m * n);
    let first = matmul_params(
        (m, n, k),
        a,
        w,
        None,
        Operand::dense(part.clone(), n),
        splits,
        Epilogue::default(),
        (splits, chunk),
    );
    let mut second = matmul_params(
        (m, n, k),
        Operand::dense(part, k),
        Operand::dense(Bind::Unused, k),
        bias,
        out,
        1,
        epi,
        (splits, chunk),
    );
    second.kernel = Kernel::MatmulReduce;
    second.binds.retain(|(slot, _)| *slot != 2);
    second.groups = grid((m * n).div_ceil(64));
    vec![first, second]
}

/// The parameter block, bindings and grid of a product; `zs` is the grid's z extent.
#[allow(clippy::too_many_arguments)]
fn matmul_params<A>(
    (m, n, k): (usize, usize, usize),
    a: Operand<A>,
    w: Operand<A>,
    bias: Option<Bind<A>>,
    out: Operand<A>,
    zs: usize,
    epi: Epilogue,
    (splits, chunk): (usize, usize),
) -> Dispatch<A> {
    let flags = bias.is_some() as u32 | (epi.accumulate as u32) << 1 | (epi.gelu as u32) << 2;
    Dispatch {
        kernel: Kernel::Matmul,
        params: [
            m, n, k, a.rs, a.off, a.z, w.off, w.z, out.rs, out.off, out.z,
        ]
        .map(u)
        .into_iter()
        .chain([flags, u(splits), u(chunk)])
        .collect(),
        binds: vec![
            (1, a.buf),
            (2, w.buf),
            (3, bias.unwrap_or(Bind::Unused)),
            (4, out.buf),
        ],
        groups: [u(n.div_ceil(64)), u(m.div_ceil(64)), u(zs)],
    }
}

/// LayerNorm weights as bindings.
pub(crate) struct Norm<A> {
    pub w: Bind<A>,
    pub b: Bind<A>,
}

/// `dst = LN(src)` over rows of `c`.
pub(crate) fn ln_copy<A>(
    rows: usize,
    c: usize,
    src: Bind<A>,
    dst: Bind<A>,
    n: Norm<A>,
) -> Dispatch<A> {
    Dispatch {
        kernel: Kernel::LnCopy,
        params: vec![u(rows), u(c), 0, 0],
        binds: vec![(1, n.w), (2, n.b), (3, src), (4, dst)],
        groups: grid(rows),
    }
}

pub(crate) fn ln_inplace<A>(rows: usize, c: usize, x: Bind<A>, n: Norm<A>) -> Dispatch<A> {
    Dispatch {
        kernel: Kernel::LnInplace,
        params: vec![u(rows), u(c), 0, 0],
        binds: vec![(1, n.w), (2, n.b), (4, x)],
        groups: grid(rows),
    }
}

/// `dst = LN(sum of the 4 planes of y4) (* SiLU(z))`; planes are `plane` floats apart.
pub(crate) fn merge_ln_gate<A>(
    rows: usize,
    c: usize,
    plane: usize,
    y4: Bind<A>,
    z: Option<Bind<A>>,
    dst: Bind<A>,
    n: Norm<A>,
) -> Dispatch<A> {
    let gate = z.is_some() as u32;
    Dispatch {
        kernel: Kernel::MergeLnGate,
        params: vec![u(rows), u(c), u(plane), gate],
        binds: vec![
            (1, n.w),
            (2, n.b),
            (3, y4),
            (4, dst),
            (5, z.unwrap_or(Bind::Unused)),
        ],
        groups: grid(rows),
    }
}

/// im2col of `windows` images `(h, w, cin)` for a convolution of shape `s`.
pub(crate) fn im2col<A>(
    windows: usize,
    h: usize,
    w: usize,
    s: &ConvShape,
    src: Bind<A>,
    dst: Bind<A>,
) -> Dispatch<A> {
    let (oh, ow) = s.out_size(h, w);
    let total = windows * oh * ow * s.patch_len();
    Dispatch {
        kernel: Kernel::Im2col,
        params: [
            total, h, w, s.cin, s.kh, s.kw, s.stride, s.ph, s.pw, oh, ow, 0,
        ]
        .map(u)
        .to_vec(),
        binds: vec![(1, src), (2, dst)],
        groups: grid(total.div_ceil(256)),
    }
}

/// `dst = SiLU(depthwise3x3(src) + bias)` on `windows` grids `(h, w, c)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dwconv_silu<A>(
    windows: usize,
    h: usize,
    w: usize,
    c: usize,
    src: Bind<A>,
    w9: Bind<A>,
    bias: Option<Bind<A>>,
    dst: Bind<A>,
) -> Dispatch<A> {
    let total = windows * h * w * c;
    Dispatch {
        kernel: Kernel::DwconvSilu,
        params: [total, h, w, c, 3, 3, 1, 1, 1, h, w, bias.is_some() as usize]
            .map(u)
            .to_vec(),
        binds: vec![
            (1, src),
            (2, dst),
            (3, w9),
            (4, bias.unwrap_or(Bind::Unused)),
        ],
        groups: grid(total.div_ceil(256)),
    }
}

pub(crate) fn patch_merge<A>(
    windows: usize,
    h: usize,
    w: usize,
    c: usize,
    src: Bind<A>,
    dst: Bind<A>,
) -> Dispatch<A> {
    let total = windows * h * w * c;
    Dispatch {
        kernel: Kernel::PatchMerge,
        params: vec![u(total), u(h), u(w), u(c), 0],
        binds: vec![(1, src), (2, dst)],
        groups: grid(total.div_ceil(256)),
    }
}

/// Token-semantic head reorder of `(h, w, c)` grids with `hf` frequency rows per window.
pub(crate) fn unstack<A>(
    windows: usize,
    h: usize,
    w: usize,
    c: usize,
    hf: usize,
    src: Bind<A>,
    dst: Bind<A>,
) -> Dispatch<A> {
    let total = windows * h * w * c;
    Dispatch {
        kernel: Kernel::Unstack,
        params: vec![u(total), u(h), u(w), u(c), u(hf)],
        binds: vec![(1, src), (2, dst)],
        groups: grid(total.div_ceil(256)),
    }
}

pub(crate) fn gelu<A>(n: usize, x: Bind<A>) -> Dispatch<A> {
    Dispatch {
        kernel: Kernel::Gelu,
        params: vec![u(n), 0, 0],
        binds: vec![(3, x)],
        groups: grid(n.div_ceil(256)),
    }
}

pub(crate) fn mean_pool<A>(
    windows: usize,
    l: usize,
    c: usize,
    src: Bind<A>,
    dst: Bind<A>,
) -> Dispatch<A> {
    Dispatch {
        kernel: Kernel::MeanPool,
        params: vec![u(windows * c), u(l), u(c)],
        binds: vec![(1, src), (2, dst)],
        groups: grid((windows * c).div_ceil(256)),
    }
}

/// Per window `[clip logits | clip probs | frame logits | frame probs]` from framewise logits
/// (`steps > 0`) or clip logits, at the start of each window's `stride` floats of `dst`.
pub(crate) fn head_finish<A>(
    windows: usize,
    m: usize,
    steps: usize,
    stride: usize,
    src: Bind<A>,
    dst: Bind<A>,
) -> Dispatch<A> {
    Dispatch {
        kernel: Kernel::HeadFinish,
        params: vec![u(windows * m), u(steps), u(m), u(stride)],
        binds: vec![(1, src), (2, dst)],
        groups: grid((windows * m).div_ceil(256)),
    }
}

/// An [`crate::graph::Op::Embed`]: `src` per window `(rows, steps, c)`, written at `at` of
/// each window's `stride` floats of the output.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EmbedShape {
    pub rows: usize,
    pub steps: usize,
    pub c: usize,
    pub frames: bool,
    pub at: usize,
    pub stride: usize,
}

pub(crate) fn embed<A>(windows: usize, e: EmbedShape, src: Bind<A>, dst: Bind<A>) -> Dispatch<A> {
    let total = windows * e.c;
    Dispatch {
        kernel: Kernel::Embed,
        params: vec![
            u(total),
            u(e.steps),
            u(e.c),
            u(e.stride),
            u(e.rows),
            u(e.at),
            u(e.frames as usize),
        ],
        binds: vec![(1, src), (2, dst)],
        groups: grid(total.div_ceil(256)),
    }
}

/// Geometry of one SS2D scan over `windows` grids.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScanShape {
    pub windows: usize,
    pub h: usize,
    pub w: usize,
    pub e: usize,
    pub n: usize,
    pub r: usize,
}

impl ScanShape {
    fn l(&self) -> usize {
        self.h * self.w
    }
    /// Time steps per chunk: about 64 chunks on long sequences, never under 16 steps.
    pub fn chunk(&self) -> usize {
        self.l().div_ceil(64).max(16)
    }
    pub fn chunks(&self) -> usize {
        self.l().div_ceil(self.chunk())
    }
    /// Floats of the chunk summaries.
    pub fn summary_len(&self) -> usize {
        self.windows * 4 * self.chunks() * (self.n + 1) * self.e
    }
    /// Floats of one direction plane of delta and y4.
    pub fn plane(&self) -> usize {
        self.windows * self.l() * self.e
    }
    fn params(&self) -> Vec<u32> {
        let total = self.windows * 4 * self.e * self.chunks();
        [
            total,
            self.l(),
            self.h,
            self.w,
            self.e,
            self.n,
            self.r,
            4 * (self.r + 2 * self.n),
            self.chunks(),
            self.chunk(),
            self.plane(),
        ]
        .map(u)
        .to_vec()
    }
    fn group(&self) -> u32 {
        u(self.n.clamp(1, SCAN_GROUP_MAX))
    }
    fn grid(&self) -> [u32; 3] {
        grid((self.windows * 4 * self.e * self.chunks()).div_ceil(64))
    }
}

/// Scan inputs: u `[windows L, E]`, delta_raw `[4][windows L][E]`, dbl `[windows L][4 (R+2N)]`,
/// and the layer's `[dt_bias | D | A]` block.
pub(crate) struct ScanIo<A> {
    pub u: Bind<A>,
    pub delta: Bind<A>,
    pub dbl: Bind<A>,
    pub params: Bind<A>,
}

/// The two passes of the chunked scan; y4 receives each direction's output in token order.
pub(crate) fn scan<A: Clone>(
    s: ScanShape,
    io: ScanIo<A>,
    summ: Bind<A>,
    y4: Bind<A>,
) -> [Dispatch<A>; 2] {
    let common = vec![(1, io.u), (2, io.delta), (3, io.dbl), (4, io.params)];
    let mut chunk = common.clone();
    chunk.push((5, summ.clone()));
    let mut apply = common;
    apply.extend([(6, y4), (7, summ)]);
    [
        Dispatch {
            kernel: Kernel::ScanChunk(s.group()),
            params: s.params(),
            binds: chunk,
            groups: s.grid(),
        },
        Dispatch {
            kernel: Kernel::ScanApply(s.group()),
            params: s.params(),
            binds: apply,
            groups: s.grid(),
        },
    ]
}

#[cfg(test)]
mod split_tests {
    use super::k_splits;

    #[test]
    fn k_is_split_only_where_the_tiles_are_few_and_k_is_long() {
        assert_eq!(k_splits(4096, 384, 1536).0, 1, "enough tiles");
        assert_eq!(k_splits(64, 768, 200).0, 1, "short k");
        for (m, n, k) in [
            (64, 768, 3072),
            (32, 527, 4608),
            (5, 70, 700),
            (64, 200, 300),
        ] {
            let (splits, chunk) = k_splits(m, n, k);
            assert!(splits > 1, "{m}x{n}x{k}");
            assert_eq!(chunk % 16, 0);
            assert!(
                (splits - 1) * chunk < k && k <= splits * chunk,
                "{splits} x {chunk} for {k}"
            );
        }
    }
}
