//! The built `audio-mamba.clap` in a real CLAP host (clack-host). These need the bundle, so they
//! are ignored by a plain `cargo test`; `scripts/test-plugin.sh` builds it and runs them with
//! `--ignored`.
//!
//! The model is `controlled_model` (see `model.rs`): the real network on the real signal, with
//! an answer fixed in advance (bass drum and music present, speech at 0.27, snare and hi-hat
//! absent), so the notes and CCs the host receives can be predicted exactly.

use audio_mamba_host_tests::checks::{
    assert_passes_through, bypass_run, bypass_span, check_bypass_run, check_drum_run, check_sleep,
    drum_signal, drums_silence_drums, example_kit_hits, f_measure, kick_check, kicks_at,
    midi_in_probe, ms, setup, stereo, ODD_BLOCKS,
};
use audio_mamba_host_tests::clap_host::{
    child, load_entry, state_bytes, state_json, with_shipped_models, Instance, Output, Run,
};
use audio_mamba_host_tests::model::golden_a;
use audio_mamba_host_tests::signals::{drums, rock_beat, speech_like};

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn drum_pattern_gives_kick_notes_on_the_hits_ccs_and_untouched_audio() {
    setup();
    let entry = load_entry();
    for rate in [44_100.0, 48_000.0] {
        let (hits, x) = drum_signal(rate);
        let input = stereo(&x);
        let mut p = Instance::new(&entry);
        p.set_offline(true);
        let mut run = Run::new(rate, ODD_BLOCKS);
        run.midi_in = midi_in_probe();
        check_drum_run(rate, &hits, &input, &p.run(&input, &run));
    }
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn offline_renders_are_identical() {
    setup();
    let entry = load_entry();
    let (_, x) = drum_signal(44_100.0);
    let mut x = x;
    for (v, s) in x.iter_mut().zip(speech_like(44_100.0, 6.0)) {
        *v += s;
    }
    let input = stereo(&x);
    let render = || {
        let mut p = Instance::new(&entry);
        p.set_offline(true);
        p.run(&input, &Run::new(44_100.0, &[733, 1024, 5]))
    };
    let (a, b) = (render(), render());
    assert!(!a.notes.is_empty());
    assert_eq!(a.notes, b.notes);
    assert_eq!(a.ccs, b.ccs);
    assert_eq!(a.audio, b.audio);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn real_time_notes_arrive_on_time_when_the_worker_keeps_up() {
    setup();
    let entry = load_entry();
    let rate = 48_000.0;
    let r = rate as f32;
    let hits = rock_beat(r, 120.0, 0.3, 1);
    let x = drums(r, &hits, (r * 3.2) as usize);
    let mut p = Instance::new(&entry);
    let mut run = Run::new(rate, &[256]);
    run.real_time = true;
    let out = p.run(&stereo(&x), &run);
    kick_check(rate, &hits, &out, x.len());
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn without_compensation_latency_is_zero_and_notes_come_late() {
    setup();
    let entry = load_entry();
    let rate = 44_100.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    let mut p = Instance::new(&entry);
    p.set_params(&[("Latency compensation", "0")]);
    p.set_offline(true);
    let out = p.run(&input, &Run::new(rate, &[512]));
    assert_eq!(out.latency, 0);
    assert_eq!(out.audio, input, "sample-exact pass-through");
    let ons: Vec<_> = out.notes.iter().filter(|n| n.on).collect();
    assert!(ons.len() >= hits.len() - 4, "{ons:?}");
    for n in ons {
        let hit = hits
            .iter()
            .map(|h| h.0 as u64)
            .filter(|&h| h <= n.time)
            .max()
            .unwrap();
        // Late by the analysis (hop, resampler, onset settling): clearly more than 5 ms.
        assert!(
            ms(rate, (n.time - hit) as f64) > 10.0,
            "note at {} only {} late",
            n.time,
            n.time - hit
        );
    }
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn parameters_change_the_events_and_state_round_trips() {
    setup();
    let entry = load_entry();
    let mut p = Instance::new(&entry);
    let names = p.param_names();
    for n in [
        "Analysis window",
        "Analysis hop",
        "Sensitivity",
        "Latency compensation",
        "MIDI channel",
    ] {
        assert!(names.iter().any(|x| x == n), "missing {n}");
    }
    // Defaults: GM kick for the bass drum, no note for speech, a CC each.
    assert_eq!(p.param_value("Tag 1 (Bass drum) note"), 37.0); // CLAP value = note + 1 (range -1..127)
    assert_eq!(p.param_value("Tag 4 (Speech) note"), 0.0);
    p.set_params(&[
        ("MIDI channel", "10"),
        ("Tag 1 (Bass drum) note", "35"),
        ("Tag 5 (Music) note", "60"),
        ("Tag 4 (Speech) CC", "Off"),
        ("Tag 2 (Snare drum) threshold", "0.2"),
        ("Analysis hop", "0.2"),
    ]);
    let state = p.save_state();
    let mut q = Instance::new(&entry);
    assert!(q.load_state(&state));
    for n in [
        "MIDI channel",
        "Tag 1 (Bass drum) note",
        "Tag 5 (Music) note",
        "Tag 4 (Speech) CC",
        "Tag 2 (Snare drum) threshold",
        "Analysis hop",
    ] {
        assert_eq!(q.param_value(n), p.param_value(n), "{n} after state load");
    }
    assert_eq!(q.save_state(), state);
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    q.set_offline(true);
    let out = q.run(&stereo(&x), &Run::new(rate, &[480]));
    assert!(out.notes.iter().all(|n| n.channel == 9));
    assert!(out.ccs.iter().all(|c| c.channel == 9 && c.cc != 23));
    let kicks = out.notes.iter().filter(|n| n.on && n.key == 35).count();
    assert!(kicks >= hits.len() - 4, "{kicks} kicks on key 35");
    // Music is sustained: one note 60 from the first analysed stretch on, never released.
    let music: Vec<_> = out.notes.iter().filter(|n| n.key == 60).collect();
    assert_eq!(music.len(), 1);
    assert!(
        music[0].on && music[0].time == out.latency as u64,
        "{music:?}"
    );
    // A hop change while running asks the host to restart (the latency depends on it).
    let mut run = Run::new(rate, &[480]);
    run.param_changes = vec![(4800, "Analysis hop".into(), "0.5".into())];
    assert!(q.run(&stereo(&x[..48_000]), &run).restart_requested);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn bad_input_rates_and_block_sizes_never_break_pass_through() {
    setup();
    let entry = load_entry();
    let mut p = Instance::new(&entry);
    // One instance through several rates (sample-rate change between activations).
    for (rate, blocks) in [
        (8_000.0, vec![1, 2, 3]),
        (22_050.0, vec![8192]),
        (44_100.0, vec![1, 8192, 17, 300]),
        (96_000.0, vec![4096, 1]),
        (384_000.0, vec![8192, 999]),
    ] {
        let n = (rate * 1.5) as usize;
        let mut x: Vec<f32> = (0..n).map(|i| 0.3 * (i as f32 * 0.01).sin()).collect();
        x[n / 3..n / 3 + 100].fill(f32::NAN);
        x[n / 2] = f32::INFINITY;
        x[n / 2 + 1] = f32::NEG_INFINITY;
        x[2 * n / 3..].fill(0.0);
        let input = stereo(&x);
        let out = p.run(&input, &Run::new(rate, &blocks));
        let clean: Vec<Vec<f32>> = input
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&v| if v.is_finite() { v } else { 0.0 })
                    .collect()
            })
            .collect();
        assert!(
            out.audio.iter().flatten().all(|v| v.is_finite()),
            "{rate}: non-finite output"
        );
        assert_passes_through(&clean, &out);
    }
    // Mono layout: one channel in, one out.
    let x: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.02).sin() * 0.1).collect();
    let out = Instance::new(&entry).run(std::slice::from_ref(&x), &Run::new(48_000.0, &[128]));
    assert_passes_through(&[x], &out);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn sixteen_instances_share_a_process() {
    // Alone in a child process, so no other test's workers are counted below.
    if std::env::var_os("AUDIO_MAMBA_CHILD").is_none() {
        let (ok, log) = child(
            "sixteen_instances_share_a_process",
            &[("AUDIO_MAMBA_CHILD", "1")],
            &[],
        );
        assert!(ok, "{log}");
        return;
    }
    setup();
    let entry = load_entry();
    let (_, x) = drum_signal(48_000.0);
    let input = stereo(&x[..96_000]);
    let outs: Vec<Output> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16)
            .map(|i| {
                let (entry, input) = (&entry, &input);
                s.spawn(move || Instance::new(entry).run(input, &Run::new(48_000.0, &[256 + i])))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outs {
        assert_passes_through(&input, out);
    }
    // Deactivation joined every worker, even those stopped mid-window (real-time mode, fed
    // faster than real time, so the workers were busy when the host deactivated).
    assert_eq!(worker_threads(), 0);
}

/// Analysis threads alive in this process.
fn worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("audio-mamba-wor"))
        })
        .count()
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn corrupt_model_file_is_skipped_and_audio_keeps_passing() {
    setup();
    let entry = load_entry();
    let bad = std::env::temp_dir().join(format!(
        "audio-mamba-corrupt-{}.safetensors",
        std::process::id()
    ));
    std::fs::write(&bad, b"\x08\0\0\0\0\0\0\0{}garbage").unwrap();
    let mut p = Instance::new(&entry);
    let mut state = state_json(&p.save_state());
    state["fields"]["model-path"] = serde_json::to_string(bad.to_str().unwrap()).unwrap().into();
    assert!(p.load_state(&state_bytes(&state)));
    assert_eq!(
        state_json(&p.save_state())["fields"]["model-path"],
        state["fields"]["model-path"]
    );
    p.set_offline(true);
    let (hits, x) = drum_signal(44_100.0);
    let input = stereo(&x);
    let out = p.run(&input, &Run::new(44_100.0, &[512]));
    assert_passes_through(&input, &out);
    // The fallback (AUDIO_MAMBA_MODEL) model still tags.
    assert!(out.notes.iter().filter(|n| n.on).count() >= hits.len() - 4);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn no_model_at_all_passes_audio_without_events() {
    if std::env::var_os("AUDIO_MAMBA_CHILD").is_none() {
        // `none` turns the tagger off even though the bundle embeds one
        let (ok, log) = child(
            "no_model_at_all_passes_audio_without_events",
            &[("AUDIO_MAMBA_CHILD", "1"), ("AUDIO_MAMBA_MODEL", "none")],
            &[],
        );
        assert!(ok, "{log}");
        return;
    }
    let entry = load_entry();
    let (_, x) = drum_signal(48_000.0);
    let input = stereo(&x);
    let out = Instance::new(&entry).run(&input, &Run::new(48_000.0, &[100, 1000]));
    assert_passes_through(&input, &out);
    assert!(
        out.notes.is_empty() && out.ccs.is_empty(),
        "no model, yet {} notes and {} CCs",
        out.notes.len(),
        out.ccs.len()
    );
}

/// The random golden-a model (Speech, Dog, Music, Siren, Rain) on speech-like audio, with the
/// worker's trace: every CC and note the host receives must be what the worker's probabilities
/// imply at that time.
#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn events_match_the_probabilities_the_worker_computed() {
    let trace = std::env::var("AUDIO_MAMBA_TRACE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!("audio-mamba-trace-{}.jsonl", std::process::id()))
        });
    if std::env::var_os("AUDIO_MAMBA_CHILD").is_none() {
        let model = golden_a();
        let env = [
            ("AUDIO_MAMBA_CHILD", "1"),
            ("AUDIO_MAMBA_MODEL", model.to_str().unwrap()),
            ("AUDIO_MAMBA_TRACE", trace.to_str().unwrap()),
        ];
        let (ok, log) = child(
            "events_match_the_probabilities_the_worker_computed",
            &env,
            &[],
        );
        assert!(ok, "{log}");
        return;
    }
    let entry = load_entry();
    let rate = 48_000.0;
    let x = speech_like(rate as f32, 6.0);
    let mut p = Instance::new(&entry);
    p.set_params(&[
        ("Tag 1 (Speech) note", "60"),
        ("Tag 1 (Speech) threshold", "0.5"),
        ("Analysis hop", "0.1"),
    ]);
    p.set_offline(true);
    let out = p.run(std::slice::from_ref(&x), &Run::new(rate, &[333]));
    assert_passes_through(&[x], &out);
    let l = out.latency as u64;
    let items: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(items.len() > 20, "{} traced stretches", items.len());
    let at = |t: u64| {
        items
            .iter()
            .find(|i| i["start"].as_u64().unwrap() <= t && t < i["end"].as_u64().unwrap())
    };
    assert!(!out.ccs.is_empty());
    for c in &out.ccs {
        let item = at(c.time - l).unwrap_or_else(|| panic!("no stretch for CC at {}", c.time));
        assert_eq!(
            item["start"].as_u64().unwrap(),
            c.time - l,
            "CCs go out at stretch starts"
        );
        let slot = (c.cc - 20) as usize;
        let p = item["probs"][slot].as_f64().unwrap();
        assert_eq!(
            c.value,
            (p * 127.0).round() as u8,
            "CC {} at {}",
            c.cc,
            c.time
        );
    }
    for n in out.notes.iter() {
        let item = at(n.time - l).expect("stretch for note");
        let p = item["probs"][0].as_f64().unwrap();
        assert_eq!(n.key, 60);
        if n.on {
            assert!(p >= 0.5, "note on at p = {p}");
        } else {
            assert!(p < 0.5, "note off at p = {p}");
        }
    }
    // And the reverse: the first stretch over the threshold started a note.
    if let Some(first) = items
        .iter()
        .find(|i| i["probs"][0].as_f64().unwrap() >= 0.5)
    {
        let t = first["start"].as_u64().unwrap() + l;
        assert!(
            out.notes.iter().any(|n| n.on && n.time == t),
            "no note at {t}"
        );
    }
}

