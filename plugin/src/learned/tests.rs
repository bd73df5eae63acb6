use super::*;
use audio_mamba_engine::learn::{Classifier, ExampleCounts, HeldOut, Method, ModelRef};
use audio_mamba_host_tests::model::{controlled_model, DRUM_TEST_LABELS};

fn model_ref(sha256: &str) -> ModelRef {
    ModelRef {
        name: "some model".into(),
        version: "1".into(),
        sha256: sha256.into(),
    }
}

fn tag(name: &str, kind: Kind, model: ModelRef) -> LearnedTag {
    LearnedTag {
        format: learn::FORMAT.into(),
        format_version: learn::FORMAT_VERSION,
        name: name.into(),
        kind,
        model,
        classifier: Classifier {
            method: Method::Prototype,
            mean: vec![0.0; 4],
            scale: vec![1.0; 4],
            weights: vec![1.0, 0.0, 0.0, 0.0],
            offset: 0.0,
            slope: 1.0,
            bias: 0.0,
        },
        threshold: 0.4,
        examples: ExampleCounts {
            positives: 3,
            negatives: 7,
        },
        held_out: HeldOut {
            average_precision: 1.0,
            positives_found: 3,
            negatives_firing: 0,
        },
    }
}

#[test]
fn learned_tags_round_trip_through_the_state() {
    let bank = LearnedBank::default();
    let t = tag("snare", Kind::Percussive, model_ref("ab"));
    bank.install(2, t.clone(), "from a file".into());
    bank.set_name(5, "ah");
    bank.set_kind(5, KindChoice::Sustained);
    let saved = bank.to_value();
    assert_eq!(saved["format"], STATE_FORMAT);
    let other = LearnedBank::default();
    let before = other.generation();
    other.set(saved.clone());
    assert!(other.generation() > before, "the worker is told");
    let slots = other.slots();
    assert_eq!(slots[2].tag.as_ref(), Some(&t));
    assert_eq!(
        (slots[5].name.as_str(), slots[5].kind),
        ("ah", KindChoice::Sustained)
    );
    assert!(slots[0].tag.is_none() && other.notice().is_none());
    other.map(|v| assert_eq!(v, &saved, "saving again gives the same state"));
}

#[test]
fn a_newer_state_is_kept_unchanged_and_said() {
    let newer = json!({"format": STATE_FORMAT, "format_version": 99, "slots": [{"slot": 1, "whatever": [1, 2]}]});
    let bank = LearnedBank::default();
    bank.set(newer.clone());
    let notice = bank.notice().expect("a notice");
    assert!(
        notice.contains("newer") && notice.contains("99"),
        "{notice}"
    );
    assert!(bank.usable().iter().all(Option::is_none));
    assert_eq!(bank.to_value(), newer, "saved back as it came");
    // Learning a tag here replaces them (the notice said so).
    bank.install(
        0,
        tag("kick", Kind::Percussive, model_ref("ab")),
        String::new(),
    );
    assert_eq!(bank.to_value()["format_version"], STATE_VERSION);
    assert!(bank.notice().is_none());

    let garbage = json!("not even an object");
    bank.set(garbage.clone());
    assert!(bank.notice().is_some());
    assert_eq!(bank.to_value(), garbage);
}

#[test]
fn an_unreadable_tag_loses_nothing_and_the_others_load() {
    let good = tag("snare", Kind::Percussive, model_ref("ab"));
    let mut future = serde_json::to_value(&good).unwrap();
    future["format_version"] = json!(7);
    let mut corrupt = serde_json::to_value(&good).unwrap();
    corrupt["classifier"]["scale"] = json!([1.0]);
    let state = json!({"format": STATE_FORMAT, "format_version": 1, "slots": [
        {"slot": 1, "name": "snare", "kind": "auto", "tag": good},
        {"slot": 2, "name": "later", "kind": "auto", "tag": future},
        {"slot": 3, "name": "broken", "kind": "auto", "tag": corrupt},
        {"slot": 42, "name": "nowhere", "tag": null},
    ]});
    let bank = LearnedBank::default();
    bank.set(state.clone());
    let s = bank.slots();
    assert_eq!(s[0].tag.as_ref(), Some(&good));
    let p1 = s[1].problem.clone().unwrap();
    assert!(p1.contains("newer") && s[1].tag.is_none(), "{p1}");
    let p2 = s[2].problem.clone().unwrap();
    assert!(p2.contains("different lengths"), "{p2}");
    let usable = bank.usable();
    assert!(usable[0].is_some() && usable[1].is_none() && usable[2].is_none());
    let saved = bank.to_value();
    assert_eq!(saved["slots"][1]["tag"], state["slots"][1]["tag"]);
    assert_eq!(saved["slots"][2]["tag"], state["slots"][2]["tag"]);
}

