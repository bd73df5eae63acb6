//! Writes what the DAW test (`tests/daw/`) loads: the host tests' fixed-answer tagger and hit
//! model (every onset is a kick, see `model.rs`) and the drum clip with its onsets.
//!
//! usage: daw-fixtures OUTDIR   -> tagger.safetensors, hits.safetensors, drums.wav, drums.json

use audio_mamba_host_tests::checks::drum_signal;
use audio_mamba_host_tests::model::{
    controlled_hit_model, controlled_model, DRUM_TEST_LABELS, KICK_HITS,
};
use std::path::PathBuf;

const RATE: u32 = 48_000;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: daw-fixtures OUTDIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).expect("create OUTDIR");
    std::fs::write(
        dir.join("tagger.safetensors"),
        controlled_model(DRUM_TEST_LABELS),
    )
    .expect("write tagger");
    std::fs::write(
        dir.join("hits.safetensors"),
        controlled_hit_model(KICK_HITS),
    )
    .expect("write hit model");
    let (hits, x) = drum_signal(f64::from(RATE));
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(dir.join("drums.wav"), spec).expect("create drums.wav");
    for &v in &x {
        w.write_sample(v).expect("write sample");
        w.write_sample(v).expect("write sample");
    }
    w.finalize().expect("finish drums.wav");
    let onsets: Vec<usize> = hits.iter().map(|h| h.0).collect();
    let doc = serde_json::json!({"rate": RATE, "samples": x.len(), "onsets": onsets});
    std::fs::write(dir.join("drums.json"), doc.to_string()).expect("write drums.json");
    println!("wrote {}", dir.display());
}
