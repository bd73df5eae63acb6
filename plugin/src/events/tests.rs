use super::*;

const RATE: f32 = 1000.0; // one sample per millisecond keeps positions readable

fn rules() -> Vec<Rule> {
    let mut r = vec![Rule::default(); ROWS];
    // slot 0: kick (percussive), slot 1: speech (sustained note + CC), slot 2: CC only
    r[0] = Rule {
        enabled: true,
        threshold: 0.5,
        note: Some(36),
        cc: None,
        percussive: true,
        hits_vetoed: false,
    };
    r[1] = Rule {
        enabled: true,
        threshold: 0.5,
        note: Some(60),
        cc: Some(20),
        percussive: false,
        hits_vetoed: false,
    };
    r[2] = Rule {
        enabled: true,
        threshold: 0.5,
        note: None,
        cc: Some(21),
        percussive: false,
        hits_vetoed: false,
    };
    r
}

/// Runs frames of 100 samples with the given per-frame probabilities of slots 0..3.
fn run(frames: &[[f32; 3]], onsets: &[u64], rules: &[Rule]) -> Vec<Event> {
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    for (i, p) in frames.iter().enumerate() {
        let (start, end) = (i as u64 * 100, (i as u64 + 1) * 100);
        let inside: Vec<Hit> = onsets
            .iter()
            .copied()
            .filter(|&o| o >= start && o < end)
            .map(Hit::unclassified)
            .collect();
        gen.frame(start..end, p, rules, 0, &inside, &mut out);
    }
    out
}

fn notes(events: &[Event]) -> Vec<(u64, &'static str, u8)> {
    events
        .iter()
        .filter_map(|e| match e.msg {
            Msg::NoteOn { key, .. } => Some((e.pos, "on", key)),
            Msg::NoteOff { key } => Some((e.pos, "off", key)),
            Msg::Cc { .. } => None,
        })
        .collect()
}

#[test]
fn sustained_note_follows_threshold_with_hysteresis() {
    // 0.45 is inside the hysteresis band (0.4..0.5): the note stays on until 0.3.
    let p = [
        [0.0, 0.2, 0.0],
        [0.0, 0.7, 0.0],
        [0.0, 0.45, 0.0],
        [0.0, 0.3, 0.0],
        [0.0, 0.3, 0.0],
    ];
    let ev = run(&p, &[], &rules());
    assert_eq!(notes(&ev), vec![(100, "on", 60), (300, "off", 60)]);
}

#[test]
fn sustained_note_is_held_for_the_minimum_time() {
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    let r = rules();
    // 10-sample frames: the note may end 50 samples after it started, not before.
    let probs = [0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for (i, p) in probs.iter().enumerate() {
        let s = i as u64 * 10;
        gen.frame(s..s + 10, &[0.0, *p, 0.0], &r, 0, &[], &mut out);
    }
    assert_eq!(notes(&out), vec![(10, "on", 60), (60, "off", 60)]);
}

#[test]
fn drum_notes_land_on_onsets_while_the_tag_is_present() {
    // Onsets at 120 and 170 (tag present) and 420 (tag absent): two notes, at the onsets.
    let p = [
        [0.1, 0.0, 0.0],
        [0.9, 0.0, 0.0],
        [0.8, 0.0, 0.0],
        [0.1, 0.0, 0.0],
        [0.1, 0.0, 0.0],
    ];
    let ev = run(&p, &[120, 170, 420], &rules());
    assert_eq!(
        notes(&ev),
        vec![
            (120, "on", 36),
            (170, "off", 36),
            (170, "on", 36),
            (220, "off", 36)
        ]
    );
}

#[test]
fn velocity_follows_confidence() {
    let p = [[0.55, 0.0, 0.0], [1.0, 0.0, 0.0]];
    let ev = run(&p, &[10, 110], &rules());
    let v: Vec<f32> = ev
        .iter()
        .filter_map(|e| match e.msg {
            Msg::NoteOn { velocity, .. } => Some(velocity),
            _ => None,
        })
        .collect();
    assert_eq!(v.len(), 2);
    assert!(v[0] < 0.4 && v[1] == 1.0, "{v:?}");
}

#[test]
fn ccs_stream_on_change_only() {
    let p = [
        [0.0, 0.0, 0.5],
        [0.0, 0.0, 0.5],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, 1.0],
    ];
    let ev = run(&p, &[], &rules());
    let ccs: Vec<(u64, u8, u8)> = ev
        .iter()
        .filter_map(|e| match e.msg {
            Msg::Cc { cc, value } if cc == 21 => Some((e.pos, cc, value)),
            _ => None,
        })
        .collect();
    assert_eq!(ccs, vec![(0, 21, 64), (200, 21, 127)]);
}

#[test]
fn ccs_are_rate_limited() {
    let mut gen = EventGen::new(Timing::at_rate(RATE)); // 20-sample CC interval
    let r = rules();
    let mut out = Vec::new();
    for i in 0..10u64 {
        let p = if i % 2 == 0 { 0.2 } else { 0.8 };
        gen.frame(i * 5..i * 5 + 5, &[0.0, 0.0, p], &r, 0, &[], &mut out);
    }
    let times: Vec<u64> = out
        .iter()
        .filter(|e| matches!(e.msg, Msg::Cc { cc: 21, .. }))
        .map(|e| e.pos)
        .collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] >= 20), "{times:?}");
    assert!(times.len() >= 2);
}

