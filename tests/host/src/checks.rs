//! Checks shared by the CLAP and VST3 host tests: the controlled model they load, the drum
//! signal, and what every build must do with it (kick notes on the hits, audio delayed exactly).

use crate::clap_host::Output;
use crate::model::{
    sigmoid, write_controlled_hit_model, write_controlled_model, DRUM_TEST_LABELS, KICK_HITS,
};
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
        // Every onset is a kick to the hit model, so the kick notes land on every hit exactly
        // as with the tag-only rule, and the hit path runs in every host test.
        if std::env::var_os("AUDIO_MAMBA_HIT_MODEL").is_none() {
            let hits = write_controlled_hit_model("kick-hits", KICK_HITS);
            // SAFETY: as above.
            unsafe { std::env::set_var("AUDIO_MAMBA_HIT_MODEL", hits) };
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

/// MIDI sent into the drum runs: a note and two CCs that every build must pass on at their time.
pub fn midi_in_probe() -> Vec<(u64, [u8; 3])> {
    vec![
        (2000, [0x91, 64, 90]),
        (2200, [0xB1, 7, 100]),
        (2300, [0xB0, 74, 0]),
        (2500, [0x81, 64, 0]),
    ]
}

/// Everything a compensated, offline drum run with `midi_in_probe` must give: a latency that
/// covers the hop, audio delayed by exactly it, the kick notes on the hits, each tag's probability
/// once on its default CC (20 + slot; they never change), and the incoming MIDI passed on.
pub fn check_drum_run(rate: f64, hits: &[(usize, Drum)], input: &[Vec<f32>], out: &Output) {
    assert!(
        out.latency as f64 > 0.25 * rate && (out.latency as f64) < rate,
        "latency {} covers at least the hop",
        out.latency
    );
    assert_passes_through(input, out);
    kick_check(rate, hits, out, input[0].len());
    for (slot, (_, _, logit)) in DRUM_TEST_LABELS.iter().enumerate() {
        let cc = 20 + slot as u8;
        let values: Vec<u8> = out
            .ccs
            .iter()
            .filter(|c| c.cc == cc && c.channel == 0)
            .map(|c| c.value)
            .collect();
        let expected = (sigmoid(*logit) * 127.0).round() as u8;
        assert_eq!(values, vec![expected], "rate {rate}: CC {cc}");
    }
    let note = |t, on| {
        out.notes
            .iter()
            .any(|n| n.time == t && n.channel == 1 && n.key == 64 && n.on == on)
    };
    assert!(
        note(2000, true) && note(2500, false),
        "incoming note passed on"
    );
    let cc_at = |t| {
        out.ccs
            .iter()
            .find(|c| c.time == t)
            .map(|c| (c.channel, c.cc, c.value))
    };
    assert_eq!(cc_at(2200), Some((1, 7, 100)), "incoming CC passed on");
    assert_eq!(cc_at(2300), Some((0, 74, 0)), "incoming CC passed on");
}

/// Drum-transcription F-measure: a predicted hit counts when within 20 ms of a true hit not
/// matched before (as drum-transcription benchmarks score).
pub fn f_measure(pred: &[f64], truth: &[f64]) -> f64 {
    let mut used = vec![false; truth.len()];
    let mut tp = 0usize;
    for &p in pred {
        if let Some(k) = (0..truth.len()).find(|&k| !used[k] && (truth[k] - p).abs() <= 0.02) {
            used[k] = true;
            tp += 1;
        }
    }
    if tp == 0 {
        return 0.0;
    }
    let (p, r) = (
        tp as f64 / pred.len() as f64,
        tp as f64 / truth.len() as f64,
    );
    2.0 * p * r / (p + r)
}

/// The true hits of `class` in `examples/drum-kit-acoustic.flac` (a held-out kit), in seconds:
/// `examples/drum-kit-acoustic.hits.json`.
pub fn example_kit_hits(class: &str) -> Vec<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/drum-kit-acoustic.hits.json");
    let text = std::fs::read_to_string(path).expect("examples/drum-kit-acoustic.hits.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("hits json");
    v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .filter(|h| h["class"] == class)
        .map(|h| h["time_s"].as_f64().expect("time_s"))
        .collect()
}