/// `assert_process_allocs` only acts in debug builds: a debug bundle aborts the process on any
/// allocation inside `process()`. Runs the main host tests against it in a child process.
#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn debug_bundle_process_never_allocates() {
    let Ok(dir) = std::env::var("AUDIO_MAMBA_DEBUG_BUNDLE_DIR") else {
        panic!("set AUDIO_MAMBA_DEBUG_BUNDLE_DIR to a debug bundle built with --features assert_process_allocs");
    };
    for name in [
        // Offline (the audio thread waits for the worker) and real-time (never waits) processing.
        "drum_pattern_gives_kick_notes_on_the_hits_ccs_and_untouched_audio",
        "bad_input_rates_and_block_sizes_never_break_pass_through",
        "sixteen_instances_share_a_process",
        // Bypass on and off (notes ended, events dropped, the feed paused) and sleep.
        "bypass_keeps_the_latency_and_incoming_midi_and_plays_none_of_ours",
        "silent_input_lets_the_host_sleep_and_nothing_is_lost_when_it_wakes",
    ] {
        let (ok, log) = child(name, &[("AUDIO_MAMBA_BUNDLE_DIR", &dir)], &[]);
        assert!(ok, "{name} on the debug bundle:\n{log}");
    }
}

/// The worker on the GPU backend (lavapipe in CI, forced with AUDIO_MAMBA_BACKEND=gpu since
/// `auto` never takes a CPU-emulated adapter): the same kick notes on the hits as on the CPU.
#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn gpu_backend_plays_the_kick_notes_on_the_hits() {
    let name = "gpu_backend_plays_the_kick_notes_on_the_hits";
    if std::env::var_os("AUDIO_MAMBA_CHILD").is_none() {
        if audio_mamba_engine::testkit::gpu_or_skip(name).is_none() {
            return;
        }
        setup();
        let model = std::env::var("AUDIO_MAMBA_MODEL").unwrap();
        let env = [
            ("AUDIO_MAMBA_CHILD", "1"),
            ("AUDIO_MAMBA_BACKEND", "gpu"),
            ("AUDIO_MAMBA_MODEL", model.as_str()),
        ];
        let (ok, log) = child(name, &env, &[]);
        assert!(ok, "{log}");
        return;
    }
    let entry = load_entry();
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    let mut p = Instance::new(&entry);
    p.set_offline(true);
    let out = p.run(&input, &Run::new(rate, &[512]));
    assert_passes_through(&input, &out);
    kick_check(rate, &hits, &out, x.len());
}

