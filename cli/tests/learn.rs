//! `amtag learn` and `amtag tag --learned` end to end, on the rendered scenes of the learning
//! tests (tests/host/src/learning.rs): a kit's snare learned from five marked hits fires on that
//! snare's new hits only; the same examples give the same file; every bad input gets its message
//! and the model's own tags keep working.

use audio_mamba_host_tests::learning::{lead_lesson, snare_exam, snare_lesson, RATE};
use audio_mamba_host_tests::signals::KitVoice;
use std::path::{Path, PathBuf};

mod common;
use common::{amtag, write_mono_wav};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir(&format!("learn-{name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Learns kit A's snare from the lesson's five marked hits into `d/snare.json`.
fn learn_snare(d: &Path) -> (PathBuf, String) {
    let (lesson, spans) = snare_lesson(5);
    let wav = d.join("lesson.wav");
    write_mono_wav(&wav, RATE, &lesson.audio);
    let out = d.join("snare.json");
    let mut args = vec!["learn".to_string(), "snare A".into()];
    for sp in &spans {
        args.push("--positive".into());
        args.push(format!(
            "{}@{:.3}-{:.3}",
            wav.display(),
            sp.start_s,
            sp.end_s
        ));
    }
    args.extend(["--out".into(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, err) = amtag(&args);
    assert!(ok, "{err}");
    assert!(err.contains("learned `snare A`"), "{err}");
    (out, err)
}

#[test]
fn a_snare_learned_from_five_hits_fires_on_its_new_hits_only() {
    let d = tmpdir("snare");
    let (tag, report) = learn_snare(&d);
    let text = std::fs::read_to_string(&tag).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["kind"], "percussive", "{report}");
    assert_eq!(v["examples"]["positives"], 5);
    // the same examples, the same bytes
    let again = tmpdir("snare-again");
    let (tag2, _) = learn_snare(&again);
    assert_eq!(std::fs::read(&tag2).unwrap(), text.as_bytes());

    let exam = snare_exam();
    let wav = d.join("exam.wav");
    write_mono_wav(&wav, RATE, &exam.audio);
    let csv = d.join("frames.csv");
    let (ok, out, err) = amtag(&[
        "tag",
        s(&wav),
        "--learned",
        s(&tag),
        "--json",
        "--framewise",
        s(&csv),
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(!doc["tags"].as_array().unwrap().is_empty(), "{out}");
    let learned = &doc["learned"][0];
    assert_eq!(learned["name"], "snare A");
    assert_eq!(learned["fires"], true, "{learned}");
    let snares_a: Vec<f64> = exam
        .truth
        .iter()
        .filter(|t| t.2 == ('A', KitVoice::Snare))
        .map(|t| t.0)
        .collect();
    let hits = learned["hits"].as_array().unwrap();
    for h in hits {
        let t = h["time_s"].as_f64().unwrap();
        assert!(
            snares_a.iter().any(|s| (s - t).abs() <= 0.02),
            "fired at {t:.3} s, on no snare of kit A: {learned}"
        );
    }
    assert!(hits.len() >= 9, "{} of 10 snares: {learned}", hits.len());
    let header = std::fs::read_to_string(&csv).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.ends_with(",\"learned:snare A\""), "{header}");
    // the text report names it too
    let (ok, out, err) = amtag(&["tag", s(&wav), "--learned", s(&tag)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("snare A (learned, percussive: fires on"),
        "{out}"
    );
}

#[test]
fn a_sustained_tag_is_learned_from_phrases() {
    let d = tmpdir("lead");
    let (lesson, spans) = lead_lesson(3);
    let wav = d.join("lesson.wav");
    write_mono_wav(&wav, RATE, &lesson.audio);
    let out = d.join("lead.json");
    let pos: Vec<String> = spans
        .iter()
        .map(|sp| format!("{}@{:.3}-{:.3}", wav.display(), sp.start_s, sp.end_s))
        .collect();
    let mut args = vec!["learn", "lead", "--kind", "sustained", "--out", s(&out)];
    for p in &pos {
        args.extend(["--positive", p]);
    }
    let (ok, _, err) = amtag(&args);
    assert!(ok, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["kind"], "sustained");
    assert_eq!(v["classifier"]["method"], "logistic");
    let (ok, out_json, err) = amtag(&["tag", s(&wav), "--learned", s(&out), "--json"]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out_json.trim()).unwrap();
    assert!(
        doc["learned"][0]["steps_firing"].as_u64().unwrap() > 0,
        "{doc}"
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_loses_nothing_else() {
    let d = tmpdir("bad");
    let (lesson, spans) = snare_lesson(3);
    let wav = d.join("lesson.wav");
    write_mono_wav(&wav, RATE, &lesson.audio);
    let one = format!(
        "{}@{:.3}-{:.3}",
        wav.display(),
        spans[0].start_s,
        spans[0].end_s
    );
    let out = d.join("x.json");
    let (ok, _, err) = amtag(&["learn", "x", "--positive", &one, "--out", s(&out)]);
    assert!(!ok && err.contains("only one positive example"), "{err}");
    assert!(!out.exists());
    let (ok, _, err) = amtag(&["learn", "x", "--positive", "no-such.wav", "--out", s(&out)]);
    assert!(!ok && err.contains("no-such.wav"), "{err}");
    let bad_span = format!("{}@2-1", wav.display());
    let (ok, _, err) = amtag(&["learn", "x", "--positive", &bad_span, "--out", s(&out)]);
    assert!(!ok && err.contains("START < END"), "{err}");
    let late = format!("{}@500-501", wav.display());
    let (ok, _, err) = amtag(&[
        "learn",
        "x",
        "--positive",
        &late,
        "--positive",
        &one,
        "--out",
        s(&out),
    ]);
    assert!(!ok && err.contains("after the file's end"), "{err}");

    // unusable tag files are left out with their reason; the model's tags still come out
    let (tag, _) = learn_snare(&d);
    let corrupt = d.join("corrupt.json");
    std::fs::write(&corrupt, "{ nope").unwrap();
    let future = d.join("future.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tag).unwrap()).unwrap();
    v["format_version"] = 7.into();
    std::fs::write(&future, v.to_string()).unwrap();
    let other_model = d.join("other-model.json");
    v["format_version"] = 1.into();
    v["model"]["sha256"] = "0".repeat(64).into();
    std::fs::write(&other_model, v.to_string()).unwrap();
    let (ok, out, err) = amtag(&[
        "tag",
        s(&wav),
        "--learned",
        s(&corrupt),
        "--learned",
        s(&future),
        "--learned",
        s(&other_model),
        "--learned",
        s(&tag),
    ]);
    assert!(!ok, "unusable tags must fail the run: {err}");
    assert!(err.contains("corrupt.json: learned tag file"), "{err}");
    assert!(
        err.contains("future.json: learned tag format version 7 is newer"),
        "{err}"
    );
    assert!(
        err.contains("other-model.json: tag `snare A` was learned on"),
        "{err}"
    );
    assert!(err.contains("3 of 4 learned tags left out"), "{err}");
    assert!(
        out.contains("snare A (learned"),
        "the good tag still scores: {out}"
    );
    assert!(
        out.lines().count() >= 3,
        "the model's own tags still print: {out}"
    );
}
