//! How many examples a learned tag needs: AP on new material against the number of marked
//! examples (2, 3, 5, 10), for both classifiers, on the rendered scenes of the learning tests.
//! Prints a Markdown table (docs/learned-tags.md holds the last one) with the time the fit took
//! (learning minus embedding the lesson, one thread).
//!
//!     cargo run --release -p audio-mamba-host-tests --bin learn-curve

use audio_mamba_engine::learn::{Embedder, LearnedTag, Method, Span};
use audio_mamba_host_tests::learning::*;
use audio_mamba_host_tests::signals::{Instrument, KitVoice};
use std::time::Instant;

fn main() {
    println!("| tag | classifier | examples | AP | fires on positives | fires on the others | examples fitted | fit ms |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut perc = percussive_embedder();
    let mut sust = sustained_embedder();
    let exam = snare_exam();
    let lead = lead_exam();
    for method in [Method::Logistic, Method::Prototype] {
        for n in [2, 3, 5, 10] {
            let (scene, spans) = snare_lesson(n);
            let (tag, ms) = timed(&mut perc, method, &scene, spans);
            let s = scored(&tag, &mut perc, &exam);
            let is = |t: &(char, KitVoice)| *t == ('A', KitVoice::Snare);
            row("kit A snare (hits)", method, n, &s, is, &tag, ms);
            let (scene, spans) = lead_lesson(n);
            let (tag, ms) = timed(&mut sust, method, &scene, spans);
            let s = scored(&tag, &mut sust, &lead);
            let is = |t: &Option<Instrument>| *t == Some(Instrument::SawLead);
            row("saw lead (steps)", method, n, &s, is, &tag, ms);
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
    ms: f64,
) {
    let thr = tag.threshold;
    let pos: Vec<f32> = s.iter().filter(|x| is(&x.1)).map(|x| x.0).collect();
    let neg: Vec<f32> = s.iter().filter(|x| !is(&x.1)).map(|x| x.0).collect();
    let fire = |v: &[f32]| v.iter().filter(|&&x| x >= thr).count();
    println!(
        "| {what} | {m:?} | {n} | {:.3} | {}/{} | {}/{} | {} + {} | {ms:.0} |",
        ap(s, is),
        fire(&pos),
        pos.len(),
        fire(&neg),
        neg.len(),
        tag.examples.positives,
        tag.examples.negatives
    );
}
