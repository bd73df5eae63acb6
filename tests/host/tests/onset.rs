//! The onset detector on rendered drums: every hit found within a millisecond at every rate and
//! block size, nothing in silence, noise or NaN, and the sensitivity moves what counts.

use audio_mamba_engine::onset::OnsetDetector;
use audio_mamba_host_tests::signals::{drums, Drum};

#[test]
fn finds_drum_hits_within_a_millisecond() {
    for rate in [8_000.0, 44_100.0, 48_000.0, 192_000.0] {
        let ms = |m: f32| (m * rate / 1000.0) as usize;
        let kinds = [Drum::Kick, Drum::Snare, Drum::Hat];
        let hits: Vec<(usize, Drum)> = (0..12)
            .map(|i| (ms(200.0) + i * ms(125.0) + i * 7, kinds[i % 3]))
            .collect();
        let x = drums(rate, &hits, ms(1900.0));
        let mut det = OnsetDetector::new(rate);
        let mut found = Vec::new();
        // Odd block sizes: the result must not depend on them.
        for block in x.chunks(37 + (rate as usize % 91)) {
            det.push(block, &mut found);
        }
        assert_eq!(found.len(), hits.len(), "rate {rate}: {found:?}");
        for (&f, &(h, _)) in found.iter().zip(&hits) {
            let err = (f as f64 - h as f64).abs() / rate as f64 * 1000.0;
            assert!(err < 1.0, "rate {rate}: onset {f} vs {h} ({err} ms)");
        }
    }
}

#[test]
fn silence_noise_and_nan_give_no_onsets() {
    let mut det = OnsetDetector::new(48_000.0);
    let mut found = Vec::new();
    det.push(&vec![0.0; 48_000], &mut found);
    let x = drums(48_000.0, &[], 48_000);
    det.push(&x, &mut found);
    det.push(&[f32::NAN, f32::INFINITY, -f32::INFINITY, 0.0], &mut found);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn sensitivity_changes_what_counts() {
    // Noise that gets 7 dB louder: a hit at high sensitivity only.
    let rate = 48_000.0;
    let quiet = drums(rate, &[], 48_000);
    let x: Vec<f32> = (0..48_000)
        .map(|i| 50.0 * quiet[i] * if i >= 24_000 { 2.24 } else { 1.0 })
        .collect();
    let count = |s: f32| {
        let mut det = OnsetDetector::new(rate);
        det.set_sensitivity(s);
        let mut found = Vec::new();
        det.push(&x, &mut found);
        found.len()
    };
    assert_eq!(count(0.0), 0);
    assert_eq!(count(0.5), 0);
    assert_eq!(count(1.0), 1);
}
