//! Each op family behind one interface with a CPU and a GPU implementation, so a test states one
//! expectation and runs it on every backend (engine/tests/gpu_kernels.rs). Not a public API.

mod cpu;
mod gpu;

pub use cpu::CpuOps;
pub use gpu::GpuOps;

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
    /// LN(sum of the 4 planes of y4) * SiLU(z).
    fn merge_ln_gate(
        &self,
        y4: &[f32],
        c: usize,
        z: Option<&[f32]>,
        w: &[f32],
        b: &[f32],
    ) -> Vec<f32>;
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
    /// Sum over the four directions, `[windows L, E]`.
    fn ss2d_scan(&self, case: &ScanCase) -> Vec<f32>;
    /// Per window `[clip logits | clip probs | frame logits | frame probs]`.
    fn tscam_head(&self, case: &TscamCase) -> Vec<f32>;
    /// Mean over `l` tokens, Linear, sigmoid: per window `[clip logits | clip probs]`.
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

/// Set to 1 (CI does) to make a missing GPU adapter fail the GPU tests instead of skipping them.
pub const REQUIRE_GPU_ENV: &str = crate::env::REQUIRE_GPU;

/// The GPU ops on the shared device, or None with a message on stderr when there is no adapter
/// (a failure when `AUDIO_MAMBA_REQUIRE_GPU=1`).
pub fn gpu_or_skip(test: &str) -> Option<GpuOps> {
    match GpuOps::new() {
        Ok(ops) => Some(ops),
        Err(e) if crate::env::require_gpu() => {
            panic!("{test}: {REQUIRE_GPU_ENV}=1 but no GPU adapter: {e}")
        }
        Err(e) => {
            eprintln!(
                "{test}: skipped, no GPU adapter ({e}); install mesa-vulkan-drivers for lavapipe"
            );
            None
        }
    }
}
