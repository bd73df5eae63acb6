//! Learning a tag on material the tests render themselves (tests/host/src/learning.rs): one
//! kit's snare from five hits against that kit's other drums, and a saw lead from five phrases
//! against other instruments; then new material scored. Also the bad inputs and determinism.

use audio_mamba_engine::learn::{self, LearnError, LearnedTag, Material, Method, Span};
use audio_mamba_host_tests::learning::*;
use audio_mamba_host_tests::signals::{Instrument, KitVoice};
use std::collections::BTreeMap;

fn by_class<T: std::fmt::Debug>(s: &[(f32, T)]) -> BTreeMap<String, (f32, f32, usize)> {
    let mut m: BTreeMap<String, (f32, f32, usize)> = BTreeMap::new();
    for (v, t) in s {
        let e = m.entry(format!("{t:?}")).or_insert((f32::MAX, f32::MIN, 0));
        *e = (e.0.min(*v), e.1.max(*v), e.2 + 1);
    }
    m
}

#[test]
fn learns_one_kits_snare_from_five_hits() {
    let mut emb = percussive_embedder();
    let (scene, spans) = snare_lesson(5);
    let tag = learn_from("snare A", &mut emb, Method::Prototype, &scene, spans).unwrap();
    assert_eq!(tag.kind, learn::Kind::Percussive);
    assert_eq!(tag.examples.positives, 5);
    let s = scored(&tag, &mut emb, &snare_exam());
    let classes = by_class(&s);
    eprintln!("threshold {:.3}: {classes:#?}", tag.threshold);
    let is = |t: &(char, KitVoice)| *t == ('A', KitVoice::Snare);
    let ap = ap(&s, is);
    assert!(ap >= 0.9, "AP {ap}");
    let hits_a = s.iter().filter(|x| is(&x.1)).count();
    assert!(hits_a >= 9, "only {hits_a} of kit A's 10 snares found");
    let fired = s
        .iter()
        .filter(|x| is(&x.1) && x.0 >= tag.threshold)
        .count();
    assert!(
        fired * 10 >= hits_a * 9,
        "fires on {fired} of {hits_a} new snares"
    );
    // kick, toms, hats of both kits and kit B's snare: all below the threshold
    for (v, t) in s.iter().filter(|x| !is(&x.1)) {
        assert!(*v < tag.threshold, "{t:?} scores {v} >= {}", tag.threshold);
    }
    assert!(
        s.iter().filter(|x| x.1 == ('B', KitVoice::Snare)).count() >= 9,
        "kit B's snares must be in the exam"
    );
}

#[test]
fn learns_a_sustained_instrument_from_five_phrases() {
    let mut emb = sustained_embedder();
    let (scene, spans) = lead_lesson(5);
    let tag = learn_from("lead", &mut emb, Method::Logistic, &scene, spans).unwrap();
    assert_eq!(tag.kind, learn::Kind::Sustained);
    let s = scored(&tag, &mut emb, &lead_exam());
    eprintln!("threshold {:.3}: {:#?}", tag.threshold, by_class(&s));
    let is = |t: &Option<Instrument>| *t == Some(Instrument::SawLead);
    let ap = ap(&s, is);
    assert!(ap >= 0.9, "AP {ap}");
}

/// Kit A's snare learned from three marked hits.
fn snare_tag() -> LearnedTag {
    let (scene, spans) = snare_lesson(3);
    learn_from(
        "snare",
        &mut percussive_embedder(),
        Method::Prototype,
        &scene,
        spans,
    )
    .unwrap()
}

#[test]
fn the_same_examples_give_the_same_tag_file_byte_for_byte() {
    let (a, b) = (snare_tag(), snare_tag());
    assert_eq!(a.to_json(), b.to_json());
    let back = LearnedTag::from_json(&a.to_json()).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.to_json(), a.to_json());
    // the tag names the model it was learned on, and only that model reads it
    back.check_model(&hit_model()).unwrap();
    let err = back.check_model(&tagger()).unwrap_err();
    assert!(matches!(err, LearnError::WrongModel { .. }), "{err}");
    assert!(err.to_string().contains("learn it again"), "{err}");
}