/// Notes on `key` (after the reported latency), in seconds.
fn note_times(out: &Output, key: i16, rate: f64) -> Vec<f64> {
    out.notes
        .iter()
        .filter(|n| n.on && n.key == key && n.channel == 0)
        .map(|n| (n.time as f64 - out.latency as f64) / rate)
        .collect()
}

/// An example clip (mono, 32 kHz) at 48 kHz, as a DAW would play it.
fn example_at_48k(name: &str) -> Vec<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let d = amtag::audio::decode_mono(&path).unwrap();
    audio_mamba_engine::resample::resample_mono(&d.samples, d.sample_rate, 48_000).unwrap()
}

/// The shipped models as a user gets them (embedded tagger and hit model, default parameters):
/// on the held-out kit's groove each drum note is on its own drum, and speech (the example,
/// and a rendered speech-like signal) plays at most one drum note per 10 s.
#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn shipped_models_play_each_hit_as_its_own_drum_and_not_on_speech() {
    if with_shipped_models("shipped_models_play_each_hit_as_its_own_drum_and_not_on_speech") {
        return;
    }
    let entry = load_entry();
    let rate = 48_000.0;
    let render = |x: &[f32]| {
        let mut p = Instance::new(&entry);
        p.set_offline(true);
        // A mono clip on a stereo track: both channels the same, so the analysed mix is the clip
        // at its own level (the hit model hears level; `stereo` would put it 12 dB down).
        let input = vec![x.to_vec(), x.to_vec()];
        let out = p.run(&input, &Run::new(rate, &[512]));
        assert_passes_through(&input, &out);
        out
    };
    let clip = example_at_48k("drum-kit-acoustic.flac");
    let kit = render(&clip);
    // A hit whose note would land after the render's end (its latency later) cannot be heard.
    let heard = (clip.len() as f64 - kit.latency as f64) / rate;
    // The aims are 0.9 (issue 17); the shipped hit model does not reach them on the held-out
    // kits (weights/README.md, "Hit model"). These floors sit under what it measures on this
    // example (2026-12-06, hits-v3, 48 kHz: kick 1.000, snare 1.000, hi-hat 0.667; hits-v0 gave
    // 0.889, 0.769, 0.556; with the banded detector and the thresholds chosen for kits and
    // mixtures, that night: 0.917, 0.857, 0.526, where the 99 held-out test kits' hats held),
    // to catch a regression.
    for (class, key, floor) in [
        ("Bass drum", 36, 0.9),
        ("Snare drum", 38, 0.8),
        ("Hi-hat", 42, 0.5),
    ] {
        let truth: Vec<f64> = example_kit_hits(class)
            .into_iter()
            .filter(|&t| t < heard)
            .collect();
        let f = f_measure(&note_times(&kit, key, rate), &truth);
        eprintln!("held-out kit, {class}: F {f:.3}");
        assert!(
            f >= floor,
            "{class}: F {f:.3} under {floor}: {:?}",
            note_times(&kit, key, rate)
        );
    }
    // The aim (issue 17): at most one drum note per 10 s on both. Measured 2026-12-06 with the
    // veto at 0.7: one note each (at 0.5 the speech-like signal got two hi-hats); with the banded
    // detector and the veto at 0.8, within the aim on both.
    for (what, x) in [
        ("speech example", example_at_48k("speech-belarusian.flac")),
        ("speech-like signal", speech_like(rate as f32, 10.0)),
    ] {
        let out = render(&x);
        let drums = out
            .notes
            .iter()
            .filter(|n| n.on && (35..=81).contains(&n.key))
            .count();
        let per_10s = drums as f64 * 10.0 * rate / x.len() as f64;
        eprintln!("{what}: {drums} drum notes ({per_10s:.2} per 10 s)");
        assert!(
            per_10s <= 1.0,
            "{what}: {drums} drum notes: {:?}",
            out.notes
        );
    }
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn bypass_keeps_the_latency_and_incoming_midi_and_plays_none_of_ours() {
    setup();
    let entry = load_entry();
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    let mut p = Instance::new(&entry);
    assert!(p.param_is_bypass("Bypass"), "hosts see the bypass switch");
    assert!(!p.param_is_bypass("Sensitivity"));
    p.set_offline(true);
    let latency = p
        .run(&stereo(&[0.0; 4800]), &Run::new(rate, &[480]))
        .latency as u64;
    let span = bypass_span(rate, &hits, latency, 480);
    let run = bypass_run(rate, span);
    let out = p.run(&input, &run);
    assert_eq!(out.latency as u64, latency, "same latency");
    check_bypass_run(rate, &hits, &input, &out, span);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn silent_input_lets_the_host_sleep_and_nothing_is_lost_when_it_wakes() {
    setup();
    let entry = load_entry();
    let rate = 48_000.0;
    let (second, quiet_from, quiet_to, x) = drums_silence_drums(rate, 6.0);
    let input = stereo(&x);
    let mut p = Instance::new(&entry);
    p.set_offline(true);
    let mut run = Run::new(rate, &[512]);
    run.sleep = true;
    let out = p.run(&input, &run);
    let asleep = check_sleep(&out, quiet_from, quiet_to);
    let skipped = out.blocks.iter().filter(|b| !b.processed).count();
    assert!(skipped > 10, "the host slept through {skipped} blocks");
    assert!(out.blocks.iter().all(|b| b.processed || b.start >= asleep));
    // Waking costs nothing: the audio is the input delayed, and the second pattern's kicks land
    // on its hits as the first one's did.
    assert_passes_through(&input, &out);
    let (first, _) = drum_signal(rate);
    let l = out.latency as u64;
    let expected: Vec<u64> = first
        .iter()
        .map(|h| h.0 as u64)
        .chain(second.iter().map(|&h| h as u64))
        .map(|h| h + l)
        .filter(|&t| t < x.len() as u64)
        .collect();
    kicks_at(rate, &out, &expected);
}