#[test]
fn disabled_tags_are_silent_and_nan_is_absent() {
    let mut r = rules();
    r[0].enabled = false;
    let p = [[0.9, f32::NAN, f32::INFINITY]];
    let ev = run(&p, &[10], &r);
    assert!(notes(&ev).is_empty(), "{ev:?}");
    assert!(ev
        .iter()
        .all(|e| !matches!(e.msg, Msg::Cc { value, .. } if value > 0)));
}

#[test]
fn events_come_out_in_time_order_and_release_all_ends_notes() {
    let p = [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]];
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let r = rules();
    let mut out = Vec::new();
    let hits = [Hit::unclassified(30), Hit::unclassified(95)];
    gen.frame(0..100, &p[0], &r, 0, &hits, &mut out);
    assert!(out.windows(2).all(|w| w[0].pos <= w[1].pos), "{out:?}");
    gen.release_all(100, &mut out);
    let ons = out
        .iter()
        .filter(|e| matches!(e.msg, Msg::NoteOn { .. }))
        .count();
    let offs = out
        .iter()
        .filter(|e| matches!(e.msg, Msg::NoteOff { .. }))
        .count();
    assert_eq!(ons, offs);
}

#[test]
fn changing_the_note_parameter_releases_the_old_key() {
    let mut r = rules();
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    gen.frame(0..100, &[0.0, 0.9, 0.0], &r, 0, &[], &mut out);
    r[1].note = Some(61);
    gen.frame(100..200, &[0.0, 0.9, 0.0], &r, 0, &[], &mut out);
    assert_eq!(
        notes(&out),
        vec![(0, "on", 60), (100, "off", 60), (100, "on", 61)]
    );
}

/// A classified hit: probability `kick` for slot 0 (the kick), `other` for every other slot.
fn classified(pos: u64, kick: f32, other: f32, level_db: f32) -> Hit {
    let mut probs = [other; ROWS];
    probs[0] = kick;
    Hit {
        pos,
        probs: Some(probs),
        level_db,
    }
}

#[test]
fn classified_hits_play_only_the_drum_that_was_struck() {
    let r = rules();
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    // The kick tag is open all along (0.9), as in a full kit; only two of four hits are kicks.
    let hits = [
        classified(10, 0.95, 0.1, -6.0),
        classified(30, 0.2, 0.9, -6.0),
        classified(55, 0.7, 0.1, -30.0),
        classified(80, 0.49, 0.9, -6.0),
    ];
    gen.frame(0..100, &[0.9, 0.0, 0.0], &r, 0, &hits, &mut out);
    let kicks: Vec<(u64, f32)> = out
        .iter()
        .filter_map(|e| match e.msg {
            Msg::NoteOn { key: 36, velocity } => Some((e.pos, velocity)),
            _ => None,
        })
        .collect();
    assert_eq!(kicks.iter().map(|k| k.0).collect::<Vec<_>>(), [10, 55]);
    // Velocity follows the hit's level: the -30 dB kick is softer than the -6 dB one.
    assert!(kicks[0].1 > kicks[1].1 + 0.2, "{kicks:?}");
}

#[test]
fn a_classified_kick_plays_even_while_the_kick_tag_is_closed_and_not_when_disabled() {
    let mut r = rules();
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    // A lone kick under a loud mix: the tagger's frame gives it 0.1, the hit model 0.9.
    gen.frame(
        0..100,
        &[0.1, 0.0, 0.0],
        &r,
        0,
        &[classified(40, 0.9, 0.0, -6.0)],
        &mut out,
    );
    assert_eq!(notes(&out), [(40, "on", 36), (90, "off", 36)]);
    r[0].enabled = false;
    out.clear();
    gen.frame(
        100..200,
        &[0.9, 0.0, 0.0],
        &r,
        0,
        &[classified(140, 0.99, 0.0, -6.0)],
        &mut out,
    );
    assert!(notes(&out).is_empty(), "{out:?}");
}

/// The drum veto silences the hits of the rows it is set on only: a learned percussive row
/// (the first after the model's slots) still plays the same hit.
#[test]
fn a_vetoed_row_plays_no_hit_and_the_others_still_do() {
    let mut r = rules();
    r[0].hits_vetoed = true;
    let learned = crate::tags::SLOTS;
    r[learned] = Rule {
        enabled: true,
        threshold: 0.5,
        note: Some(70),
        cc: None,
        percussive: true,
        hits_vetoed: false,
    };
    let hit = classified(10, 0.9, 0.9, -6.0);
    let mut gen = EventGen::new(Timing::at_rate(RATE));
    let mut out = Vec::new();
    gen.frame(0..100, &[0.0; ROWS], &r, 0, &[hit], &mut out);
    let ons: Vec<_> = notes(&out).into_iter().filter(|n| n.1 == "on").collect();
    assert_eq!(ons, vec![(10, "on", 70)]);
    r[0].hits_vetoed = false;
    let mut out = Vec::new();
    gen.frame(
        100..200,
        &[0.0; ROWS],
        &r,
        0,
        &[classified(150, 0.9, 0.9, -6.0)],
        &mut out,
    );
    let ons: Vec<_> = notes(&out).into_iter().filter(|n| n.1 == "on").collect();
    assert_eq!(ons, vec![(150, "on", 36), (150, "on", 70)]);
}
