//! Checks shared by the CLAP and VST3 host tests: the controlled model they load, the drum
//! signal, and what every build must do with it (kick notes on the hits, audio delayed exactly).

use crate::clap_host::Output;
use crate::model::{write_controlled_model, DRUM_TEST_LABELS};
use crate::signals::{drums, rock_beat, Drum};
use std::sync::Once;

pub const ODD_BLOCKS: &[usize] = &[1, 31, 512, 997, 64, 3, 4096, 257];

pub fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("AUDIO_MAMBA_MODEL").is_none() {
            let model = write_controlled_model("drums", DRUM_TEST_LABELS);
            // SAFETY: set once, before any test thread loads the plugin (Once blocks them).
            unsafe { std::env::set_var("AUDIO_MAMBA_MODEL", model) };
        }
    });
}

pub fn stereo(x: &[f32]) -> Vec<Vec<f32>> {
    vec![x.to_vec(), x.iter().map(|v| -0.5 * v).collect()]
}

pub fn ms(rate: f64, samples: f64) -> f64 {
    samples * 1000.0 / rate
}

/// Output audio equals the input delayed by exactly the reported latency.
pub fn assert_passes_through(input: &[Vec<f32>], out: &Output) {
    let l = out.latency as usize;
    for (x, y) in input.iter().zip(&out.audio) {
        assert_eq!(x.len(), y.len());
        let loud = y[..l.min(y.len())].iter().position(|&v| v != 0.0);
        assert!(
            loud.is_none(),
            "delay {l} not silent at {loud:?} of {}",
            y.len()
        );
        if l < x.len() {
            assert!(
                y[l..] == x[..x.len() - l],
                "audio is not the input delayed by {l}"
            );
        }
    }
}

pub fn drum_signal(rate: f64) -> (Vec<(usize, Drum)>, Vec<f32>) {
    let r = rate as f32;
    let hits = rock_beat(r, 120.0, 0.3, 2);
    let x = drums(r, &hits, (r * 5.5) as usize);
    (hits, x)
}

pub fn kick_check(rate: f64, hits: &[(usize, Drum)], out: &Output, len: usize) {
    let l = out.latency as u64;
    // Key 64 on channel 2 is the forwarded input note of one test.
    let ons: Vec<_> = out.notes.iter().filter(|n| n.on && n.key != 64).collect();
    assert!(ons.iter().all(|n| n.key == 36 && n.channel == 0), "{ons:?}");
    let expected: Vec<u64> = hits
        .iter()
        .map(|h| h.0 as u64 + l)
        .filter(|&t| t < len as u64)
        .collect();
    assert_eq!(
        ons.len(),
        expected.len(),
        "rate {rate}: notes {ons:?}, expected at {expected:?}"
    );
    let worst = ons
        .iter()
        .zip(&expected)
        .map(|(n, &t)| ms(rate, (n.time as f64 - t as f64).abs()));
    eprintln!(
        "rate {rate}: {} notes, latency {l}, worst timing error {:.3} ms",
        ons.len(),
        worst.fold(0.0, f64::max)
    );
    for (n, &t) in ons.iter().zip(&expected) {
        let err = ms(rate, (n.time as f64 - t as f64).abs());
        assert!(
            err <= 5.0,
            "rate {rate}: note at {} for hit at {t}: {err:.2} ms",
            n.time
        );
    }
    let offs = out.notes.iter().filter(|n| !n.on && n.key != 64).count();
    assert!(offs + 1 >= ons.len(), "every drum note ends");
}
