//! `amtag bench`: median time per window of a model config (random weights) or model file on
//! this machine, with the machine's single-precision GEMM rate as the yardstick; or, with
//! `--backend gpu` or `--batch N`, the time per window of batches on the chosen backend.

use anyhow::{anyhow, Result};
use audio_mamba_engine::{BackendChoice, Model, ModelConfig, Session};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const CONFIGS: &[(&str, &str)] = &[
    ("tiny", include_str!("../../training/configs/tiny.json")),
    ("micro", include_str!("../../training/configs/micro.json")),
    ("nano", include_str!("../../training/configs/nano.json")),
];

/// A named config (tiny, micro, nano), a config JSON file, or a model file.
pub fn resolve(spec: &str, seconds: Option<f64>) -> Result<Model> {
    if spec.ends_with(".safetensors") {
        if seconds.is_some() {
            return Err(anyhow!("--seconds applies to configs, not model files"));
        }
        return Ok(Model::load(spec)?);
    }
    let json = match CONFIGS.iter().find(|(n, _)| *n == spec) {
        Some((_, j)) => j.to_string(),
        None => std::fs::read_to_string(Path::new(spec)).map_err(|e| {
            anyhow!("{spec}: not tiny|micro|nano, a config file or a model file ({e})")
        })?,
    };
    let mut cfg = ModelConfig::from_json(&json)?;
    if let Some(s) = seconds {
        cfg = cfg.with_clip_seconds(s)?;
    }
    Ok(Model::random(cfg, 1)?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// GFLOP/s of the `gemm` crate on a 1024^3 product with the same threads: this machine's sgemm.
fn sgemm_gflops(threads: usize) -> f64 {
    let n = 1024;
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            // SAFETY: all three buffers are n x n, row-major with the strides given.
            pool.install(|| unsafe {
                gemm::gemm(
                    n,
                    n,
                    n,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    n as isize,
                    b.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    par,
                )
            });
            t.elapsed().as_secs_f64()
        })
        .collect();
    2.0 * (n * n * n) as f64 / median(times) / 1e9
}

pub fn run(spec: &str, seconds: Option<f64>, threads: usize, iters: usize) -> Result<()> {
    let model = Arc::new(resolve(spec, seconds)?);
    let cfg = model.config().clone();
    let mut session = Session::cpu(model.clone(), threads)?;
    let wave: Vec<f32> = (0..cfg.clip_samples())
        .map(|i| 0.3 * ((i as f32 * 0.013).sin() + (i as f32 * 0.0021).sin()))
        .collect();
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        session.run(&wave)?;
        times.push(t.elapsed().as_secs_f64());
    }
    let ms = median(times) * 1e3;
    let gflops = 2.0 * cfg.macs() as f64 / (ms / 1e3) / 1e9;
    let peak = sgemm_gflops(threads);
    println!(
        "{{\"model\":\"{}\",\"backend\":\"cpu\",\"threads\":{threads},\"window_s\":{:.2},\"parameters\":{},\"gmacs\":{:.3},\"median_ms\":{ms:.2},\"windows_per_s\":{:.2},\"realtime_factor\":{:.1},\"gflops\":{gflops:.1},\"sgemm_gflops\":{peak:.1},\"fraction_of_sgemm\":{:.3}}}",
        cfg.name,
        cfg.clip_seconds(),
        model.parameter_count(),
        cfg.macs() as f64 / 1e9,
        1e3 / ms,
        cfg.clip_seconds() / (ms / 1e3),
        gflops / peak
    );
    Ok(())
}

