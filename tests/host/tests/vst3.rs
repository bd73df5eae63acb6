//! The built `audio-mamba.vst3` in a VST3 host of our own (`vst3_host`): the MIDI side that
//! pedalboard cannot show. Notes and CCs come out as a VST3 DAW receives them, incoming notes
//! and CCs (routed through `IMidiMapping`, as DAWs send them) are passed on, and the state
//! round-trips through `IBStream`. Ignored by a plain `cargo test`; `scripts/test-plugin.sh`
//! builds the bundle and runs them with `--ignored`.

use audio_mamba_host_tests::checks::{
    bypass_run, bypass_span, check_bypass_run, check_drum_run, check_sleep, drum_signal,
    drums_silence_drums, midi_in_probe, setup, stereo, ODD_BLOCKS,
};
use audio_mamba_host_tests::clap_host::Run;
use audio_mamba_host_tests::vst3_host::{Mode, Module, Vst3Instance};
use vst3::Steinberg::Vst::ParameterInfo_::ParameterFlags_;

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_drum_pattern_gives_kick_notes_and_ccs_and_passes_midi_on() {
    setup();
    let module = Module::load();
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    let p = Vst3Instance::new(&module);
    let mut run = Run::new(rate, ODD_BLOCKS);
    run.midi_in = midi_in_probe();
    // Offline after one setupProcessing(kOffline), as a DAW starts a bounce: every note must be
    // there (nice-plug 0.4.2 unpatched activated in realtime mode here; see vendor/README.md).
    check_drum_run(rate, &hits, &input, &p.run(&input, &run, true));
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_cc_parameters_are_hidden_and_state_round_trips() {
    setup();
    let module = Module::load();
    let p = Vst3Instance::new(&module);
    let params = p.params();
    // Our parameters, then 16 x 130 MIDI ones (CCs, pressure, bend) a DAW never shows.
    let midi: Vec<_> = params
        .iter()
        .filter(|q| q.1.starts_with("MIDI Ch."))
        .collect();
    assert_eq!(midi.len(), 16 * 130);
    const READ_ONLY_HIDDEN: i32 = ParameterFlags_::kIsReadOnly | ParameterFlags_::kIsHidden;
    assert!(midi
        .iter()
        .all(|q| q.2 & READ_ONLY_HIDDEN == READ_ONLY_HIDDEN));
    assert_eq!(
        p.midi_cc_param(15, 119),
        Some(midi.iter().find(|q| q.1 == "MIDI Ch. 16 CC 119").unwrap().0)
    );
    assert_eq!(p.midi_cc_param(16, 0), None, "only 16 channels");

    let before = p.param_normalized("Sensitivity");
    p.set_params(&[("Sensitivity", "0.8"), ("MIDI channel", "10")]);
    let saved = p.save_state();
    assert!(!saved.is_empty());
    let (sens, chan) = (
        p.param_normalized("Sensitivity"),
        p.param_normalized("MIDI channel"),
    );
    assert!(
        (sens - before).abs() > 0.1,
        "setting took: {before} -> {sens}"
    );
    p.set_params(&[("Sensitivity", "0.1"), ("MIDI channel", "1")]);
    let other = Vst3Instance::new(&module);
    assert!(other.load_state(&saved));
    assert_eq!(other.param_normalized("Sensitivity"), sens);
    assert_eq!(other.param_normalized("MIDI channel"), chan);
    assert!(
        !other.load_state(b"not a state"),
        "garbage state is refused"
    );
    assert_eq!(
        other.param_normalized("Sensitivity"),
        sens,
        "and changes nothing"
    );
    // The restored channel is the one the notes go out on.
    let rate = 44_100.0;
    let (_, x) = drum_signal(rate);
    let out = other.run(&stereo(&x), &Run::new(rate, &[441]), true);
    let ons: Vec<_> = out.notes.iter().filter(|n| n.on).collect();
    assert!(
        !ons.is_empty() && ons.iter().all(|n| n.channel == 9),
        "{ons:?}"
    );
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_bypass_is_flagged_and_keeps_latency_and_incoming_midi() {
    setup();
    let module = Module::load();
    let p = Vst3Instance::new(&module);
    let flags = |name: &str| p.params().into_iter().find(|q| q.1 == name).unwrap().2;
    assert!(flags("Bypass") & ParameterFlags_::kIsBypass != 0);
    assert!(flags("Sensitivity") & ParameterFlags_::kIsBypass == 0);
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    let latency = p
        .run(&stereo(&[0.0; 4800]), &Run::new(rate, &[480]), true)
        .latency as u64;
    let span = bypass_span(rate, &hits, latency, 480);
    let run = bypass_run(rate, span);
    check_bypass_run(rate, &hits, &input, &p.run(&input, &run, true), span);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_output_is_flagged_silent_once_everything_has_played() {
    setup();
    let module = Module::load();
    let p = Vst3Instance::new(&module);
    let rate = 44_100.0;
    let (_, quiet_from, quiet_to, x) = drums_silence_drums(rate, 6.0);
    let out = p.run(&stereo(&x), &Run::new(rate, &[441]), true);
    check_sleep(&out, quiet_from, quiet_to);
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_freewheeling_export_flagged_per_call_gets_every_note() {
    setup();
    let module = Module::load();
    let p = Vst3Instance::new(&module);
    let rate = 48_000.0;
    let (hits, x) = drum_signal(rate);
    let input = stereo(&x);
    // Set up for real time, each call flagged kOffline, blocks as fast as the loop goes: what
    // Ardour does when it exports. The plugin must wait for its analysis as in an offline render.
    let mut run = Run::new(rate, &[1024]);
    run.midi_in = midi_in_probe();
    check_drum_run(
        rate,
        &hits,
        &input,
        &p.run_mode(&input, &run, Mode::Freewheel),
    );
}

#[test]
#[ignore = "needs the built bundle: scripts/test-plugin.sh"]
fn vst3_bounces_starting_after_different_idle_times_give_the_same_midi() {
    setup();
    let module = Module::load();
    let rate = 48_000.0;
    let (_, x) = drum_signal(rate);
    // A DAW runs the plugin, transport stopped, for however long the user waited, then rolls
    // the transport and bounces: the notes must depend on the timeline alone.
    let bounce = |idle: usize| {
        let p = Vst3Instance::new(&module);
        let mut input = vec![0.0; idle];
        input.extend(&x);
        let mut run = Run::new(rate, &[1024]);
        run.playing_from = Some(idle as u64);
        let out = p.run_mode(&stereo(&input), &run, Mode::Freewheel);
        let notes: Vec<_> = out
            .notes
            .iter()
            .map(|n| {
                (
                    n.time - idle as u64,
                    n.on,
                    n.key,
                    (n.velocity * 127.0).round() as u8,
                )
            })
            .collect();
        assert!(notes.len() > 10, "{notes:?}");
        notes
    };
    // 7168 and 11264 idle samples: other phases of the 48 -> 32 kHz resampler and the hop grid.
    assert_eq!(bounce(1024 * 7), bounce(1024 * 11));
}
