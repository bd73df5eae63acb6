//! The onset detector on rendered drums: every hit found within a millisecond at every rate and
//! block size, by both detectors, a recording's first sample included; nothing in silence, noise
//! or NaN; the sensitivity moves what counts; and the banded detector finds the kicks and hats a
//! loud bed hides from the whole signal's energy.

use audio_mamba_engine::onset::{onsets_of, OnsetDetector, Onsets};
use audio_mamba_host_tests::signals::{drums, Drum};

const BOTH: [Onsets; 2] = [Onsets::Broadband, Onsets::Banded];

fn ms_error(found: u64, hit: usize, rate: f32) -> f64 {
    (found as f64 - hit as f64).abs() / rate as f64 * 1000.0
}

#[test]
fn finds_drum_hits_within_a_millisecond() {
    for onsets in BOTH {
        for rate in [8_000.0, 44_100.0, 48_000.0, 192_000.0] {
            let ms = |m: f32| (m * rate / 1000.0) as usize;
            let kinds = [Drum::Kick, Drum::Snare, Drum::Hat];
            let hits: Vec<(usize, Drum)> = (0..12)
                .map(|i| (ms(200.0) + i * ms(125.0) + i * 7, kinds[i % 3]))
                .collect();
            let x = drums(rate, &hits, ms(1900.0));
            let mut det = OnsetDetector::with(rate, onsets);
            let mut found = Vec::new();
            // Odd block sizes: the result must not depend on them.
            for block in x.chunks(37 + (rate as usize % 91)) {
                det.push(block, &mut found);
            }
            assert_eq!(found.len(), hits.len(), "{onsets:?} rate {rate}: {found:?}");
            for (&f, &(h, _)) in found.iter().zip(&hits) {
                let err = ms_error(f, h, rate);
                assert!(
                    err < 1.0,
                    "{onsets:?} rate {rate}: onset {f} vs {h} ({err} ms)"
                );
            }
        }
    }
}

#[test]
fn silence_noise_and_nan_give_no_onsets() {
    for onsets in BOTH {
        let mut det = OnsetDetector::with(48_000.0, onsets);
        let mut found = Vec::new();
        det.push(&vec![0.0; 48_000], &mut found);
        let x = drums(48_000.0, &[], 48_000);
        det.push(&x, &mut found);
        det.push(&[f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0], &mut found);
        assert!(found.is_empty(), "{onsets:?}: {found:?}");
    }
}

#[test]
fn sensitivity_changes_what_counts() {
    // Noise that gets 7 dB louder: a hit at high sensitivity only.
    let rate = 48_000.0;
    let quiet = drums(rate, &[], 48_000);
    let x: Vec<f32> = (0..48_000)
        .map(|i| 50.0 * quiet[i] * if i >= 24_000 { 2.24 } else { 1.0 })
        .collect();
    for onsets in BOTH {
        // A recording starts after silence, so noise from its first sample is an onset there at
        // every sensitivity; what follows it is what the sensitivity decides.
        let found = |s: f32| {
            let all = onsets_of(&x, rate as u32, s, onsets);
            assert!(
                matches!(all.first(), Some(&o) if o < 48),
                "{onsets:?} at {s}: the start is an onset: {all:?}"
            );
            all[1..].to_vec()
        };
        assert_eq!(found(0.0), Vec::<u64>::new(), "{onsets:?}");
        assert_eq!(found(0.5), Vec::<u64>::new(), "{onsets:?}");
        // At the highest sensitivity a band's rise of 1.5x also finds swings of the noise
        // (banded: 3 onsets); the first is the step.
        let steps = found(1.0);
        assert!(
            matches!(steps.first(), Some(&o) if o.abs_diff(24_000) < 200),
            "{onsets:?}: {steps:?}"
        );
        assert!(steps.len() <= 3, "{onsets:?}: {steps:?}");
    }
}

