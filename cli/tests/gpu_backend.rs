//! `amtag tag --backend gpu` and `--backend cpu` agree on the same file; the backend comes from
//! the flag or AUDIO_MAMBA_BACKEND and is reported. Skips without a GPU adapter unless
//! AUDIO_MAMBA_REQUIRE_GPU=1 (lavapipe counts: it is asked for explicitly).

mod common;

use std::path::PathBuf;
use std::process::Command;

fn model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/golden-a.safetensors")
}

/// A 16-bit mono WAV of `seconds` of a chirp plus a tone.
fn wav(rate: u32, seconds: f32) -> PathBuf {
    let n = (rate as f32 * seconds) as usize;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            0.3 * (2.0 * std::f32::consts::PI * (200.0 + 900.0 * t) * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
        })
        .collect();
    let p = std::env::temp_dir().join(format!("amtag-gpu-{}.wav", std::process::id()));
    common::write_mono_wav(&p, rate, &x);
    p
}

fn tag(
    file: &PathBuf,
    backend: Option<&str>,
    env: Option<&str>,
) -> (bool, serde_json::Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amtag"));
    cmd.args(["tag", "--json", "--top", "5", "--hop", "0.5", "--model"])
        .arg(model())
        .arg(file)
        .env_remove("AUDIO_MAMBA_BACKEND");
    if let Some(b) = backend {
        cmd.args(["--backend", b]);
    }
    if let Some(e) = env {
        cmd.env("AUDIO_MAMBA_BACKEND", e);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), v, stderr)
}

fn probs(v: &serde_json::Value) -> Vec<(String, f64)> {
    let mut all: Vec<(String, f64)> = v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["tags"].as_array().unwrap().clone())
        .map(|t| {
            (
                t["label"].as_str().unwrap().to_string(),
                t["probability"].as_f64().unwrap(),
            )
        })
        .collect();
    all.extend(v["tags"].as_array().unwrap().iter().map(|t| {
        (
            t["label"].as_str().unwrap().to_string(),
            t["probability"].as_f64().unwrap(),
        )
    }));
    all
}

#[test]
fn gpu_and_cpu_backends_give_the_same_tags() {
    let file = wav(22_050, 4.0);
    let (ok, cpu, err) = tag(&file, Some("cpu"), None);
    assert!(ok, "{err}");
    assert!(err.contains("backend cpu"), "{err}");
    let (ok, gpu, err) = tag(&file, Some("gpu"), None);
    if !ok {
        assert!(
            !audio_mamba_engine::env::require_gpu(),
            "AUDIO_MAMBA_REQUIRE_GPU=1 but --backend gpu failed: {err}"
        );
        eprintln!("skipped: no GPU adapter ({err})");
        return;
    }
    assert!(err.contains("backend gpu: "), "{err}");
    let (c, g) = (probs(&cpu), probs(&gpu));
    assert!(c.len() > 5, "several windows: {c:?}");
    assert_eq!(c.len(), g.len());
    // Labels are compared through their probabilities: a near tie may rank differently.
    for ((lc, pc), (lg, pg)) in c.iter().zip(&g) {
        assert!((pc - pg).abs() < 1e-3, "{lc} {pc} vs {lg} {pg}");
    }
    // The environment variable selects the backend too.
    let (ok, env, err) = tag(&file, None, Some("gpu"));
    assert!(ok && err.contains("backend gpu: "), "{err}");
    assert_eq!(probs(&env).len(), g.len());
    let (ok, _, err) = tag(&file, None, Some("tpu"));
    assert!(!ok && err.contains("unknown backend"), "{err}");
    std::fs::remove_file(file).ok();
}

/// `amtag bench --profile` times every dispatch of one batch: the per-kernel sums cover every
/// dispatch, and the kernels a forward pass needs all appear.
#[test]
fn bench_profile_accounts_for_every_dispatch() {
    let out = Command::new(env!("CARGO_BIN_EXE_amtag"))
        .args(["bench", "--config"])
        .arg(model())
        .args(["--backend", "gpu", "--profile", "--batch", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(
            !audio_mamba_engine::env::require_gpu(),
            "AUDIO_MAMBA_REQUIRE_GPU=1 but the profile failed: {err}"
        );
        eprintln!("skipped: no GPU adapter ({err})");
        return;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["batch"], 2);
    let kernels = v["by_kernel"].as_array().unwrap();
    let dispatches: u64 = kernels
        .iter()
        .map(|k| k["dispatches"].as_u64().unwrap())
        .sum();
    assert_eq!(dispatches, v["dispatches"].as_u64().unwrap());
    let ms: f64 = kernels.iter().map(|k| k["ms"].as_f64().unwrap()).sum();
    let total = v["total_ms"].as_f64().unwrap();
    assert!(
        total > 0.0 && (ms - total).abs() < 1e-6 * total.max(1.0),
        "{ms} vs {total}"
    );
    for name in ["matmul", "scan_chunk", "scan_apply", "head_finish"] {
        assert!(
            kernels.iter().any(|k| k["kernel"] == name),
            "{name} missing: {v}"
        );
    }
    let slowest = v["slowest"].as_array().unwrap();
    assert!(!slowest.is_empty() && slowest.len() <= 12);
    let first = slowest[0]["ms"].as_f64().unwrap();
    assert!(slowest.iter().all(|s| s["ms"].as_f64().unwrap() <= first));
}
