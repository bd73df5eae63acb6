//! How many examples a learned tag needs: AP on new material against the number of marked
//! examples (2, 3, 5, 10), for both classifiers, on the rendered scenes of the learning tests.
//! Prints a Markdown table (docs/learned-tags.md holds the last one).
//!
//!     cargo run --release -p audio-mamba-host-tests --bin learn-curve

use audio_mamba_engine::learn::Method;
use audio_mamba_host_tests::learning::*;
use audio_mamba_host_tests::signals::{Instrument, KitVoice};

fn main() {
    println!("| tag | classifier | examples | AP | fires on positives | fires on the others |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut perc = percussive_embedder();
    let mut sust = sustained_embedder();
    let exam = snare_exam();
    let lead = lead_exam();
    for method in [Method::Logistic, Method::Prototype] {
        for n in [2, 3, 5, 10] {
            let (scene, spans) = snare_lesson(n);
            let tag = learn_from("snare A", &mut perc, method, &scene, spans).unwrap();
            let s = scored(&tag, &mut perc, &exam);
            let is = |t: &(char, KitVoice)| *t == ('A', KitVoice::Snare);
            row("kit A snare (hits)", method, n, &s, is, tag.threshold);
            let (scene, spans) = lead_lesson(n);
            let tag = learn_from("lead", &mut sust, method, &scene, spans).unwrap();
            let s = scored(&tag, &mut sust, &lead);
            row(
                "saw lead (steps)",
                method,
                n,
                &s,
                |t: &Option<Instrument>| *t == Some(Instrument::SawLead),
                tag.threshold,
            );
        }
    }
}

fn row<T>(what: &str, m: Method, n: usize, s: &[(f32, T)], is: impl Fn(&T) -> bool, thr: f32) {
    let pos: Vec<f32> = s.iter().filter(|x| is(&x.1)).map(|x| x.0).collect();
    let neg: Vec<f32> = s.iter().filter(|x| !is(&x.1)).map(|x| x.0).collect();
    let fire = |v: &[f32]| v.iter().filter(|&&x| x >= thr).count();
    println!(
        "| {what} | {m:?} | {n} | {:.3} | {}/{} | {}/{} |",
        ap(s, is),
        fire(&pos),
        pos.len(),
        fire(&neg),
        neg.len()
    );
}