#[test]
fn a_hit_on_the_first_sample_counts() {
    // A loop's downbeat usually sits on its first sample, and an offline render starts on it:
    // a stream is heard as starting after silence, a file and a restarted stream alike.
    for onsets in BOTH {
        for rate in [8_000.0, 44_100.0, 48_000.0] {
            let ms = |m: f32| (m * rate / 1000.0) as usize;
            for first in [Drum::Kick, Drum::Snare, Drum::Hat] {
                let hits = [(0, first), (ms(250.0), Drum::Snare)];
                let x = drums(rate, &hits, ms(600.0));
                let found = onsets_of(&x, rate as u32, 0.5, onsets);
                assert_eq!(found.len(), 2, "{onsets:?} {rate} {first:?}: {found:?}");
                // The stream after a restart at another position finds the same.
                let mut det = OnsetDetector::with(rate, onsets);
                let mut streamed = Vec::new();
                det.push(
                    &drums(rate, &[(ms(100.0), Drum::Kick)], ms(300.0)),
                    &mut streamed,
                );
                streamed.clear();
                det.reset(1_000_000);
                det.push(&x, &mut streamed);
                det.push(&vec![0.0; ms(20.0)], &mut streamed);
                let shifted: Vec<u64> = found.iter().map(|&o| o + 1_000_000).collect();
                assert_eq!(streamed, shifted, "{onsets:?} {rate} {first:?}");
                for (&f, &(h, _)) in found.iter().zip(&hits) {
                    let within = if first == Drum::Kick { 3.0 } else { 1.0 };
                    let err = ms_error(f, h, rate);
                    assert!(err < within, "{onsets:?} {rate} {first:?}: {f} vs {h}");
                }
            }
        }
    }
}

/// Soft kicks and hats under a loud steady chord (400 Hz - 2 kHz, about -9 dBFS), which has no
/// onset of its own.
fn under_a_bed(rate: f32) -> (Vec<f32>, Vec<(usize, Drum)>) {
    let ms = |m: f32| (m * rate / 1000.0) as usize;
    let hits: Vec<(usize, Drum)> = (0..16)
        .map(|i| {
            let kind = if i % 2 == 0 { Drum::Kick } else { Drum::Hat };
            (ms(300.0) + i * ms(180.0) + i * 5, kind)
        })
        .collect();
    let soft = drums(rate, &hits, ms(3400.0));
    let tau = std::f32::consts::TAU;
    let x = soft
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = i as f32 / rate;
            let chord: f32 = [400.0f32, 500.0, 600.0, 1200.0, 2000.0]
                .iter()
                .map(|f| (tau * f * t).sin())
                .sum();
            0.1 * chord + 0.2 * v
        })
        .collect();
    (x, hits)
}

#[test]
fn banded_onsets_find_kicks_and_hats_under_a_bed() {
    for rate in [44_100.0, 48_000.0, 96_000.0] {
        let (x, hits) = under_a_bed(rate);
        // The chord starts on the recording's first sample: an onset there (as a recording
        // starts after silence), then only the hits.
        let after_start = |onsets| {
            let all = onsets_of(&x, rate as u32, 0.5, onsets);
            assert!(
                matches!(all.first(), Some(&o) if o < 48),
                "rate {rate}: {all:?}"
            );
            all[1..].to_vec()
        };
        let whole = after_start(Onsets::Broadband);
        let banded = after_start(Onsets::Banded);
        eprintln!(
            "rate {rate}: the whole signal finds {} of {}",
            whole.len(),
            hits.len()
        );
        // The whole signal's rise misses many of them: what the bands are for.
        assert!(whole.len() <= hits.len() * 3 / 4, "rate {rate}: {whole:?}");
        assert_eq!(banded.len(), hits.len(), "rate {rate}: {banded:?}");
        for (&f, &(h, kind)) in banded.iter().zip(&hits) {
            let err = ms_error(f, h, rate);
            // A kick only its low band sees comes the band filter's delay late (1.5-2.5 ms).
            let within = if kind == Drum::Kick { 3.0 } else { 1.0 };
            assert!(err < within, "rate {rate} {kind:?}: {f} vs {h} ({err} ms)");
        }
    }
}
