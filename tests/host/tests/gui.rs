//! The real editor under an X server (Xvfb in CI): the built .clap embedded in a host window,
//! fed the shipped example clips, read back as pixels and through the editor's own trace.
//! Ignored by default like the other bundle tests; `scripts/test-plugin.sh` runs it under
//! xvfb-run with the release bundle (which embeds the shipped model).

use audio_mamba_host_tests::clap_host::Run;
use audio_mamba_host_tests::editor_capture::{capture, capture_playing};
use audio_mamba_host_tests::learning::{groove, snare_lesson, teaching_changes, RATE};
use audio_mamba_host_tests::signals::Kit;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

#[test]
#[ignore = "needs the bundle and an X server; run by scripts/test-plugin.sh under xvfb-run"]
fn editor_renders_the_tags_of_the_audio_it_hears() {
    // The embedded (shipped) model, not a test model from the environment.
    // SAFETY: this test binary runs one test; no plugin thread exists yet.
    unsafe { std::env::remove_var("AUDIO_MAMBA_MODEL") };
    let dir = std::env::temp_dir();
    let trace = dir.join(format!("am-editor-{}.json", std::process::id()));
    let drums = capture(&example("drum-kit-acoustic.flac"), 1.0, None, &trace).unwrap();
    let piano = capture(&example("piano-phrase.flac"), 1.0, None, &trace).unwrap();
    if let Ok(out) = std::env::var("AUDIO_MAMBA_GUI_SHOTS") {
        drums
            .screenshot
            .save_png(&Path::new(&out).join("editor-drums.png"))
            .unwrap();
        piano
            .screenshot
            .save_png(&Path::new(&out).join("editor-piano.png"))
            .unwrap();
    }

    // The window rendered: text, bars and a heat map, not a blank or one-colour surface.
    for (what, c) in [("drums", &drums), ("piano", &piano)] {
        let s = &c.screenshot;
        assert!(
            s.width >= 500 && s.height >= 400,
            "{what}: {}x{}",
            s.width,
            s.height
        );
        assert!(s.colours() > 100, "{what}: only {} colours", s.colours());
    }
    // What it shows comes from the audio: the drum clip lists "Drum kit" high, the piano clip
    // low, and the two windows look different.
    let d = drums.shown("Drum kit").unwrap_or(0.0);
    let p = piano.shown("Drum kit").unwrap_or(0.0);
    assert!(
        d > 0.5 && p < 0.25,
        "Drum kit: {d} on drums, {p} on piano\n{}\n{}",
        drums.trace,
        piano.trace
    );
    assert!(drums.screenshot.difference(&piano.screenshot) > 0.01);
    // The timeline marks each classified hit: many on the drum clip's rows, none on the piano's.
    let marks = |c: &audio_mamba_host_tests::editor_capture::Capture| {
        c.trace["timeline_drum_hits"].as_u64().unwrap()
    };
    assert!(
        marks(&drums) >= 5 && marks(&piano) == 0,
        "{}\n{}",
        drums.trace,
        piano.trace
    );
    for c in [&drums, &piano] {
        assert!(
            c.trace["timeline_frames"].as_u64().unwrap() >= 20,
            "{}",
            c.trace
        );
        assert!(
            c.trace["timeline_rows"].as_u64().unwrap() >= 1,
            "{}",
            c.trace
        );
        assert!(
            c.trace["status"].as_str().unwrap().contains("ms per"),
            "{}",
            c.trace
        );
    }

    // 200% scale: the editor asks for a window about twice as large and still renders.
    let big = capture(&example("drum-kit-acoustic.flac"), 2.0, None, &trace).unwrap();
    assert!(
        big.screenshot.width >= drums.screenshot.width * 3 / 2,
        "{} vs {}",
        big.screenshot.width,
        drums.screenshot.width
    );
    assert!(big.screenshot.colours() > 100);

    // The host resizes the window: the editor fills the new size (its right and bottom edges
    // are drawn, not left black).
    let wide = capture(
        &example("piano-phrase.flac"),
        1.0,
        Some((1300, 1000)),
        &trace,
    )
    .unwrap();
    let s = &wide.screenshot;
    assert_eq!((s.width, s.height), (1300, 1000));
    let strip = |x0: u32, x1: u32, y0: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (y * s.width + x) as usize * 3))
            .filter(|&i| s.rgb[i..i + 3] != [0, 0, 0])
            .count()
    };
    assert!(strip(1000, 1300, 0, 1000) > 100_000, "right edge not drawn");
    assert!(strip(0, 1300, 900, 1000) > 50_000, "bottom edge not drawn");

    // The Learn flow, driven by the parameters its panel sets: kit A's snare marked in a
    // lesson, then new hits of the kit. The editor shows the lesson's marks on the timeline,
    // the learned tag in the Learn panel, as a mapping row and as a timeline row.
    let (lesson, marks) = snare_lesson(5);
    let mut x = lesson.audio.clone();
    x.extend(groove(Kit::A, 'A', 45, 23, None).audio);
    let mut run = Run::new(RATE as f64, &[512]);
    run.param_changes = teaching_changes(&marks, lesson.audio.len());
    let taught = capture_playing(&[x.clone(), x], &run, 1.0, None, &trace).unwrap();
    if let Ok(out) = std::env::var("AUDIO_MAMBA_GUI_SHOTS") {
        taught
            .screenshot
            .save_png(&Path::new(&out).join("learned-tag.png"))
            .unwrap();
    }
    let t = &taught.trace;
    let slot = &t["learned"][0];
    assert!(
        slot["learned"] == true && slot["kind"] == "percussive",
        "{t}"
    );
    assert!(
        slot["shown"].as_str().unwrap().contains("from 5 hits"),
        "{t}"
    );
    let has = |key: &str| t[key].as_array().unwrap().iter().any(|n| n == "Learned 1");
    assert!(has("mapping_rows") && has("timeline_row_names"), "{t}");
    assert!(t["timeline_marked_seconds"].as_f64().unwrap() > 0.3, "{t}");
    assert!(taught.screenshot.colours() > 100);
    std::fs::remove_file(trace).ok();
}
