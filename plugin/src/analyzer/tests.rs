use super::*;
use crate::events::Msg;
use crate::params::PluginParams;
use crate::worker::settings;
use audio_mamba_engine::hits::HitClassifier;
use audio_mamba_engine::{BackendChoice, Model};
use audio_mamba_host_tests::model::{controlled_model, sigmoid, DRUM_TEST_LABELS};
use audio_mamba_host_tests::signals::{drums, rock_beat, speech_like};
use std::sync::Arc;

fn analyzer(rate: u32, hop: f32) -> (Analyzer, Settings) {
    let model = Arc::new(Model::from_bytes(&controlled_model(DRUM_TEST_LABELS)).unwrap());
    let params = PluginParams::new(&model.config().labels);
    let s = settings(&params);
    (
        Analyzer::new(
            Session::new(model, 1, BackendChoice::Cpu, 1).unwrap(),
            rate,
            hop,
        )
        .unwrap(),
        s,
    )
}

/// (position, key) of every note-on.
fn note_ons(ev: &[Event]) -> Vec<(u64, u8)> {
    ev.iter()
        .filter_map(|e| match e.msg {
            Msg::NoteOn { key, .. } => Some((e.pos, key)),
            _ => None,
        })
        .collect()
}

/// Pushes `x` in blocks of the given sizes (cycled), running every due window.
fn analyse(an: &mut Analyzer, s: &Settings, x: &[f32], blocks: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let (mut pos, mut k) = (0, 0);
    while pos < x.len() {
        let n = blocks[k % blocks.len()].min(x.len() - pos);
        an.push(pos as u64, &x[pos..pos + n], s.sensitivity, &mut events);
        while an.window_due() {
            an.run_window(s).unwrap();
        }
        an.emit(s, &mut events).unwrap();
        pos += n;
        k += 1;
    }
    events
}

#[test]
fn drum_notes_land_on_the_onsets_and_ccs_carry_the_probabilities() {
    for rate in [44_100u32, 48_000] {
        let (mut an, s) = analyzer(rate, 0.25);
        let r = rate as f32;
        let hits = rock_beat(r, 120.0, 0.5, 2);
        let x = drums(r, &hits, (r * 5.0) as usize);
        let ev = analyse(&mut an, &s, &x, &[511, 3, 1024, 77]);
        assert!(
            ev.windows(2).all(|w| w[0].pos <= w[1].pos),
            "events out of order"
        );
        // The model says "bass drum" everywhere: one kick note per hit, none for snare or hat.
        let ons = note_ons(&ev);
        assert!(ons.iter().all(|&(_, k)| k == 36), "{ons:?}");
        let last_analysed = an.host_pos() - (r * 0.3) as u64;
        let expected: Vec<usize> = hits
            .iter()
            .map(|h| h.0)
            .filter(|&h| (h as u64) < last_analysed)
            .collect();
        assert_eq!(ons.len(), expected.len(), "{rate}: {ons:?} vs {expected:?}");
        for (&(got, _), &want) in ons.iter().zip(&expected) {
            let ms = (got as f64 - want as f64).abs() * 1000.0 / rate as f64;
            assert!(
                ms <= 1.0,
                "{rate}: note at {got}, hit at {want} ({ms:.2} ms)"
            );
        }
        let cc = |n: u8| {
            ev.iter().find_map(|e| match e.msg {
                Msg::Cc { cc, value } if cc == n => Some(value),
                _ => None,
            })
        };
        assert_eq!(cc(20), Some((sigmoid(6.0) * 127.0).round() as u8));
        assert_eq!(cc(23), Some((sigmoid(-1.0) * 127.0).round() as u8));
    }
}