fn material(samples: &[f32], positives: Vec<Span>) -> Material<'_> {
    Material {
        name: "take.wav".into(),
        samples,
        rate: RATE,
        positives,
        negatives: Vec::new(),
        rest_is_negative: true,
    }
}

fn span(a: f64, b: f64) -> Span {
    Span {
        start_s: a,
        end_s: b,
    }
}

#[test]
fn bad_examples_get_clear_errors() {
    let (scene, spans) = snare_lesson(3);
    let mut perc = percussive_embedder();
    let mut learn = |m: Material| learn::learn("x", &mut perc, Method::Prototype, &[m]);
    let e = learn(material(&scene.audio, Vec::new())).unwrap_err();
    assert!(matches!(e, LearnError::NoPositives), "{e}");
    let e = learn(material(&scene.audio, spans[..1].to_vec())).unwrap_err();
    assert!(matches!(e, LearnError::OneExample), "{e}");
    // a span in the silence before the first hit holds no hit
    let e = learn(material(&scene.audio, vec![spans[0], span(0.0, 0.1)])).unwrap_err();
    assert!(matches!(e, LearnError::NoHit { .. }), "{e}");
    assert!(e.to_string().contains("take.wav (0.00-0.10 s)"), "{e}");
    let mut nan = scene.audio.clone();
    nan[1000] = f32::NAN;
    let e = learn(material(&nan, spans.clone())).unwrap_err();
    assert!(matches!(e, LearnError::NonFinite { .. }), "{e}");
    // every piece marked positive: nothing to tell the sound from
    let all = vec![span(0.0, 100.0), span(0.0, 100.0)];
    let e = learn(Material {
        rest_is_negative: false,
        ..material(&scene.audio, all)
    })
    .unwrap_err();
    assert!(matches!(e, LearnError::NoNegatives), "{e}");

    let (lead, lead_spans) = lead_lesson(3);
    let mut sust = sustained_embedder();
    let mut learn = |m: Material| learn::learn("x", &mut sust, Method::Logistic, &[m]);
    let short = vec![
        lead_spans[0],
        span(lead_spans[1].start_s, lead_spans[1].start_s + 0.1),
    ];
    let e = learn(material(&lead.audio, short)).unwrap_err();
    assert!(matches!(e, LearnError::TooShort { .. }), "{e}");
    let silent = vec![0.0f32; RATE as usize * 4];
    let e = learn(material(&silent, vec![span(0.0, 1.0), span(2.0, 3.0)])).unwrap_err();
    assert!(matches!(e, LearnError::Silent { .. }), "{e}");
}

#[test]
fn corrupt_and_future_tag_files_are_refused() {
    let tag = snare_tag();
    let good: serde_json::Value = serde_json::from_str(&tag.to_json()).unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        LearnedTag::from_json(&v.to_string())
    };
    let e = LearnedTag::from_json("{ not json").unwrap_err();
    assert!(matches!(e, LearnError::Corrupt(_)), "{e}");
    let e = with(&|v| v["format"] = "something else".into()).unwrap_err();
    assert!(e.to_string().contains("not a learned tag"), "{e}");
    let e = with(&|v| v["format_version"] = 99.into()).unwrap_err();
    assert!(
        matches!(e, LearnError::FutureFormat { found: 99, .. }),
        "{e}"
    );
    let e = with(&|v| {
        v["classifier"]["weights"].as_array_mut().unwrap().pop();
    })
    .unwrap_err();
    assert!(e.to_string().contains("different lengths"), "{e}");
    let e = with(&|v| v["threshold"] = 3.0.into()).unwrap_err();
    assert!(e.to_string().contains("threshold"), "{e}");
    let e = with(&|v| v["classifier"]["scale"][0] = (-1.0).into()).unwrap_err();
    assert!(e.to_string().contains("scale"), "{e}");
    with(&|_| {}).unwrap();
}
