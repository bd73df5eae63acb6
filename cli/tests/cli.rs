//! `amtag` end to end: real files of several formats, rates and channel counts, bad input.

mod common;

use common::{amtag, tmpdir, write_wav};
use std::path::{Path, PathBuf};

fn model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/golden-a.safetensors")
}

fn tone(rate: u32, channels: u16, seconds: f32, hz: f32) -> Vec<Vec<f32>> {
    (0..(rate as f32 * seconds) as usize)
        .map(|i| {
            let v = 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin();
            vec![v; channels as usize]
        })
        .collect()
}

#[test]
fn info_prints_config_and_labels() {
    let (ok, out, _) = amtag(&["info", model().to_str().unwrap()]);
    assert!(ok);
    assert!(
        out.contains("parameters") && out.contains("labels (5)"),
        "{out}"
    );
    let (ok, out, _) = amtag(&["info", model().to_str().unwrap(), "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["config"]["labels"].as_array().unwrap().len(), 5);
    assert!(v["parameters"].as_u64().unwrap() > 1000);
}

#[test]
fn tags_stereo_44k_file_as_json_with_windows_and_framewise_csv() {
    let d = tmpdir("json");
    let wav = d.join("tone.wav");
    // 3.5 s: several 1.28 s windows, the last one aligned to the end of the file.
    write_wav(&wav, 44_100, 2, &tone(44_100, 2, 3.5, 440.0));
    let csv = d.join("frames.csv");
    let (ok, out, err) = amtag(&[
        "tag",
        wav.to_str().unwrap(),
        "--model",
        model().to_str().unwrap(),
        "--json",
        "--top",
        "3",
        "--framewise",
        csv.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["tags"].as_array().unwrap().len(), 3);
    let windows = v["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 3);
    assert!((windows[2]["end_s"].as_f64().unwrap() - 3.5).abs() < 0.01);
    let p = v["tags"][0]["probability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert!(
        v["tags"][0]["mid"].as_str().unwrap().starts_with("/m/")
            || v["tags"][0]["mid"].as_str().unwrap().starts_with("/t/")
    );
    let table = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("file,start_s,end_s,"));
    assert_eq!(lines[0].split(',').count(), 3 + 5);
    assert!(lines.len() > 3);
}

#[test]
fn same_audio_at_two_rates_gives_close_tags() {
    let d = tmpdir("rates");
    let a = d.join("a.wav");
    let stereo = d.join("stereo.wav");
    let b = d.join("b.wav");
    write_wav(&a, 32_000, 1, &tone(32_000, 1, 1.28, 1000.0));
    write_wav(&stereo, 32_000, 2, &tone(32_000, 2, 1.28, 1000.0));
    write_wav(&b, 96_000, 2, &tone(96_000, 2, 1.28, 1000.0));
    let probs = |p: &Path| {
        let (ok, out, err) = amtag(&[
            "tag",
            p.to_str().unwrap(),
            "--model",
            model().to_str().unwrap(),
            "--json",
        ]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let mut t: Vec<(String, f64)> = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["label"].as_str().unwrap().to_string(),
                    t["probability"].as_f64().unwrap(),
                )
            })
            .collect();
        t.sort_by(|x, y| x.0.cmp(&y.0));
        t
    };
    let reference = probs(&a);
    // Mixing identical channels down changes nothing.
    for (x, y) in reference.iter().zip(probs(&stereo)) {
        assert!(x.0 == y.0 && (x.1 - y.1).abs() < 1e-3, "{x:?} vs {y:?}");
    }
    // Resampling from 96 kHz changes the window's edges a little (filter ramp), no more.
    for (x, y) in reference.iter().zip(probs(&b)) {
        assert!(x.0 == y.0 && (x.1 - y.1).abs() < 0.08, "{x:?} vs {y:?}");
    }
}

#[test]
fn bad_inputs_fail_with_one_line_and_directories_tag_the_rest() {
    let d = tmpdir("bad");
    write_wav(&d.join("good.wav"), 16_000, 1, &tone(16_000, 1, 0.5, 300.0));
    std::fs::write(d.join("broken.wav"), b"RIFF0000WAVEnot really").unwrap();
    std::fs::write(d.join("notes.txt"), b"ignored").unwrap();
    let (ok, out, err) = amtag(&[
        "tag",
        d.to_str().unwrap(),
        "--model",
        model().to_str().unwrap(),
    ]);
    assert!(!ok, "a failed file makes the run fail");
    assert!(out.contains("good.wav"), "{out}");
    assert!(
        err.contains("broken.wav") && err.contains("1 of 2 files failed"),
        "{err}"
    );
    assert!(!out.contains("notes.txt"));

    let (ok, _, err) = amtag(&[
        "tag",
        "/nonexistent.wav",
        "--model",
        model().to_str().unwrap(),
    ]);
    assert!(
        !ok && err.trim().lines().count() <= 2 && err.contains("/nonexistent.wav"),
        "{err}"
    );

    let junk = d.join("junk.safetensors");
    std::fs::write(&junk, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    let (ok, _, err) = amtag(&[
        "tag",
        d.join("good.wav").to_str().unwrap(),
        "--model",
        junk.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("safetensors"), "{err}");
}

#[test]
fn decodes_flac_ogg_and_mp3_like_the_same_wav() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data");
    let d = tmpdir("codecs");
    let wav = d.join("tone.wav");
    write_wav(&wav, 32_000, 1, &tone(32_000, 1, 1.5, 440.0));
    let tags = |p: &Path| {
        let (ok, out, err) = amtag(&[
            "tag",
            p.to_str().unwrap(),
            "--model",
            model().to_str().unwrap(),
            "--json",
            "--top",
            "5",
        ]);
        assert!(ok, "{}: {err}", p.display());
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let mut t: Vec<(String, f64)> = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["label"].as_str().unwrap().to_string(),
                    t["probability"].as_f64().unwrap(),
                )
            })
            .collect();
        t.sort_by(|x, y| x.0.cmp(&y.0));
        (v["duration_s"].as_f64().unwrap(), t)
    };
    let (_, reference) = tags(&wav);
    for name in ["tone.flac", "tone.ogg", "tone.mp3"] {
        let (dur, t) = tags(&data.join(name));
        // MP3 frames pad the end a little.
        assert!((1.49..1.6).contains(&dur), "{name}: {dur} s");
        for (x, y) in reference.iter().zip(&t) {
            // Lossy codecs, other rates and another amplitude (FFmpeg: 1/8) leave the tags close.
            assert!(
                x.0 == y.0 && (x.1 - y.1).abs() < 0.15,
                "{name}: {x:?} vs {y:?}"
            );
        }
    }
}