#[test]
fn block_sizes_do_not_change_the_events() {
    let r = 44_100.0;
    let hits = rock_beat(r, 100.0, 0.3, 1);
    let mut x = drums(r, &hits, (r * 3.0) as usize);
    for (v, s) in x.iter_mut().zip(speech_like(r, 3.0)) {
        *v += s;
    }
    let run = |blocks: &[usize]| {
        let (mut an, s) = analyzer(44_100, 0.2);
        analyse(&mut an, &s, &x, blocks)
    };
    let a = run(&[1, 7, 8192, 333]);
    assert!(!a.is_empty());
    assert_eq!(a, run(&[64]));
}

#[test]
fn sustained_tags_hold_a_note_and_thresholds_apply() {
    let (mut an, mut s) = analyzer(48_000, 0.25);
    s.tags[0].0 = false; // kick off: no drum notes
    s.tags[4].2 = Some(60); // Music (p = 0.998) plays note 60
    s.tags[3].2 = Some(61); // Speech (p = 0.269) would play 61 ...
    s.tags[3].1 = 0.3; // ... but stays under its threshold
    let x = drums(48_000.0, &rock_beat(48_000.0, 120.0, 0.2, 1), 96_000);
    let ev = analyse(&mut an, &s, &x, &[480]);
    let notes: Vec<_> = ev
        .iter()
        .filter(|e| !matches!(e.msg, Msg::Cc { .. }))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].pos, 0);
    assert!(matches!(notes[0].msg, Msg::NoteOn { key: 60, .. }));
    // Full sensitivity halves the threshold (0.15): speech now plays too.
    let (mut an, _) = analyzer(48_000, 0.25);
    s.sensitivity = 1.0;
    let ev = analyse(&mut an, &s, &x, &[480]);
    assert!(ev
        .iter()
        .any(|e| matches!(e.msg, Msg::NoteOn { key: 61, .. })));
}

#[test]
fn lost_input_ends_notes_and_restarts_at_the_new_position() {
    let (mut an, mut s) = analyzer(32_000, 0.1);
    s.tags[4].2 = Some(60);
    let x = vec![0.01f32; 16_000];
    let mut ev = analyse(&mut an, &s, &x, &[1000]);
    assert!(ev
        .iter()
        .any(|e| matches!(e.msg, Msg::NoteOn { key: 60, .. })));
    let n = ev.len();
    an.push(100_000, &x, s.sensitivity, &mut ev);
    assert!(
        matches!(ev[n].msg, Msg::NoteOff { key: 60 }) && ev[n].pos == 16_000,
        "{:?}",
        &ev[n..]
    );
    assert_eq!(an.host_pos(), 116_000);
    while an.window_due() {
        an.run_window(&s).unwrap();
    }
    an.emit(&s, &mut ev).unwrap();
    assert!(ev[n + 1..].iter().all(|e| e.pos >= 100_000));
}

#[test]
fn a_worker_that_falls_behind_skips_to_the_newest_window() {
    let (mut an, s) = analyzer(32_000, 0.1);
    let mut ev = Vec::new();
    an.push(0, &vec![0.0; 3_200], s.sensitivity, &mut ev);
    assert!(an.window_due());
    assert!(!an.overtaken(0));
    assert!(an.overtaken(3_200));
    an.skip_window();
    assert!(!an.window_due());
}

#[test]
fn non_finite_input_is_analysed_as_silence() {
    let (mut an, s) = analyzer(44_100, 0.25);
    let x: Vec<f32> = (0..44_100)
        .map(|i| if i % 3 == 0 { f32::NAN } else { f32::INFINITY })
        .collect();
    let ev = analyse(&mut an, &s, &x, &[512]);
    assert!(
        ev.iter()
            .all(|e| !matches!(e.msg, Msg::NoteOn { key: 36, .. })),
        "{ev:?}"
    );
}

