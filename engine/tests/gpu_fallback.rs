//! Forced GPU failures: an invalid shader is an error, not a panic; a lost device mid-stream
//! moves a runner to the CPU path, which gives the CPU's results; the next runner gets a fresh
//! device. Its own test binary because it destroys the process-wide device.
#![cfg(feature = "gpu")]

use audio_mamba_engine::gpu::{AdapterPolicy, GpuContext, GpuError};
use audio_mamba_engine::testkit::gpu_or_skip;
use audio_mamba_engine::{BackendChoice, Error, Model, Session};
use std::path::PathBuf;
use std::sync::Arc;

fn golden_model() -> Arc<Model> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/golden-a.safetensors");
    Arc::new(Model::load(p).unwrap())
}

fn wave(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.1 * (i as f32 * 0.0071).sin())
        .collect()
}

#[test]
fn failures_become_errors_and_the_cpu_takes_over() {
    let Some(ctx) = gpu_or_skip("gpu_fallback") else {
        return;
    };
    eprintln!("adapter: {}", ctx.adapter());

    // An invalid shader: a validation error from inside an error scope.
    match ctx.compile_module("broken.wgsl", "@compute @workgroup_size(1) fn main( {") {
        Err(GpuError::Validation(msg)) => assert!(msg.contains("broken.wgsl"), "{msg}"),
        other => panic!("expected a validation error, got {:?}", other.map(|_| ())),
    }
    ctx.check()
        .expect("a caught shader error leaves the device usable");

    // auto never picks a CPU-emulated adapter.
    let model = golden_model();
    if ctx.adapter().cpu_emulated {
        let auto = Session::new(model.clone(), 1, BackendChoice::Auto, 4).unwrap();
        assert!(!auto.is_gpu(), "auto chose {}", auto.describe());
        assert!(
            auto.notice().is_some_and(|n| n.contains("CPU-emulated")),
            "{:?}",
            auto.notice()
        );
    }

    let w = wave(model.config().clip_samples());
    let mut cpu = Session::cpu(model.clone(), 1).unwrap();
    let expected = cpu.run(&w).unwrap().clip_probs.to_vec();
    let mut runner = Session::new(model.clone(), 1, BackendChoice::Gpu, 4).unwrap();
    assert!(
        runner.is_gpu() && runner.describe().starts_with("gpu: "),
        "{}",
        runner.describe()
    );
    let on_gpu = runner.run(&w).unwrap().clip_probs.to_vec();
    assert!(runner.take_gpu_failure().is_none());

    ctx.simulate_device_loss();
    let after = runner.run(&w).unwrap().clip_probs.to_vec();
    let why = runner
        .take_gpu_failure()
        .expect("the loss is reported to the caller");
    eprintln!("reported: {why}");
    assert!(why.to_lowercase().contains("lost"), "{why}");
    assert!(
        !runner.is_gpu() && runner.describe().starts_with("cpu"),
        "{}",
        runner.describe()
    );
    assert!(runner
        .notice()
        .is_some_and(|n| n.contains("continuing on the CPU")));
    assert_eq!(after, expected, "fallback runs the CPU path");
    for (g, c) in on_gpu.iter().zip(&expected) {
        assert!((g - c).abs() < 1e-3, "gpu {g} vs cpu {c}");
    }
    // Batches fall back too, and windows keep their order.
    let waves: Vec<&[f32]> = vec![&w, &w[..100]];
    let mut seen = Vec::new();
    runner
        .run_batch(&waves, &mut |i, p| seen.push((i, p.clip_probs.to_vec())))
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], (0, expected.clone()));

    // The lost device is replaced for the next caller.
    let fresh = GpuContext::shared(AdapterPolicy::Any).unwrap();
    assert!(!Arc::ptr_eq(&fresh, &ctx));
    let mut again = Session::new(model.clone(), 1, BackendChoice::Gpu, 2).unwrap();
    assert!(again.describe().starts_with("gpu: "));
    assert!(again.is_gpu());
    let p = again.run(&w).unwrap().clip_probs.to_vec();
    for (g, c) in p.iter().zip(&expected) {
        assert!((g - c).abs() < 1e-3, "gpu {g} vs cpu {c}");
    }

    // A loss in the middle of a stream: every window is delivered once, in order, the rest by
    // the CPU.
    let mut streaming = Session::new(model.clone(), 1, BackendChoice::Gpu, 1).unwrap();
    let device = GpuContext::shared(AdapterPolicy::Any).unwrap();
    let waves: Vec<&[f32]> = vec![&w, &w, &w];
    let mut seen = Vec::new();
    streaming
        .run_batch(&waves, &mut |i, p| {
            if i == 0 {
                device.simulate_device_loss();
            }
            seen.push((i, p.clip_probs.to_vec()));
        })
        .unwrap();
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(streaming.take_gpu_failure().is_some() && !streaming.is_gpu());
    for (_, p) in &seen {
        for (g, c) in p.iter().zip(&expected) {
            assert!((g - c).abs() < 1e-3, "{g} vs {c}");
        }
    }

    // Input errors are the caller's, not a reason to leave the GPU.
    let too_long = vec![0.0; model.config().clip_samples() + 1];
    assert!(matches!(
        again.run(&too_long),
        Err(Error::InputTooLong { .. })
    ));
    assert!(again.is_gpu());
}

#[test]
fn backend_choice_parses() {
    for (s, c) in [
        ("auto", BackendChoice::Auto),
        ("CPU", BackendChoice::Cpu),
        (" gpu ", BackendChoice::Gpu),
    ] {
        assert_eq!(s.parse::<BackendChoice>().unwrap(), c);
    }
    assert!("cuda".parse::<BackendChoice>().is_err());
}

#[test]
fn sessions_can_move_to_worker_threads() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Session>();
    send_sync::<GpuContext>();
}
