//! Numbers for BENCHMARKS.md: `process()` cost per block against a pass-through build of the
//! plugin in the same host loop, and the worker threads' CPU share for 1 and 16 instances.
//!
//! usage: plugin-bench PLUGIN.clap PASSTHROUGH.clap (MODEL.safetensors | CONFIG.json)
//! (build the pass-through bundle with `--features bench_passthrough`; see plugin/BENCHMARKS-section.md)

use audio_mamba_host_tests::clap_host::{Instance, Run};
use audio_mamba_host_tests::signals::{drums, rock_beat, speech_like};
use clack_host::prelude::PluginEntry;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn load(path: &str) -> PluginEntry {
    // SAFETY: the bundles under test.
    unsafe { PluginEntry::load(path) }.expect("load bundle")
}

fn signal(rate: f32, seconds: f32) -> Vec<Vec<f32>> {
    let n = (rate * seconds) as usize;
    let mut x = drums(
        rate,
        &rock_beat(rate, 120.0, 0.2, (seconds / 2.0) as usize),
        n,
    );
    for (v, s) in x.iter_mut().zip(speech_like(rate, seconds)) {
        *v += s;
    }
    vec![x.clone(), x]
}

/// CPU seconds (user + system) of this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str, seen: &mut HashMap<String, f64>) {
    let tick = 100.0; // USER_HZ on Linux
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for t in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        let cpu =
            (f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0)) / tick;
        seen.insert(t.file_name().to_string_lossy().into_owned(), cpu);
    }
}

fn worker_share(entry: &PluginEntry, instances: usize, seconds: f32) -> (f64, f64) {
    let input = signal(48_000.0, seconds);
    let stop = AtomicBool::new(false);
    let mut seen = HashMap::new();
    let t = Instant::now();
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..instances)
            .map(|_| {
                s.spawn(|| {
                    let mut run = Run::new(48_000.0, &[512]);
                    run.real_time = true;
                    Instance::new(entry).run(&input, &run)
                })
            })
            .collect();
        let monitor = s.spawn(|| {
            let mut seen = HashMap::new();
            while !stop.load(Ordering::Acquire) {
                thread_cpu("audio-mamba-wor", &mut seen);
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        for r in runs {
            r.join().unwrap();
        }
        stop.store(true, Ordering::Release);
        seen = monitor.join().unwrap();
    });
    let wall = t.elapsed().as_secs_f64();
    let cpu: f64 = seen.values().sum();
    (cpu / wall, wall)
}

/// Median microseconds per `process()` call over a 20 s signal (real-time mode, not paced).
fn process_cost(entry: &PluginEntry, block: usize, compensate: bool) -> f64 {
    let input = signal(48_000.0, 20.0);
    let mut p = Instance::new(entry);
    if !compensate {
        p.set_params(&[("Latency compensation", "0")]);
    }
    let mut run = Run::new(48_000.0, &[block]);
    run.time_blocks = true;
    let mut times = p.run(&input, &run).block_micros;
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, plugin, passthrough, model] = &args[..] else {
        eprintln!("usage: plugin-bench PLUGIN.clap PASSTHROUGH.clap MODEL.safetensors");
        std::process::exit(2);
    };
    // A config (training/configs/nano.json) becomes a synthetic-weights model file.
    let model = if model.ends_with(".json") {
        let json = std::fs::read_to_string(model).expect("config");
        let path = std::env::temp_dir().join("audio-mamba-bench-model.safetensors");
        std::fs::write(
            &path,
            audio_mamba_host_tests::model::synthetic_model_file(&json),
        )
        .expect("write model");
        path.to_string_lossy().into_owned()
    } else {
        model.clone()
    };
    // SAFETY: single-threaded here, before any plugin runs.
    unsafe { std::env::set_var("AUDIO_MAMBA_MODEL", &model) };
    let (full, pass) = (load(plugin), load(passthrough));
    println!("| block | pass-through us | audio-mamba us (ratio) | compensation off us (ratio) |");
    println!("| --- | --- | --- | --- |");
    for block in [64, 512, 2048] {
        // Alternate to share any drift in machine load between the builds; five rounds, because
        // on the shared 2-vCPU VM single rounds of the same build differ by up to 40%.
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5 {
            a.push(process_cost(&pass, block, true));
            b.push(process_cost(&full, block, true));
            c.push(process_cost(&full, block, false));
        }
        for v in [&mut a, &mut b, &mut c] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "| {block} | {:.2} | {:.2} ({:.2}x) | {:.2} ({:.2}x) |",
            a[2],
            b[2],
            b[2] / a[2],
            c[2],
            c[2] / a[2]
        );
    }
    println!();
    println!("| instances | worker CPU (cores) | wall s |");
    println!("| --- | --- | --- |");
    for n in [1, 16] {
        let (share, wall) = worker_share(&full, n, 10.0);
        println!("| {n} | {share:.3} | {wall:.1} |");
    }
}
