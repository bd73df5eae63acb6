//! The Rust engine against the PyTorch reference: golden vectors made by
//! `training/make_golden.py` (random weights, fixed waveform) for configs that together cover
//! every variant of the config space and both front ends.

use audio_mamba_engine::testkit::{golden_dir, golden_names, golden_tensors, rel_l2};
use audio_mamba_engine::{Model, Session, Tap};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn check(name: &str, threads: usize) {
    let dir = golden_dir();
    let model = Arc::new(Model::load(dir.join(format!("{name}.safetensors"))).unwrap());
    let g = golden_tensors(name);
    let mut session = Session::cpu(model.clone(), threads).unwrap();
    let seen: Arc<Mutex<HashMap<String, Vec<f32>>>> = Default::default();
    let sink = seen.clone();
    let mut tap = move |t: Tap, v: &[f32]| {
        let key = match t {
            Tap::Features => "features".to_string(),
            Tap::PatchEmbed => "patch_embed".to_string(),
            Tap::Stage(i) => format!("stage{i}"),
        };
        sink.lock().unwrap().insert(key, v.to_vec());
    };
    let pred = session.run_with_taps(&g["waveform"], &mut tap).unwrap();
    let seen = seen.lock().unwrap();
    let mut report = Vec::new();
    let mut worst_intermediate = 0.0f64;
    for key in [
        "features",
        "patch_embed",
        "stage0",
        "stage1",
        "stage2",
        "stage3",
    ] {
        if let (Some(ours), Some(theirs)) = (seen.get(key), g.get(key)) {
            let e = rel_l2(ours, theirs);
            report.push(format!("{key} {e:.2e}"));
            if key == "features" {
                assert!(e < 1e-4, "{name}: features rel L2 {e:e}");
            } else {
                worst_intermediate = worst_intermediate.max(e);
            }
        }
    }
    let clip = rel_l2(pred.clip_logits, &g["clip_logits"]);
    report.push(format!("clip {clip:.2e}"));
    let frame = framewise(
        name,
        "framewise logits",
        pred.frame_logits,
        g.get("frame_logits"),
    );
    report.push(format!("frame {frame:.2e}"));
    let clip_emb = rel_l2(pred.clip_embedding, &g["clip_embedding"]);
    report.push(format!("clip embedding {clip_emb:.2e}"));
    let frame_emb = framewise(
        name,
        "frame embeddings",
        pred.frame_embeddings,
        g.get("frame_embedding"),
    );
    report.push(format!("frame embeddings {frame_emb:.2e}"));
    eprintln!("{name} threads={threads}: {}", report.join(", "));
    assert!(clip < 1e-3 && frame < 1e-3, "{name}: {}", report.join(", "));
    assert!(
        clip_emb < 1e-3 && frame_emb < 1e-3,
        "{name}: {}",
        report.join(", ")
    );
    assert!(worst_intermediate < 1e-3, "{name}: {}", report.join(", "));
}

/// Relative L2 of a framewise output, which both sides must have or both lack.
fn framewise(name: &str, what: &str, ours: Option<&[f32]>, theirs: Option<&Vec<f32>>) -> f64 {
    match (ours, theirs) {
        (Some(ours), Some(theirs)) => rel_l2(ours, theirs),
        (None, None) => 0.0,
        (a, b) => panic!(
            "{name}: {what} present in one side only ({} vs {})",
            a.is_some(),
            b.is_some()
        ),
    }
}

#[test]
fn every_golden_config_matches_the_reference() {
    let names = golden_names();
    assert!(
        names.len() >= 3,
        "expected at least three golden configs, found {names:?}"
    );
    for name in &names {
        check(name, 1);
    }
    // The threaded path splits gemm and scan work differently: same numbers.
    check(&names[0], 2);
}