/// The editor's timeline gets every emitted stretch in order, with the kick's slot marked where
/// its notes fired and its probability as the model gave it.
#[test]
fn the_timeline_gets_each_stretch_with_its_probabilities_and_fired_notes() {
    let rate = 48_000u32;
    let (mut an, s) = analyzer(rate, 0.25);
    let (tx, mut rx) = crate::timeline::channel();
    an.set_timeline(tx);
    let r = rate as f32;
    let hits = rock_beat(r, 120.0, 0.5, 2);
    let x = drums(r, &hits, (r * 5.0) as usize);
    let ev = analyse(&mut an, &s, &x, &[512]);
    let mut frames = Vec::new();
    while let Ok(f) = rx.pop() {
        frames.push(f);
    }
    assert!(frames.len() >= 10, "{} frames", frames.len());
    assert!(frames
        .windows(2)
        .all(|w| w[0].end <= w[1].start + 1e-9 && w[0].start < w[1].start));
    let kicks = ev
        .iter()
        .filter(|e| matches!(e.msg, Msg::NoteOn { key: 36, .. }))
        .count();
    let fired: u32 = frames.iter().map(|f| (f.fired & 1).count_ones()).sum();
    assert!(
        kicks > 0 && fired as usize <= kicks && fired > 0,
        "{fired} of {kicks}"
    );
    assert!(frames
        .iter()
        .all(|f| (f.probs[0] - sigmoid(6.0)).abs() < 1e-4));
    assert!(
        frames.iter().all(|f| f.fired & !1 == 0),
        "only the kick slot fires"
    );
}

fn with_hit_model(an: &mut Analyzer, labels: &[(&str, &str, f32)]) {
    let bytes = audio_mamba_host_tests::model::controlled_hit_model(labels);
    let model = Arc::new(Model::from_bytes(&bytes).unwrap());
    let clf = HitClassifier::new(model, 1, BackendChoice::Cpu).unwrap();
    an.set_hit_classifier(clf).unwrap();
    assert!(an.has_hit_model());
}

/// Every hit "is a snare" to this hit model, whatever the tagger's kick tag says.
const SNARE_HITS: &[(&str, &str, f32)] = &[
    ("Bass drum", "/m/0bm02", -4.0),
    ("Snare drum", "/m/06rvn", 4.0),
    ("Hi-hat", "/m/03qtq", -4.0),
];

/// With a hit model, an onset plays the drum the hit model says was struck, at the onset's
/// sample, and every hit older than the reported analysis delay has been played.
#[test]
fn with_a_hit_model_each_onset_plays_only_the_drum_it_was() {
    for rate in [44_100u32, 48_000] {
        let (mut an, s) = analyzer(rate, 0.25);
        with_hit_model(&mut an, SNARE_HITS);
        let r = rate as f32;
        let hits = rock_beat(r, 120.0, 0.5, 2);
        let x = drums(r, &hits, (r * 5.0) as usize);
        let ev = analyse(&mut an, &s, &x, &[511, 3, 1024, 77]);
        assert!(
            ev.windows(2).all(|w| w[0].pos <= w[1].pos),
            "events out of order"
        );
        let ons = note_ons(&ev);
        // The tagger's kick tag is open (0.998), its snare tag closed: the hit model decides.
        assert!(ons.iter().all(|&(_, k)| k == 38), "{ons:?}");
        let due = an.host_pos() - an.analysis_delay();
        let expected: Vec<usize> = hits
            .iter()
            .map(|h| h.0)
            .filter(|&h| (h as u64) < due)
            .collect();
        assert!(expected.len() >= hits.len() / 2, "{expected:?}");
        assert!(
            ons.len() >= expected.len(),
            "{rate}: {ons:?} vs {expected:?}"
        );
        for (&(got, _), &want) in ons.iter().zip(&expected) {
            let ms = (got as f64 - want as f64).abs() * 1000.0 / rate as f64;
            assert!(
                ms <= 1.0,
                "{rate}: note at {got}, hit at {want} ({ms:.2} ms)"
            );
        }
    }
}

