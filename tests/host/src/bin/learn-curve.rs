//! How many examples a learned tag needs: AP on new material against the number of marked
//! examples (2, 3, 5, 10), for both classifiers, on the rendered scenes of the learning tests.
//! Prints a Markdown table (docs/learned-tags.md holds the last one) with the time the fit took
//! (learning minus embedding the lesson, one thread).
//!
//!     cargo run --release -p audio-mamba-host-tests --bin learn-curve

use audio_mamba_engine::learn::{self, Embedder, LearnedTag, Material, Method, Span};
use audio_mamba_host_tests::checks::example_kit_hits;
use audio_mamba_host_tests::learning::*;
use audio_mamba_host_tests::signals::{Instrument, KitVoice};
use std::time::Instant;

/// The example acoustic kit (a real recording, examples/): kit A's snare learned from its
/// first `n` snare hits (every other onset before the last of them the negatives), scored on
/// the onsets after them; an onset is a snare when a snare hit lies within 20 ms.
fn real_kit(emb: &mut Embedder, n: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/drum-kit-acoustic.flac");
    let d = amtag::audio::decode_mono(&path).unwrap();
    let snares = example_kit_hits("Snare drum");
    let is_snare = |t: f64| snares.iter().any(|s| (s - t).abs() <= 0.02);
    let split = snares[n - 1] + 0.2;
    let cut = (split * d.sample_rate as f64) as usize;
    let spans: Vec<Span> = snares[..n]
        .iter()
        .map(|&t| Span {
            start_s: t - 0.01,
            end_s: t + 0.15,
        })
        .collect();
    let m = Material {
        name: "drum-kit-acoustic.flac".into(),
        samples: &d.samples[..cut],
        rate: d.sample_rate,
        positives: spans,
        negatives: Vec::new(),
        rest_is_negative: true,
    };
    let tag = learn::learn("snare", emb, Method::Prototype, &[m]).unwrap();
    let s: Vec<(f32, bool)> = emb
        .embed(&d.samples, d.sample_rate)
        .unwrap()
        .iter()
        .filter(|e| e.start_s > split)
        .map(|e| (tag.score(&e.vector), is_snare(e.start_s)))
        .collect();
    row(
        "real acoustic kit's snare (hits)",
        Method::Prototype,
        n,
        &s,
        |t| *t,
        &tag,
        None,
    );
}

fn main() {
    println!("| tag | classifier | examples | AP | fires on positives | fires on the others | examples fitted | fit ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut perc = percussive_embedder();
    let mut sust = sustained_embedder();
    let exam = snare_exam();
    let lead = lead_exam();
    for n in [2, 3, 5] {
        real_kit(&mut perc, n);
    }
    for method in [Method::Logistic, Method::Prototype] {
        for n in [2, 3, 5, 10] {
            let (scene, spans) = snare_lesson(n);
            let (tag, ms) = timed(&mut perc, method, &scene, spans);
            let s = scored(&tag, &mut perc, &exam);
            let is = |t: &(char, KitVoice)| *t == ('A', KitVoice::Snare);
            row("kit A snare (hits)", method, n, &s, is, &tag, Some(ms));
            let (scene, spans) = lead_lesson(n);
            let (tag, ms) = timed(&mut sust, method, &scene, spans);
            let s = scored(&tag, &mut sust, &lead);
            let is = |t: &Option<Instrument>| *t == Some(Instrument::SawLead);
            row("saw lead (steps)", method, n, &s, is, &tag, Some(ms));
        }
    }
}

/// Learns, and times the fit alone: the whole learning less embedding the lesson once more.
fn timed<T>(
    emb: &mut Embedder,
    m: Method,
    scene: &Scene<T>,
    spans: Vec<Span>,
) -> (LearnedTag, f64) {
    let t = Instant::now();
    let tag = learn_from("tag", emb, m, scene, spans).unwrap();
    let total = t.elapsed();
    let t = Instant::now();
    emb.embed(&scene.audio, RATE).unwrap();
    (tag, (total.saturating_sub(t.elapsed())).as_secs_f64() * 1e3)
}

fn row<T>(
    what: &str,
    m: Method,
    n: usize,
    s: &[(f32, T)],
    is: impl Fn(&T) -> bool,
    tag: &LearnedTag,
    ms: Option<f64>,
) {
    let thr = tag.threshold;
    let pos: Vec<f32> = s.iter().filter(|x| is(&x.1)).map(|x| x.0).collect();
    let neg: Vec<f32> = s.iter().filter(|x| !is(&x.1)).map(|x| x.0).collect();
    let fire = |v: &[f32]| v.iter().filter(|&&x| x >= thr).count();
    println!(
        "| {what} | {m:?} | {n} | {:.3} | {}/{} | {}/{} | {} + {} | {} |",
        ap(s, is),
        fire(&pos),
        pos.len(),
        fire(&neg),
        neg.len(),
        tag.examples.positives,
        tag.examples.negatives,
        ms.map_or("-".into(), |v| format!("{v:.0}"))
    );
}
