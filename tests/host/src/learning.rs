//! Learning scenes rendered by the tests themselves: one kit's snare among its other drums and
//! another kit (percussive), a saw lead among other instruments (sustained). The learning tests
//! and `learn-curve` (AP against the number of examples) share them.

use crate::signals::{kit_groove, melody, speech_like, Instrument, Kit, KitVoice};
use audio_mamba_engine::learn::{self, Embedder, LearnError, LearnedTag, Material, Method, Span};
use audio_mamba_engine::{embedded, BackendChoice, Model};
use std::sync::Arc;

pub const RATE: u32 = 48_000;

pub fn tagger() -> Arc<Model> {
    Arc::new(Model::from_bytes(embedded::tagger().expect("embedded tagger")).unwrap())
}

pub fn hit_model() -> Arc<Model> {
    Arc::new(Model::from_bytes(embedded::hits().expect("embedded hit model")).unwrap())
}

pub fn percussive_embedder() -> Embedder {
    Embedder::percussive(hit_model(), 1, BackendChoice::Cpu).unwrap()
}

pub fn sustained_embedder() -> Embedder {
    Embedder::sustained(tagger(), 1, BackendChoice::Cpu).unwrap()
}

/// Rendered audio with what is in it: per hit (sample, kit, voice) or per segment (span, what).
pub struct Scene<T> {
    pub audio: Vec<f32>,
    pub truth: Vec<(f64, f64, T)>,
}

fn concat<T: Copy>(parts: Vec<Scene<T>>) -> Scene<T> {
    let mut out = Scene {
        audio: Vec::new(),
        truth: Vec::new(),
    };
    for p in parts {
        let off = out.audio.len() as f64 / RATE as f64;
        out.truth
            .extend(p.truth.iter().map(|&(a, b, t)| (a + off, b + off, t)));
        out.audio.extend(p.audio);
    }
    out
}

/// A groove of `count` hits of `kit`, 0.3 s apart; with `snares`, only that many snares stay
/// (a lesson holds no unmarked positive).
pub fn groove(
    kit: Kit,
    kit_name: char,
    count: usize,
    seed: u32,
    snares: Option<usize>,
) -> Scene<(char, KitVoice)> {
    let r = RATE as f32;
    let mut hits = kit_groove(r, 0.2, 0.3, count, seed);
    if let Some(n) = snares {
        let mut seen = 0;
        hits.retain(|h| {
            seen += (h.1 == KitVoice::Snare) as usize;
            h.1 != KitVoice::Snare || seen <= n
        });
    }
    let len = (r * (0.6 + 0.3 * count as f32)) as usize;
    Scene {
        audio: kit.render(r, &hits, len, seed),
        truth: hits
            .iter()
            .map(|&(at, v, _)| {
                let t = at as f64 / RATE as f64;
                (t, t, (kit_name, v))
            })
            .collect(),
    }
}

/// Kit A's groove with `n` snares, all marked (from 10 ms before to 150 ms after each),
/// everything else the negatives.
pub fn snare_lesson(n: usize) -> (Scene<(char, KitVoice)>, Vec<Span>) {
    let scene = groove(Kit::A, 'A', 9 * n.max(2), 11, Some(n));
    let spans = scene
        .truth
        .iter()
        .filter(|t| t.2 == ('A', KitVoice::Snare))
        .take(n)
        .map(|t| Span {
            start_s: t.0 - 0.01,
            end_s: t.0 + 0.15,
        })
        .collect();
    (scene, spans)
}

/// The host's parameter changes that teach learned slot 1 (the editor's Learn panel sets the
/// same parameters): armed from sample 0, "this is it" held over each of `marks`, disarmed at
/// `lesson_len` samples (at [`RATE`]).
pub fn teaching_changes(marks: &[Span], lesson_len: usize) -> Vec<(u64, String, String)> {
    let at = |t: f64| (t * RATE as f64).round() as u64;
    let mut c = vec![(0, "Learn into".to_string(), "1".to_string())];
    for m in marks {
        c.push((at(m.start_s), "Learn: this is it".into(), "On".into()));
        c.push((at(m.end_s), "Learn: this is it".into(), "Off".into()));
    }
    c.push((lesson_len as u64, "Learn into".into(), "Off".into()));
    c
}

/// New hits of kit A and kit B.
pub fn snare_exam() -> Scene<(char, KitVoice)> {
    concat(vec![
        groove(Kit::A, 'A', 45, 23, None),
        groove(Kit::B, 'B', 45, 31, None),
    ])
}