#[test]
fn without_model_flag_uses_the_embedded_model_or_says_how_to_pass_one() {
    let d = tmpdir("default");
    let wav = d.join("tone.wav");
    write_wav(&wav, 32_000, 1, &tone(32_000, 1, 1.0, 440.0));
    let (ok, out, err) = amtag(&["tag", wav.to_str().unwrap()]);
    // build.rs embeds weights/audio-mamba.safetensors exactly when it exists.
    let embedded = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../weights/audio-mamba.safetensors")
        .exists();
    if embedded {
        assert!(ok && out.contains("tone.wav"), "{err}");
    } else {
        assert!(!ok && err.contains("--model"), "{err}");
    }
}

/// The shipped model on the held-out example clips (examples/README.md: test-split sources it
/// never heard): it must tell the drum recordings from the melodic ones. Builds without
/// weights/audio-mamba.safetensors embed nothing and skip.
#[test]
fn embedded_model_tells_the_drum_examples_from_the_melodic_ones() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("weights/audio-mamba.safetensors").exists() {
        return;
    }
    let examples = root.join("examples");
    let (ok, out, err) = amtag(&["tag", examples.to_str().unwrap(), "--json", "--top", "100"]);
    assert!(ok, "{err}");
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let prob = |file: &str, label: &str| -> f64 {
        let doc = docs
            .iter()
            .find(|d| d["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not tagged"));
        doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["label"] == label)
            .map_or(0.0, |t| t["probability"].as_f64().unwrap())
    };
    let drums = prob("drum-kit-acoustic.flac", "Drum kit");
    for melodic in ["piano-phrase.flac", "saxophone.flac"] {
        assert!(drums > 0.5, "Drum kit on the drum kit: {drums}");
        let other = prob(melodic, "Drum kit");
        assert!(other < 0.25, "Drum kit on {melodic}: {other}");
    }
    for file in [
        "drum-kit-acoustic.flac",
        "piano-phrase.flac",
        "drum-break-trumpet.flac",
    ] {
        assert!(prob(file, "Music") > 0.5, "Music on {file}");
    }
    let trumpet = prob("drum-break-trumpet.flac", "Trumpet");
    assert!(
        trumpet > prob("drum-kit-acoustic.flac", "Trumpet") + 0.3,
        "Trumpet: {trumpet}"
    );
}
