//! Whole-model parity of the GPU backend with the CPU path and the PyTorch golden vectors, on
//! every golden config (every variant of the config space, an F16 file among them). Runs on any
//! adapter, lavapipe included; skips without one unless AUDIO_MAMBA_REQUIRE_GPU=1.
#![cfg(feature = "gpu")]

use audio_mamba_engine::testkit::{golden_dir, golden_names, golden_tensors, gpu_or_skip, rel_l2};
use audio_mamba_engine::{BackendChoice, Model, Prediction, Session};
use std::sync::Arc;

fn golden_tensor(name: &str, key: &str) -> Option<Vec<f32>> {
    golden_tensors(name).remove(key)
}

struct Owned {
    clip: Vec<f32>,
    probs: Vec<f32>,
    frames: Option<Vec<f32>>,
    /// The clip embedding followed by the frame embeddings, if any.
    embeddings: Vec<f32>,
}

fn own(p: &Prediction) -> Owned {
    Owned {
        clip: p.clip_logits.to_vec(),
        probs: p.clip_probs.to_vec(),
        frames: p.frame_logits.map(<[f32]>::to_vec),
        embeddings: [p.clip_embedding, p.frame_embeddings.unwrap_or_default()].concat(),
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
    assert_eq!(gpu.embeddings.len(), reference.embeddings.len(), "{what}");
    let emb = rel_l2(&gpu.embeddings, &reference.embeddings);
    eprintln!(
        "{what}: clip {clip:.2e}, frames {frames:.2e}, max |dprob| {probs:.2e}, embeddings {emb:.2e}"
    );
    assert!(
        clip < 1e-3 && frames < 1e-3 && probs < 1e-3 && emb < 1e-3,
        "{what}: clip {clip:e}, frames {frames:e}, probs {probs:e}, embeddings {emb:e}"
    );
}

#[test]
fn gpu_matches_cpu_and_golden_on_every_config() {
    let Some(ctx) = gpu_or_skip("gpu_parity") else {
        return;
    };
    let names = golden_names();
    assert!(names.len() >= 4, "golden configs: {names:?}");
    for name in &names {
        let model =
            Arc::new(Model::load(golden_dir().join(format!("{name}.safetensors"))).unwrap());
        let wave = golden_tensor(name, "waveform").unwrap();
        let mut gpu = Session::new(model.clone(), 1, BackendChoice::Gpu, 3).unwrap();
        assert!(gpu.gpu_context().is_some_and(|c| Arc::ptr_eq(c, &ctx)));
        let mut cpu = Session::cpu(model.clone(), 1).unwrap();
        let g = own(&gpu.run(&wave).unwrap());
        let c = own(&cpu.run(&wave).unwrap());
        // the PyTorch reference's outputs, probabilities included (sigmoid of its logits)
        let clip = golden_tensor(name, "clip_logits").unwrap();
        let golden = Owned {
            probs: clip.iter().map(|&l| 1.0 / (1.0 + (-l).exp())).collect(),
            clip,
            frames: golden_tensor(name, "frame_logits"),
            embeddings: [
                golden_tensor(name, "clip_embedding").unwrap(),
                golden_tensor(name, "frame_embedding").unwrap_or_default(),
            ]
            .concat(),
        };
        assert_parity(&format!("{name} gpu vs cpu"), &g, &c);
        assert_parity(&format!("{name} gpu vs golden"), &g, &golden);

        // A batch of three different windows in one submission: each as it is alone on the CPU.
        let quiet: Vec<f32> = wave.iter().map(|v| v * 0.1).collect();
        let short = &wave[..wave.len() / 3];
        let waves: [&[f32]; 3] = [short, &wave, &quiet];
        let expected: Vec<Owned> = waves.iter().map(|w| own(&cpu.run(w).unwrap())).collect();
        assert_eq!(gpu.batch_capacity(), 3);
        let mut got = Vec::new();
        gpu.run_batch(&waves, &mut |i, p| got.push((i, own(p))))
            .unwrap();
        assert_eq!(got.len(), 3);
        for ((i, g), e) in got.iter().zip(&expected) {
            assert_parity(&format!("{name} batch window {i}"), g, e);
        }
        assert!(gpu.is_gpu() && gpu.take_gpu_failure().is_none());
    }
}

#[test]
fn sessions_share_the_device_and_the_weights() {
    let Some(ctx) = gpu_or_skip("gpu_sharing") else {
        return;
    };
    let name = &golden_names()[0];
    let model = Arc::new(Model::load(golden_dir().join(format!("{name}.safetensors"))).unwrap());
    let a = Session::new(model.clone(), 1, BackendChoice::Gpu, 1).unwrap();
    let b = Session::new(model.clone(), 1, BackendChoice::Gpu, 2).unwrap();
    let (a, b) = (a.gpu_context().unwrap(), b.gpu_context().unwrap());
    assert!(Arc::ptr_eq(a, b));
    assert!(Arc::ptr_eq(a, &ctx));
}

#[test]
fn streams_longer_than_a_batch_keep_window_order() {
    let Some(_ops) = gpu_or_skip("gpu_stream") else {
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
    let mut gpu = Session::new(model.clone(), 2, BackendChoice::Gpu, 2).unwrap();
    assert_eq!(gpu.batch_capacity(), 2);
    let mut cpu = Session::cpu(model, 1).unwrap();
    let mut seen = Vec::new();
    gpu.run_batch(&waves, &mut |i, p| seen.push((i, own(p))))
        .unwrap();
    assert!(gpu.is_gpu(), "the stream stayed on the GPU");
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    for (i, g) in &seen {
        let c = own(&cpu.run(waves[*i]).unwrap());
        assert_parity(&format!("stream window {i}"), g, &c);
    }
}