#[test]
fn tags_from_other_models_are_kept_but_not_used() {
    let model = Arc::new(Model::from_bytes(&controlled_model(DRUM_TEST_LABELS)).unwrap());
    let bank = LearnedBank::default();
    bank.install(
        0,
        tag("lead", Kind::Sustained, model_ref("0123456789abcdef")),
        String::new(),
    );
    bank.install(
        1,
        tag("clank", Kind::Percussive, model_ref("0123456789abcdef")),
        String::new(),
    );
    bank.check_models(&model, None);
    let s = bank.slots();
    let wrong = s[0].problem.clone().unwrap();
    assert!(wrong.contains("learn it again on this model"), "{wrong}");
    assert!(s[1]
        .problem
        .clone()
        .unwrap()
        .contains("needs the hit model"));
    assert!(bank.usable().iter().all(Option::is_none));
    assert!(s[0].tag.is_some(), "kept");
    // A tag that was learned on this very file is used.
    bank.install(0, tag_on(&model, "lead"), String::new());
    bank.check_models(&model, None);
    assert!(bank.usable()[0].is_some());
}

#[test]
fn confidence_is_one_half_at_the_learned_threshold() {
    assert_eq!(confidence(0.3, 0.3), 0.5);
    assert_eq!(confidence(0.0, 0.3), 0.0);
    assert_eq!(confidence(1.0, 0.3), 1.0);
    assert!((confidence(0.15, 0.3) - 0.25).abs() < 1e-6);
    assert!((confidence(0.65, 0.3) - 0.75).abs() < 1e-6);
    assert_eq!(confidence(f32::NAN, 0.3), 0.0);
    let mut last = -1.0;
    for k in 0..=100 {
        let c = confidence(k as f32 / 100.0, 0.9);
        assert!(c >= last);
        last = c;
    }
}

/// A tag learned on `model` (its fingerprint, its embedding length).
fn tag_on(model: &Model, name: &str) -> LearnedTag {
    let mut t = tag(name, Kind::Sustained, ModelRef::of(model));
    let dim = model.graph().out.dim;
    let c = &mut t.classifier;
    (c.mean, c.scale, c.weights) = (vec![0.0; dim], vec![1.0; dim], vec![0.0; dim]);
    t
}

#[test]
fn tag_files_load_into_a_slot_only_when_the_models_can_score_them() {
    let model = Arc::new(Model::from_bytes(&controlled_model(DRUM_TEST_LABELS)).unwrap());
    let bank = LearnedBank::default();
    bank.check_models(&model, None);
    let dir = std::env::temp_dir().join(format!("am-learned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("lead.json");
    std::fs::write(&good, tag_on(&model, "lead").to_json()).unwrap();
    let news = bank.load_file(3, &good).unwrap();
    assert!(news.contains("lead.json"), "{news}");
    assert_eq!(
        bank.usable()[3].as_ref().map(|t| t.name.as_str()),
        Some("lead")
    );

    // Saved back, it is the same file (what `amtag tag --learned` reads).
    let copy = dir.join("copy.json");
    bank.save_file(3, &copy).unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&good).unwrap());
    assert!(bank.save_file(0, &copy).unwrap_err().contains("no tag"));

    // Refused, and the slot keeps its tag: another model's tag, a percussive tag without a hit
    // model, a corrupt file, a missing one.
    let other = dir.join("other.json");
    std::fs::write(&other, tag("x", Kind::Sustained, model_ref("ff")).to_json()).unwrap();
    let drum = dir.join("drum.json");
    std::fs::write(
        &drum,
        tag("x", Kind::Percussive, ModelRef::of(&model)).to_json(),
    )
    .unwrap();
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, "{\"format\": \"audio-mamba-learned-tag\"").unwrap();
    for (f, why) in [
        (&other, "learn it again"),
        (&drum, "needs the hit model"),
        (&corrupt, "learned tag file"),
        (&dir.join("missing.json"), "cannot read"),
    ] {
        let e = bank.load_file(3, f).unwrap_err();
        assert!(e.contains(why) && e.contains(f.to_str().unwrap()), "{e}");
        assert_eq!(
            bank.usable()[3].as_ref().map(|t| t.name.as_str()),
            Some("lead")
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