fn part(i: Instrument, hz: f32, notes: usize, seed: u32) -> Scene<Option<Instrument>> {
    let audio = melody(RATE as f32, i, hz, notes, 0.5, seed);
    let end = audio.len() as f64 / RATE as f64;
    Scene {
        audio,
        truth: vec![(0.0, end, Some(i))],
    }
}

/// `n` one-second saw-lead phrases (the positives) and three seconds of each other instrument.
pub fn lead_lesson(n: usize) -> (Scene<Option<Instrument>>, Vec<Span>) {
    let mut parts: Vec<_> = (0..n)
        .map(|k| {
            part(
                Instrument::SawLead,
                220.0 * 1.12f32.powi(k as i32 % 6),
                2,
                k as u32,
            )
        })
        .collect();
    parts.extend([
        part(Instrument::Organ, 196.0, 6, 1),
        part(Instrument::Pluck, 247.0, 6, 2),
        part(Instrument::Wind, 300.0, 6, 3),
    ]);
    let scene = concat(parts);
    let spans = scene
        .truth
        .iter()
        .filter(|t| t.2 == Some(Instrument::SawLead))
        .map(|t| Span {
            start_s: t.0,
            end_s: t.1,
        })
        .collect();
    (scene, spans)
}

/// New phrases in other registers: the lead, the others, and speech-like audio.
pub fn lead_exam() -> Scene<Option<Instrument>> {
    let speech = speech_like(RATE as f32, 4.0);
    let end = speech.len() as f64 / RATE as f64;
    concat(vec![
        part(Instrument::SawLead, 330.0, 8, 9),
        part(Instrument::Organ, 262.0, 8, 8),
        part(Instrument::Pluck, 175.0, 8, 7),
        part(Instrument::Wind, 440.0, 8, 6),
        Scene {
            audio: speech,
            truth: vec![(0.0, end, None)],
        },
    ])
}

pub fn learn_from<T>(
    name: &str,
    embedder: &mut Embedder,
    method: Method,
    scene: &Scene<T>,
    positives: Vec<Span>,
) -> Result<LearnedTag, LearnError> {
    let m = Material {
        name: "lesson".into(),
        samples: &scene.audio,
        rate: RATE,
        positives,
        negatives: Vec::new(),
        rest_is_negative: true,
    };
    learn::learn(name, embedder, method, &[m])
}

/// Each embedded piece of `scene` scored by `tag`, with what the scene says it is: a hit is the
/// true hit within 20 ms of its onset, a step the segment holding all of it (pieces matching
/// none, such as steps across two segments, are left out).
pub fn scored<T: Copy>(
    tag: &LearnedTag,
    embedder: &mut Embedder,
    scene: &Scene<T>,
) -> Vec<(f32, T)> {
    embedder
        .embed(&scene.audio, RATE)
        .unwrap()
        .iter()
        .filter_map(|e| {
            let what = if e.end_s > e.start_s {
                scene
                    .truth
                    .iter()
                    .find(|t| t.0 <= e.start_s + 1e-6 && e.end_s <= t.1 + 1e-6)
            } else {
                scene.truth.iter().find(|t| (t.0 - e.start_s).abs() <= 0.02)
            };
            what.map(|w| (tag.score(&e.vector), w.2))
        })
        .collect()
}

/// Average precision of `scores`, positives where `is_pos`.
pub fn ap<T>(scores: &[(f32, T)], is_pos: impl Fn(&T) -> bool) -> f32 {
    let mut s: Vec<f32> = scores
        .iter()
        .filter(|x| is_pos(&x.1))
        .map(|x| x.0)
        .collect();
    let n_pos = s.len();
    s.extend(scores.iter().filter(|x| !is_pos(&x.1)).map(|x| x.0));
    learn::average_precision(&s, n_pos)
}

/// The exam's kit-A snares (seconds from its start).
pub fn kit_a_snares(exam: &Scene<(char, KitVoice)>) -> Vec<f64> {
    exam.truth
        .iter()
        .filter(|t| t.2 == ('A', KitVoice::Snare))
        .map(|t| t.0)
        .collect()
}

/// The aim of a taught snare: every learned note (seconds) within 5 ms of one of `snares`, and
/// all but one of them played.
pub fn check_on_the_snares(what: &str, notes: &[f64], snares: &[f64]) {
    for &n in notes {
        let d = snares
            .iter()
            .map(|t| (n - t).abs())
            .fold(f64::MAX, f64::min);
        assert!(
            d <= 0.005,
            "{what}: a learned note at {n:.3} s is {:.1} ms from kit A's nearest snare",
            d * 1e3
        );
    }
    assert!(
        notes.len() + 1 >= snares.len(),
        "{what}: {} learned notes for {} snares: {notes:?}",
        notes.len(),
        snares.len()
    );
}