/// One batch of `batch` windows on the GPU (any adapter), one dispatch per submission, after a
/// warm-up batch: one JSON line with the time per kernel (summed over its dispatches, largest
/// first) and the 12 slowest dispatches.
pub fn profile(spec: &str, seconds: Option<f64>, batch: usize, threads: usize) -> Result<()> {
    let model = Arc::new(resolve(spec, seconds)?);
    let clip = model.config().clip_samples();
    let mut session = Session::new(model.clone(), threads, BackendChoice::Gpu, batch.max(1))
        .map_err(|e| anyhow!("{e}"))?;
    let waves: Vec<Vec<f32>> = (0..session.batch_capacity().min(batch.max(1)))
        .map(|b| {
            (0..clip)
                .map(|i| 0.3 * (i as f32 * (0.013 + 0.001 * b as f32)).sin())
                .collect()
        })
        .collect();
    let refs: Vec<&[f32]> = waves.iter().map(|w| &w[..]).collect();
    session.profile(&refs)?;
    let steps = session.profile(&refs)?;
    let total: f64 = steps.iter().map(|(_, t)| t.as_secs_f64()).sum();
    let mut by_kernel: Vec<(String, f64, usize)> = Vec::new();
    for (label, t) in &steps {
        let name = label.split(' ').next().unwrap_or("").to_string();
        match by_kernel.iter_mut().find(|(n, _, _)| *n == name) {
            Some(e) => {
                e.1 += t.as_secs_f64();
                e.2 += 1;
            }
            None => by_kernel.push((name, t.as_secs_f64(), 1)),
        }
    }
    by_kernel.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut slowest: Vec<_> = steps.iter().collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.1));
    let v = serde_json::json!({
        "model": model.config().name,
        "backend": session.describe(),
        "batch": refs.len(),
        "dispatches": steps.len(),
        "total_ms": total * 1e3,
        "by_kernel": by_kernel.iter().map(|(n, t, c)| serde_json::json!({
            "kernel": n, "ms": t * 1e3, "dispatches": c})).collect::<Vec<_>>(),
        "slowest": slowest.iter().take(12).map(|(l, t)| serde_json::json!({
            "dispatch": l, "ms": t.as_secs_f64() * 1e3})).collect::<Vec<_>>(),
    });
    println!("{v}");
    Ok(())
}

/// Times `iters` batches of `batch` windows on `backend` (after one untimed batch that compiles
/// the GPU kernels) and prints one JSON line: the adapter, median ms per batch and per window,
/// windows per second. Front end (CPU) and readback are included: it is what a caller gets.
pub fn run_backend(
    spec: &str,
    seconds: Option<f64>,
    backend: BackendChoice,
    batch: usize,
    threads: usize,
    iters: usize,
) -> Result<()> {
    let model = Arc::new(resolve(spec, seconds)?);
    let cfg = model.config().clone();
    let batch = batch.max(1);
    let mut session = Session::new(model.clone(), threads, backend, batch)?;
    // Distinct windows, so no layer of the stack can serve a repeat from a cache.
    let waves: Vec<Vec<f32>> = (0..batch)
        .map(|b| {
            (0..cfg.clip_samples())
                .map(|i| {
                    0.3 * ((i as f32 * (0.013 + 0.001 * b as f32)).sin()
                        + (i as f32 * 0.0021).sin())
                })
                .collect()
        })
        .collect();
    let refs: Vec<&[f32]> = waves.iter().map(|w| &w[..]).collect();
    let mut sink = 0.0f32;
    let mut once = |r: &mut Session| -> Result<f64> {
        let t = Instant::now();
        r.run_batch(&refs, &mut |_, p| sink += p.clip_probs[0])?;
        Ok(t.elapsed().as_secs_f64())
    };
    once(&mut session)?;
    let times = (0..iters.max(1))
        .map(|_| once(&mut session))
        .collect::<Result<Vec<_>>>()?;
    if let Some(why) = session.take_gpu_failure() {
        return Err(anyhow!("GPU failed during the benchmark: {why}"));
    }
    let ms = median(times) * 1e3;
    let per_window = ms / batch as f64;
    let v = serde_json::json!({
        "model": cfg.name,
        "backend": session.describe(),
        "cpu_emulated_gpu": session.describe().contains("CPU-emulated"),
        "threads": threads,
        "batch": batch,
        "window_s": cfg.clip_seconds(),
        "parameters": model.parameter_count(),
        "gmacs": cfg.macs() as f64 / 1e9,
        "median_ms_per_batch": ms,
        "median_ms_per_window": per_window,
        "windows_per_s": 1e3 / per_window,
        "realtime_factor": cfg.clip_seconds() / (per_window / 1e3),
    });
    println!("{v}");
    std::hint::black_box(sink);
    Ok(())
}
