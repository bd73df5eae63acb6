//! Embeds the shipped default model when `weights/audio-mamba.safetensors` exists.
use std::path::Path;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../weights/audio-mamba.safetensors");
    println!("cargo::rerun-if-changed={}", path.display());
    println!("cargo::rustc-check-cfg=cfg(default_model)");
    if path.exists() {
        println!("cargo::rustc-cfg=default_model");
        println!(
            "cargo::rustc-env=AUDIO_MAMBA_DEFAULT_MODEL={}",
            path.canonicalize().unwrap().display()
        );
    }
}
