//! Checks shared by the CLAP and VST3 host tests: the controlled model they load, the drum
//! signal, and what every build must do with it (kick notes on the hits, audio delayed exactly).

use crate::clap_host::{Output, Run};
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
    let expected: Vec<u64> = hits
        .iter()
        .map(|h| h.0 as u64 + l)
        .filter(|&t| t < len as u64)
        .collect();
    kicks_at(rate, out, &expected);
}

/// The plugin's notes (channel 1) are kicks, one within 5 ms of each expected time, and end.
pub fn kicks_at(rate: f64, out: &Output, expected: &[u64]) {
    let l = out.latency as u64;
    // Notes on other channels are the forwarded input notes of some tests.
    let ons: Vec<_> = out
        .notes
        .iter()
        .filter(|n| n.on && n.channel == 0)
        .collect();
    assert!(ons.iter().all(|n| n.key == 36), "{ons:?}");
    assert_eq!(
        ons.len(),
        expected.len(),
        "rate {rate}: notes {ons:?}, expected at {expected:?}"
    );
    let worst = ons
        .iter()
        .zip(expected)
        .map(|(n, &t)| ms(rate, (n.time as f64 - t as f64).abs()));
    eprintln!(
        "rate {rate}: {} notes, latency {l}, worst timing error {:.3} ms",
        ons.len(),
        worst.fold(0.0, f64::max)
    );
    for (n, &t) in ons.iter().zip(expected) {
        let err = ms(rate, (n.time as f64 - t as f64).abs());
        assert!(
            err <= 5.0,
            "rate {rate}: note at {} for hit at {t}: {err:.2} ms",
            n.time
        );
    }
    let offs = out.notes.iter().filter(|n| !n.on && n.channel == 0).count();
    assert!(offs + 1 >= ons.len(), "every drum note ends");
}

/// The drum signal, `silence` seconds of digital silence, the drum signal again: (hits of the
/// second pattern, where the silence starts and ends, the signal).
pub fn drums_silence_drums(rate: f64, silence: f64) -> (Vec<usize>, usize, usize, Vec<f32>) {
    let (hits, mut x) = drum_signal(rate);
    let quiet_from = x.len();
    x.resize(quiet_from + (silence * rate) as usize, 0.0);
    let quiet_to = x.len();
    let (_, again) = drum_signal(rate);
    x.extend(&again);
    (
        hits.iter().map(|h| h.0 + quiet_to).collect(),
        quiet_from,
        quiet_to,
        x,
    )
}

/// What a run of `drums_silence_drums` must show about sleep: the plugin never says it may
/// sleep while its delayed audio or notes are still to come, says so during the silence after
/// every note has ended, and is awake again for the second pattern.
pub fn check_sleep(out: &Output, quiet_from: usize, quiet_to: usize) -> u64 {
    let l = out.latency as u64;
    let first = out
        .blocks
        .iter()
        .find(|b| b.may_sleep)
        .expect("the plugin never said it may sleep");
    assert!(
        first.start >= quiet_from as u64 + l,
        "may sleep at {} with audio still in the delay (silence from {quiet_from}, latency {l})",
        first.start
    );
    assert!(
        first.start < quiet_to as u64,
        "slept only after the silence"
    );
    let ons = out
        .notes
        .iter()
        .filter(|n| n.on && n.time < first.start)
        .count();
    let offs = out
        .notes
        .iter()
        .filter(|n| !n.on && n.time <= first.start)
        .count();
    assert!(
        ons > 0 && offs == ons,
        "{ons} notes on, {offs} off before sleeping"
    );
    let during = |b: &&crate::clap_host::Block| b.start >= quiet_to as u64;
    let again = out
        .blocks
        .iter()
        .find(during)
        .expect("blocks after the silence");
    assert!(!again.may_sleep, "sound again, but still says it may sleep");
    first.start
}

/// What a bypassed stretch [on, off) of an offline drum run must show: the audio still delayed
/// by exactly the latency, none of our notes from `on` until our events of the stretch after
/// `off` come due, a note still on at `on` ended there, the incoming MIDI passed on, and our
/// notes back for the hits after `off` (the analysis restarts there).
pub fn check_bypass_run(
    rate: f64,
    hits: &[(usize, Drum)],
    input: &[Vec<f32>],
    out: &Output,
    (on, off): (u64, u64),
) {
    assert_passes_through(input, out);
    let l = out.latency as u64;
    let ours = |n: &&crate::clap_host::Note| n.channel == 0;
    let inside: Vec<_> = out
        .notes
        .iter()
        .filter(ours)
        .filter(|n| n.on && n.time >= on && n.time < off + l)
        .collect();
    assert!(inside.is_empty(), "notes while bypassed: {inside:?}");
    assert!(
        out.notes.iter().filter(ours).any(|n| !n.on && n.time == on),
        "the note sounding when bypass began ends there"
    );
    let len = input[0].len() as u64;
    let settle = (0.05 * rate) as u64;
    let expected: Vec<u64> = hits
        .iter()
        .map(|h| h.0 as u64)
        .filter(|&h| h + l < on || h >= off + settle)
        .map(|h| h + l)
        .filter(|&t| t < len)
        .collect();
    assert!(expected.iter().any(|&t| t > off + l), "hits after bypass");
    kicks_at(rate, out, &expected);
    let forwarded = |t: u64, on: bool| {
        out.notes
            .iter()
            .any(|n| n.time == t && n.channel == 2 && n.key == 60 && n.on == on)
    };
    assert!(
        forwarded(on + 960, true) && forwarded(on + 1920, false),
        "incoming notes pass while bypassed"
    );
}

/// A run in blocks of 480 that bypasses [on, off) and sends notes on channel 3 inside it (see
/// `check_bypass_run`).
pub fn bypass_run(rate: f64, (on, off): (u64, u64)) -> Run {
    let mut run = Run::new(rate, &[480]);
    run.param_changes = vec![
        (on, "Bypass".into(), "On".into()),
        (off, "Bypass".into(), "Off".into()),
    ];
    run.midi_in = vec![(on + 960, [0x92, 60, 100]), (on + 1920, [0x82, 60, 0])];
    run
}

/// Bypass from 20 ms after the note of the first hit past 1.5 s (so that note is still on) to
/// 3.2 s, both on block boundaries of `block`.
pub fn bypass_span(rate: f64, hits: &[(usize, Drum)], latency: u64, block: u64) -> (u64, u64) {
    let h = hits
        .iter()
        .map(|h| h.0 as u64)
        .find(|&h| h as f64 >= 1.5 * rate)
        .expect("a hit after 1.5 s");
    let up = |t: u64| t.div_ceil(block) * block;
    (
        up(h + latency + (0.02 * rate) as u64),
        up((3.2 * rate) as u64),
    )
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
