//! Whole-model parity of the GPU backend with the CPU path and the PyTorch golden vectors, on
//! every golden config (every variant of the config space, an F16 file among them). Runs on any
//! adapter, lavapipe included; skips without one unless AMTAG_REQUIRE_GPU=1.
#![cfg(feature = "gpu")]

mod common;

use audio_mamba_engine::gpu::testing::gpu_or_skip;
use audio_mamba_engine::gpu::{AdapterPolicy, GpuSession};
use audio_mamba_engine::{Model, Prediction, Session};
use common::{golden_dir, rel_l2};
use safetensors::SafeTensors;
use std::sync::Arc;

fn golden_tensor(name: &str, key: &str) -> Option<Vec<f32>> {
    let bytes = std::fs::read(golden_dir().join(format!("{name}.golden.safetensors"))).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(key).ok()?;
    Some(
        t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

fn golden_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".golden.safetensors").map(str::to_string))
        .collect();
    names.sort();
    names
}

struct Owned {
    clip: Vec<f32>,
    probs: Vec<f32>,
    frames: Option<Vec<f32>>,
}

fn own(p: &Prediction) -> Owned {
    Owned {
        clip: p.clip_logits.to_vec(),
        probs: p.clip_probs.to_vec(),
        frames: p.frame_logits.map(<[f32]>::to_vec),
    }
}

fn assert_parity(what: &str, gpu: &Owned, reference: &Owned) {
    let clip = rel_l2(&gpu.clip, &reference.clip);
    let frames = match (&gpu.frames, &reference.frames) {
        (Some(a), Some(b)) => rel_l2(a, b),
        (None, None) => 0.0,
        _ => panic!("{what}: framewise output on one side only"),
    };
    let probs = gpu
        .probs
        .iter()
        .zip(&reference.probs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("{what}: clip {clip:.2e}, frames {frames:.2e}, max |dprob| {probs:.2e}");
    assert!(
        clip < 1e-3 && frames < 1e-3 && probs < 1e-3,
        "{what}: clip {clip:e}, frames {frames:e}, probs {probs:e}"
    );
}

#[test]
fn gpu_matches_cpu_and_golden_on_every_config() {
    let Some(ops) = gpu_or_skip("gpu_parity") else {
        return;
    };
    let names = golden_names();
    assert!(names.len() >= 4, "golden configs: {names:?}");
    for name in &names {
        let model =
            Arc::new(Model::load(golden_dir().join(format!("{name}.safetensors"))).unwrap());
        let wave = golden_tensor(name, "waveform").unwrap();
        let mut gpu = GpuSession::with_context(ops.context().clone(), model.clone(), 3, 1).unwrap();
        let mut cpu = Session::new(model.clone(), 1).unwrap();
        let g = own(&gpu.run(&wave).unwrap());
        let c = own(&cpu.run(&wave).unwrap());
        let golden = Owned {
            clip: golden_tensor(name, "clip_logits").unwrap(),
            probs: c.probs.clone(),
            frames: golden_tensor(name, "frame_logits"),
        };
        assert_parity(&format!("{name} gpu vs cpu"), &g, &c);
        assert_parity(&format!("{name} gpu vs golden"), &g, &golden);

        // A batch of three different windows in one submission: each as it is alone on the CPU.
        let quiet: Vec<f32> = wave.iter().map(|v| v * 0.1).collect();
        let short = &wave[..wave.len() / 3];
        let waves: [&[f32]; 3] = [short, &wave, &quiet];
        let expected: Vec<Owned> = waves.iter().map(|w| own(&cpu.run(w).unwrap())).collect();
        let batch = gpu.run_batch(&waves).unwrap();
        assert_eq!(batch.len(), 3);
        for (i, e) in expected.iter().enumerate() {
            assert_parity(&format!("{name} batch window {i}"), &own(&batch.get(i)), e);
        }
    }
}

#[test]
fn sessions_share_the_device_and_the_weights() {
    let Some(ops) = gpu_or_skip("gpu_sharing") else {
        return;
    };
    let name = &golden_names()[0];
    let model = Arc::new(Model::load(golden_dir().join(format!("{name}.safetensors"))).unwrap());
    let a = GpuSession::new(model.clone(), 1, 1, AdapterPolicy::Any).unwrap();
    let b = GpuSession::new(model.clone(), 2, 1, AdapterPolicy::Any).unwrap();
    assert!(Arc::ptr_eq(a.context(), b.context()));
    assert!(Arc::ptr_eq(a.context(), ops.context()));
}

#[test]
fn streams_longer_than_a_batch_keep_window_order() {
    let Some(ops) = gpu_or_skip("gpu_stream") else {
        return;
    };
    let name = "golden-b";
    let model = Arc::new(Model::load(golden_dir().join(format!("{name}.safetensors"))).unwrap());
    let wave = golden_tensor(name, "waveform").unwrap();
    // Five windows through batches of two: the last batch is partial, and each batch's front end
    // runs while the previous one is on the GPU.
    let scaled: Vec<Vec<f32>> = (0..5)
        .map(|i| wave.iter().map(|v| v * (0.2 + 0.2 * i as f32)).collect())
        .collect();
    let waves: Vec<&[f32]> = scaled.iter().map(|w| &w[..]).collect();
    let mut gpu = GpuSession::with_context(ops.context().clone(), model.clone(), 2, 2).unwrap();
    assert_eq!(gpu.capacity(), 2);
    let mut cpu = Session::new(model, 1).unwrap();
    let mut seen = Vec::new();
    gpu.run_stream(&waves, &mut |i, p| seen.push((i, own(p))))
        .map_err(|(at, e)| format!("window {at}: {e}"))
        .unwrap();
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    for (i, g) in &seen {
        let c = own(&cpu.run(waves[*i]).unwrap());
        assert_parity(&format!("stream window {i}"), g, &c);
    }
}
