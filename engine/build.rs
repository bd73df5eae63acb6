//! Embeds the shipped models of `weights/` when they exist: the tagger and the hit classifier.
//! One build script for every crate that wants them (`amtag`, the plugin): see `src/embedded.rs`.
use std::path::Path;

fn main() {
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("../weights");
    for (file, cfg) in [
        ("audio-mamba.safetensors", "embedded_tagger"),
        ("audio-mamba-hits.safetensors", "embedded_hits"),
    ] {
        let path = weights.join(file);
        println!("cargo::rerun-if-changed={}", path.display());
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if path.exists() {
            println!("cargo::rustc-cfg={cfg}");
            let var = format!("AUDIO_MAMBA_{}", cfg.to_uppercase());
            let abs = path
                .canonicalize()
                .expect("an existing file has a canonical path");
            println!("cargo::rustc-env={var}={}", abs.display());
        }
    }
}
