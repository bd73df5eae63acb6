//! `amtag hits` end to end: hits at their samples, the MIDI file read back, bad input, and the
//! shipped hit model on the held-out example clips.

use audio_mamba_host_tests::checks::{example_kit_hits, f_measure};
use audio_mamba_host_tests::model::{controlled_hit_model, controlled_model};
use audio_mamba_host_tests::signals::{drums, rock_beat};
use midly::{MidiMessage, Smf, Timing, TrackEventKind};
use std::path::{Path, PathBuf};

mod common;
use common::{amtag, write_mono_wav as write_wav};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir(&format!("hits-{name}"))
}

/// A hit model that calls every hit a bass drum (0.98) and nothing else (0.02).
fn kick_only_model(d: &Path) -> PathBuf {
    let path = d.join("kick-only.safetensors");
    let labels = [
        ("Bass drum", "/m/0bm02", 4.0),
        ("Snare drum", "/m/06rvn", -4.0),
        ("Hi-hat", "/m/03qtq", -4.0),
    ];
    std::fs::write(&path, controlled_hit_model(&labels)).unwrap();
    path
}

#[test]
fn hits_come_out_at_their_samples_and_as_gm_notes_in_a_midi_file() {
    let d = tmpdir("midi");
    let rate = 44_100u32;
    let beat = rock_beat(rate as f32, 100.0, 0.5, 2);
    let x = drums(rate as f32, &beat, rate as usize * 6);
    let wav = d.join("beat.wav");
    write_wav(&wav, rate, &x);
    let model = kick_only_model(&d);
    let mid = d.join("beat.mid");
    let (ok, out, err) = amtag(&[
        "hits",
        wav.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--json",
        "--no-veto",
        "--midi",
        mid.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let hits = doc["hits"].as_array().unwrap();
    assert_eq!(hits.len(), beat.len(), "{out}");
    for (h, &(at, _)) in hits.iter().zip(&beat) {
        let err_ms = (h["time_s"].as_f64().unwrap() - at as f64 / rate as f64).abs() * 1000.0;
        assert!(err_ms < 1.0, "hit {h} is {err_ms} ms off");
        let classes = h["classes"].as_array().unwrap();
        assert_eq!(classes.len(), 1, "{h}");
        assert_eq!(classes[0]["label"], "Bass drum");
        assert_eq!(classes[0]["note"], 36);
    }

    let bytes = std::fs::read(&mid).unwrap();
    let smf = Smf::parse(&bytes).unwrap();
    let Timing::Metrical(ppq) = smf.header.timing else {
        panic!("metrical timing expected")
    };
    // 120 bpm (the file's tempo) at `ppq` ticks per beat: ticks per second = 2 * ppq.
    let per_s = 2.0 * ppq.as_int() as f64;
    let mut tick = 0u64;
    let mut ons = Vec::new();
    let mut offs = 0;
    for ev in &smf.tracks[0] {
        tick += ev.delta.as_int() as u64;
        if let TrackEventKind::Midi { channel, message } = ev.kind {
            assert_eq!(channel.as_int(), 9, "GM drums are on channel 10");
            match message {
                MidiMessage::NoteOn { key, vel } => ons.push((tick, key.as_int(), vel.as_int())),
                MidiMessage::NoteOff { .. } => offs += 1,
                _ => {}
            }
        }
    }
    assert_eq!((ons.len(), offs), (beat.len(), beat.len()));
    for (&(t, key, vel), &(at, _)) in ons.iter().zip(&beat) {
        let want = at as f64 / rate as f64 * per_s;
        assert!(
            (t as f64 - want).abs() <= 1.5,
            "note at tick {t}, hit at {want}"
        );
        assert_eq!(key, 36);
        assert!(vel > 0);
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let d = tmpdir("bad");
    let model = kick_only_model(&d);
    let m = model.to_str().unwrap();
    let good = d.join("good.wav");
    write_wav(
        &good,
        48_000,
        &drums(
            48_000.0,
            &[(4800, audio_mamba_host_tests::signals::Drum::Kick)],
            48_000,
        ),
    );
    std::fs::write(d.join("broken.wav"), b"RIFF0000WAVEnot really").unwrap();

    let (ok, out, err) = amtag(&["hits", d.to_str().unwrap(), "--model", m, "--no-veto"]);
    assert!(
        !ok && out.contains("good.wav") && err.contains("broken.wav"),
        "{out} {err}"
    );
    assert!(err.contains("1 of 2 files failed"), "{err}");

    let midi = d.join("x.mid");
    let (ok, _, err) = amtag(&[
        "hits",
        d.to_str().unwrap(),
        "--model",
        m,
        "--midi",
        midi.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("one input"), "{err}");

    let good_path = good.to_str().unwrap();
    let (ok, _, err) = amtag(&["hits", good_path, "--model", m, "--onsets", "bands"]);
    assert!(!ok && err.contains("banded or broadband"), "{err}");

    let tagger =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/golden-a.safetensors");
    let (ok, _, err) = amtag(&[
        "hits",
        good.to_str().unwrap(),
        "--model",
        tagger.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not a hit model"), "{err}");

    let (ok, _, err) = amtag(&[
        "hits",
        good.to_str().unwrap(),
        "--model",
        m,
        "--threshold",
        "2",
    ]);
    assert!(!ok && err.contains("--threshold"), "{err}");

    // Silence with NaN and Inf in it (written as float WAV would be clipped; the decoder's
    // output path cleans them either way): no hits, no failure.
    let quiet = d.join("silence.wav");
    write_wav(&quiet, 8_000, &vec![0.0; 16_000]);
    let (ok, out, err) = amtag(&[
        "hits",
        quiet.to_str().unwrap(),
        "--model",
        m,
        "--json",
        "--no-veto",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["hits"].as_array().unwrap().len(), 0);
}

/// The veto: hits where the tagger hears no drums are dropped (and counted), unless --no-veto.
#[test]
fn hits_where_the_tagger_hears_no_drums_are_dropped() {
    let d = tmpdir("veto");
    let model = kick_only_model(&d);
    let wav = d.join("beat.wav");
    let beat = rock_beat(48_000.0, 120.0, 0.5, 1);
    write_wav(&wav, 48_000, &drums(48_000.0, &beat, 48_000 * 3));
    let tagger = |name: &str, kick: f32| {
        let path = d.join(name);
        let labels = [("Bass drum", "/m/0bm02", kick), ("Speech", "/m/09x0r", 3.0)];
        std::fs::write(&path, controlled_model(&labels)).unwrap();
        path
    };
    let count = |tagger: &Path| {
        let (ok, out, err) = amtag(&[
            "hits",
            wav.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--tagger",
            tagger.to_str().unwrap(),
            "--json",
        ]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        (
            v["hits"].as_array().unwrap().len(),
            v["vetoed"].as_u64().unwrap() as usize,
        )
    };
    assert_eq!(count(&tagger("speech.safetensors", -5.0)), (0, beat.len()));
    assert_eq!(count(&tagger("drums.safetensors", 3.0)), (beat.len(), 0));
}

/// The shipped hit model (embedded: `weights/` is committed) on the example clips it never
/// heard: the held-out kit's kick, snare and hi-hat are found, and speech plays few drums.
#[test]
fn shipped_hit_model_on_the_example_clips() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let kit = examples.join("drum-kit-acoustic.flac");
    let (ok, out, err) = amtag(&["hits", kit.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let predicted = |label: &str| -> Vec<f64> {
        doc["hits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| {
                h["classes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["label"] == label)
            })
            .map(|h| h["time_s"].as_f64().unwrap())
            .collect()
    };
    // Measured 2026-12-06 (hits-v3): 1.000, 1.000, 0.677 (hits-v0: 0.889, 0.714, 0.571); with
    // the banded detector and the thresholds chosen for kits and mixtures (that night): 0.917,
    // 0.800, 0.526 (one kit, 5 snares: one extra snare note is 0.8; its hats lost where the 99
    // held-out test kits' hats held, weights/README.md). The floors catch a regression.
    for (label, floor) in [("Bass drum", 0.9), ("Snare drum", 0.75), ("Hi-hat", 0.5)] {
        let f = f_measure(&predicted(label), &example_kit_hits(label));
        eprintln!("example kit, {label}: F {f:.3}");
        assert!(f >= floor, "{label}: F {f:.3} below {floor}\n{out}");
    }

    let speech = examples.join("speech-belarusian.flac");
    let (ok, out, err) = amtag(&["hits", speech.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let secs = doc["duration_s"].as_f64().unwrap();
    let n = doc["hits"].as_array().unwrap().len();
    // The aim (issue 17): at most one drum note per 10 s of speech. With the veto at 0.7 (0.8
    // since the banded detector) the shipped models give none here (at 0.5 they gave 2 hi-hats on one sibilant at 7.2 s, where
    // the tagger's frame says Tambourine 0.6).
    assert!(
        n as f64 <= 1.0 * secs / 10.0,
        "{n} drum hits in {secs:.1} s of speech: {out}"
    );
}
