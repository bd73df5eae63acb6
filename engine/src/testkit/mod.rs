//! The engine's test kit (feature `testkit`, for tests only): graph fragments run on every
//! backend through the executors the model uses, and the helpers every test shares (golden
//! files, seeded random data, relative L2). The f64 references the tests compare against live
//! in the tests themselves, apart from the code they check.

mod ops;

pub use ops::{GraphOps, Ops, ScanCase, TscamCase};

use crate::graph::weights::{Host, Weights};
use crate::graph::{Act, Graph};
use crate::kernels::par::Par;
use std::path::PathBuf;

/// Where a fragment runs.
#[derive(Clone)]
pub enum Backend {
    Cpu(Par),
    #[cfg(feature = "gpu")]
    Gpu(std::sync::Arc<crate::gpu::GpuContext>),
}

impl Backend {
    pub fn name(&self) -> String {
        match self {
            Backend::Cpu(par) => format!("cpu ({} threads)", par.threads()),
            #[cfg(feature = "gpu")]
            Backend::Gpu(ctx) => format!("gpu {}", ctx.adapter()),
        }
    }
}

/// Runs `graph` (a fragment of ops over `weights`) for `windows` windows and returns `output`.
/// Inputs and the output hold every window back to back as the GPU executor lays out a batch:
/// window-major, except `Act::Delta`, which is `[4][windows L][E]` (one plane per direction).
/// The CPU executor runs the windows one at a time.
pub fn run(
    backend: &Backend,
    graph: &Graph,
    weights: &Weights<Host>,
    windows: usize,
    inputs: &[(Act, &[f32])],
    output: Act,
) -> Vec<f32> {
    match backend {
        Backend::Cpu(par) => {
            let mut out = Vec::new();
            for win in 0..windows {
                let mut acts = crate::model::cpu::Acts::new(graph);
                for &(a, data) in inputs {
                    window_in(a, data, windows, win, acts.get_mut(a));
                }
                crate::model::cpu::execute(graph, weights, *par, &mut acts, &mut None);
                out.push(acts.get(output).to_vec());
            }
            batch_out(output, &out)
        }
        #[cfg(feature = "gpu")]
        Backend::Gpu(ctx) => {
            let out = crate::gpu::run_graph(ctx, graph, weights, windows, inputs, output)
                .unwrap_or_else(|e| panic!("GPU fragment: {e}"));
            out[..windows * graph.needs(output)].to_vec()
        }
    }
}

/// Window `win`'s part of a batch-laid-out input, into one window's activation `dst`.
fn window_in(a: Act, data: &[f32], windows: usize, win: usize, dst: &mut [f32]) {
    let n = dst.len();
    if a == Act::Delta {
        let plane = n / 4;
        for z in 0..4 {
            let from = &data[(z * windows + win) * plane..][..plane];
            dst[z * plane..(z + 1) * plane].copy_from_slice(from);
        }
    } else {
        dst.copy_from_slice(&data[win * n..(win + 1) * n]);
    }
}

/// Per-window outputs laid out as a batch.
fn batch_out(a: Act, per_window: &[Vec<f32>]) -> Vec<f32> {
    if a != Act::Delta {
        return per_window.concat();
    }
    let plane = per_window.first().map_or(0, |w| w.len() / 4);
    (0..4)
        .flat_map(|z| {
            per_window
                .iter()
                .flat_map(move |w| &w[z * plane..(z + 1) * plane])
        })
        .copied()
        .collect()
}

/// Set to 1 (CI does) to make a missing GPU adapter fail the GPU tests instead of skipping them.
pub const REQUIRE_GPU_ENV: &str = crate::env::REQUIRE_GPU;

/// The shared GPU device (any adapter, CPU-emulated included), or None with a message on
/// stderr when there is no adapter (a failure when `AUDIO_MAMBA_REQUIRE_GPU=1`).
#[cfg(feature = "gpu")]
pub fn gpu_or_skip(test: &str) -> Option<std::sync::Arc<crate::gpu::GpuContext>> {
    use crate::gpu::{AdapterPolicy, GpuContext};
    match GpuContext::shared(AdapterPolicy::Any) {
        Ok(ctx) => Some(ctx),
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

/// The golden vectors of `tests/golden/`: per config NAME, the model `NAME.safetensors` and
/// the PyTorch reference's tensors `NAME.golden.safetensors`.
pub fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// Every golden config's name, sorted.
pub fn golden_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir())
        .expect("tests/golden")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".golden.safetensors").map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The reference's tensors of golden config `name` (f32), by name.
pub fn golden_tensors(name: &str) -> std::collections::HashMap<String, Vec<f32>> {
    let path = golden_dir().join(format!("{name}.golden.safetensors"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("golden safetensors");
    st.iter()
        .map(|(name, v)| {
            let vals = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name.to_string(), vals)
        })
        .collect()
}

/// Relative L2 distance ||a - b|| / ||b||.
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let den: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (num / den.max(1e-30)).sqrt()
}

/// Fails unless `a` is finite and within relative L2 `tol` of `b`.
#[track_caller]
pub fn assert_close(a: &[f32], b: &[f32], tol: f64, what: &str) {
    assert!(a.iter().all(|v| v.is_finite()), "{what}: non-finite output");
    let e = rel_l2(a, b);
    assert!(e <= tol, "{what}: relative L2 error {e:e} > {tol:e}");
}

/// Uniform values in [-1, 1) from a seeded xorshift generator.
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
