//! Criterion benches: front end, selective scan, whole model (Nano, Micro, Tiny; 1 and 2
//! threads) on a 10 s window, Nano's cost over 2.5-40 s windows (must grow linearly), and the
//! onset detector on a second of 48 kHz audio (whole signal, and banded).
//! Run: `cargo bench -p audio-mamba-engine --bench engine`. Results: BENCHMARKS.md.

use audio_mamba_engine::config::{FrontendConfig, ModelConfig};
use audio_mamba_engine::frontend::{Bn0, Frontend};
use audio_mamba_engine::kernels::par::Par;
use audio_mamba_engine::kernels::scan::{ss2d_scan, ScanDims, ScanInputs, ScanParams};
use audio_mamba_engine::onset::{OnsetDetector, Onsets};
use audio_mamba_engine::{Model, Session};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::Arc;
use std::time::Duration;

fn config(name: &str) -> ModelConfig {
    let path = format!(
        "{}/../training/configs/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    ModelConfig::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn wave(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| 0.3 * ((i as f32 * 0.013).sin() + (i as f32 * 0.0021).sin()))
        .collect()
}

fn frontend(c: &mut Criterion) {
    let cfg = config("tiny");
    let FrontendConfig::Htsat(h) = &cfg.frontend else {
        unreachable!()
    };
    let ones = vec![1.0; h.n_mels];
    let zeros = vec![0.0; h.n_mels];
    let mut fe = Frontend::new(&cfg.frontend, Some(&Bn0::new(&ones, &zeros, &zeros, &ones)));
    let (rows, cols) = cfg.image_size();
    let mut image = vec![0.0; rows * cols];
    let w = wave(h.clip_samples);
    c.bench_function("frontend/htsat_10s", |b| {
        b.iter(|| fe.compute(&w, &mut image))
    });
}

fn scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan");
    // Tiny's first stage (64 x 64 tokens, E = 192) with d_state 1 (v2 configs) and 16 (v0).
    for n in [1usize, 16] {
        let dims = ScanDims {
            h: 64,
            w: 64,
            e: 192,
            n,
            r: 6,
        };
        let (l, e) = (dims.len(), dims.e);
        let u = wave(l * e);
        let delta = wave(4 * l * e);
        let dbl = wave(l * dims.dbl_row());
        let a_neg: Vec<f32> = (0..4 * n * e)
            .map(|i| -(((i / e) % n + 1) as f32))
            .collect();
        let bias = vec![-3.0; 4 * e];
        let d = vec![1.0; 4 * e];
        let mut y = vec![0.0; l * e];
        g.throughput(Throughput::Elements((4 * l * e * n) as u64));
        g.bench_function(
            BenchmarkId::new("ss2d_64x64x192", format!("d_state{n}")),
            |b| {
                b.iter(|| {
                    let p = ScanParams {
                        a_neg: &a_neg,
                        dt_bias: &bias,
                        d: &d,
                    };
                    let x = ScanInputs {
                        u: &u,
                        delta_raw: &delta,
                        dbl: &dbl,
                    };
                    ss2d_scan(Par::new(1), dims, &p, &x, &mut y)
                })
            },
        );
    }
    g.finish();
}

fn run_window(c: &mut Criterion, group: &str, id: BenchmarkId, cfg: ModelConfig, threads: usize) {
    let model = Arc::new(Model::random(cfg, 1).unwrap());
    let w = wave(model.config().clip_samples());
    let mut s = Session::cpu(model, threads).unwrap();
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function(id, |b| b.iter(|| s.run(&w).unwrap().clip_probs[0]));
    g.finish();
}

fn models(c: &mut Criterion) {
    for name in ["nano", "micro", "tiny"] {
        for threads in [1, 2] {
            run_window(
                c,
                "model_10s",
                BenchmarkId::new(name, format!("threads{threads}")),
                config(name),
                threads,
            );
        }
    }
}

fn scaling(c: &mut Criterion) {
    for secs in [2.5, 5.0, 10.0, 20.0, 40.0] {
        let cfg = config("nano").with_clip_seconds(secs).unwrap();
        run_window(
            c,
            "scaling_nano",
            BenchmarkId::from_parameter(format!("{secs}s")),
            cfg,
            1,
        );
    }
}

fn onsets(c: &mut Criterion) {
    let x = wave(48_000);
    for (name, kind) in [("broadband", Onsets::Broadband), ("banded", Onsets::Banded)] {
        let mut det = OnsetDetector::with(48_000.0, kind);
        let mut found = Vec::with_capacity(64);
        c.bench_function(&format!("onset/{name}_1s_48k"), |b| {
            b.iter(|| {
                found.clear();
                det.push(&x, &mut found);
            })
        });
    }
}

criterion_group!(benches, frontend, scan, models, scaling, onsets);
criterion_main!(benches);
