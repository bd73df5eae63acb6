//! What `process()` does per block, kernel by kernel, beside the one copy a pass-through plugin's
//! wrapper makes: the floor under the plugin-bench ratio. Stereo 512-sample blocks through the
//! delay line of the Nano model's latency at 48 kHz (22,780 samples, so the line lives in L2, not
//! L1, as in the plugin).
//!
//!     cargo bench -p audio-mamba --bench audio_thread

use audio_mamba::delay::Delay;
use audio_mamba::feed::feed;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const BLOCK: usize = 512;
const LATENCY: usize = 22_780;

fn noise(seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..BLOCK)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect()
}

fn audio_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("stereo_512");
    let src = [noise(1), noise(2)];
    let (mut l, mut r) = (src[0].clone(), src[1].clone());
    g.bench_function("host_copy", |b| {
        b.iter(|| {
            l.copy_from_slice(black_box(&src[0]));
            r.copy_from_slice(black_box(&src[1]));
        })
    });
    let mut delay = Delay::new(2, LATENCY);
    g.bench_function("delay_and_clean", |b| {
        b.iter(|| delay.process(&mut [black_box(&mut l[..]), &mut r[..]]))
    });
    // The same work with a line short enough to stay in L1: what the line's size costs.
    let mut short = Delay::new(2, 2 * BLOCK);
    g.bench_function("delay_and_clean_l1_line", |b| {
        b.iter(|| short.process(&mut [black_box(&mut l[..]), &mut r[..]]))
    });
    let (mut tx, mut rx) = feed(1 << 16);
    let mut sink = vec![0.0; BLOCK];
    let mut pos = 0;
    g.bench_function("mix_to_ring_and_drain", |b| {
        b.iter(|| {
            tx.push_mix(pos, &[black_box(&mut l[..]), &mut r[..]], BLOCK);
            pos += BLOCK as u64;
            rx.pop(&mut sink)
        })
    });
    g.finish();
}

criterion_group!(benches, audio_thread);
criterion_main!(benches);
