//! What the `amtag` end-to-end tests share: running the binary, a scratch directory, and a WAV
//! writer (a few lines; the tests need no encoder dependency of their own).
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn amtag(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amtag"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// 16-bit PCM WAV: `frames[i]` holds frame i, one sample per channel.
pub fn write_wav(path: &Path, rate: u32, channels: u16, frames: &[Vec<f32>]) {
    let data: Vec<u8> = frames
        .iter()
        .flat_map(|f| {
            f.iter()
                .flat_map(|&s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        })
        .collect();
    let mut b = Vec::new();
    b.extend(b"RIFF");
    b.extend((36 + data.len() as u32).to_le_bytes());
    b.extend(b"WAVEfmt ");
    b.extend(16u32.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(channels.to_le_bytes());
    b.extend(rate.to_le_bytes());
    b.extend((rate * channels as u32 * 2).to_le_bytes());
    b.extend((channels * 2).to_le_bytes());
    b.extend(16u16.to_le_bytes());
    b.extend(b"data");
    b.extend((data.len() as u32).to_le_bytes());
    b.extend(data);
    std::fs::write(path, b).unwrap();
}

/// A mono 16-bit WAV.
pub fn write_mono_wav(path: &Path, rate: u32, x: &[f32]) {
    let frames: Vec<Vec<f32>> = x.iter().map(|&v| vec![v]).collect();
    write_wav(path, rate, 1, &frames);
}

/// A fresh scratch directory for test `name` of this process.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("amtag-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