/// Where no drum tag reaches the veto level (speech, say), no hit plays a drum note.
#[test]
fn frames_that_are_clearly_not_drums_veto_the_hit_model() {
    let speech_tagger: &[(&str, &str, f32)] = &[
        ("Bass drum", "/m/0bm02", -6.0),
        ("Snare drum", "/m/06rvn", -6.0),
        ("Hi-hat", "/m/03qtq", -6.0),
        ("Speech", "/m/09x0r", 4.0),
        ("Music", "/m/04rlf", -6.0),
    ];
    let model = Arc::new(Model::from_bytes(&controlled_model(speech_tagger)).unwrap());
    let params = PluginParams::new(&model.config().labels);
    let s = settings(&params);
    let mut an = Analyzer::new(
        Session::new(model, 1, BackendChoice::Cpu, 1).unwrap(),
        48_000,
        0.25,
    )
    .unwrap();
    with_hit_model(&mut an, SNARE_HITS);
    let x = drums(48_000.0, &rock_beat(48_000.0, 120.0, 0.5, 2), 48_000 * 5);
    let ev = analyse(&mut an, &s, &x, &[512]);
    assert!(
        !ev.iter().any(|e| matches!(e.msg, Msg::NoteOn { .. })),
        "{ev:?}"
    );
}

#[test]
fn a_hit_model_at_another_rate_is_refused_and_the_analysis_goes_on_without() {
    let (mut an, s) = analyzer(48_000, 0.25);
    let bytes = audio_mamba_host_tests::model::controlled_hit_model_from(
        "golden-c.safetensors",
        SNARE_HITS,
    );
    let model = Arc::new(Model::from_bytes(&bytes).unwrap());
    let clf = HitClassifier::new(model, 1, BackendChoice::Cpu).unwrap();
    let why = an.set_hit_classifier(clf).unwrap_err();
    assert!(why.contains("16000 Hz"), "{why}");
    assert!(!an.has_hit_model());
    // Without it, onsets play the open drum tags: the kick (0.998) on every hit.
    let x = drums(48_000.0, &rock_beat(48_000.0, 120.0, 0.5, 1), 48_000 * 3);
    let ev = analyse(&mut an, &s, &x, &[512]);
    assert!(ev
        .iter()
        .any(|e| matches!(e.msg, Msg::NoteOn { key: 36, .. })));
}

#[test]
fn silent_windows_reuse_the_last_silent_prediction_and_change_nothing() {
    // golden-a's own head: its probabilities follow the audio (1.28 s window at 32 kHz).
    let model = Arc::new(Model::load(audio_mamba_host_tests::model::golden_a()).unwrap());
    let s = settings(&PluginParams::new(&model.config().labels));
    let rate = 48_000u32;
    let r = rate as f32;
    let mut x = speech_like(r, 3.0);
    x.extend(vec![0.0; 6 * rate as usize]);
    x.extend(drums(r, &rock_beat(r, 120.0, 0.2, 1), 3 * rate as usize));
    let run = |reuse: bool| {
        let tagger = Session::new(model.clone(), 1, BackendChoice::Cpu, 1).unwrap();
        let mut an = Analyzer::new(tagger, rate, 0.25).unwrap();
        an.set_reuse_silence(reuse);
        let (mut events, mut latest) = (Vec::new(), Vec::new());
        for (k, block) in x.chunks(1000).enumerate() {
            an.push(k as u64 * 1000, block, s.sensitivity, &mut events);
            while an.window_due() {
                latest.push(an.run_window(&s).unwrap());
            }
            an.emit(&s, &mut events).unwrap();
        }
        (events, latest, an.silent_windows())
    };
    let (ev, probs, silent) = run(true);
    let (ev_all, probs_all, silent_all) = run(false);
    assert_eq!(silent_all, 0);
    // Windows wholly in the 6 s of silence: about (6 - 1.28) / 0.25; all but the first reuse.
    assert!((15..=19).contains(&silent), "{silent} silent windows");
    assert_eq!(probs, probs_all);
    assert_eq!(ev, ev_all);
    assert!(ev.iter().any(|e| matches!(e.msg, Msg::Cc { .. })));
    // The prediction does follow the audio: silence and sound differ.
    assert!(probs.windows(2).any(|w| w[0] != w[1]));
}
