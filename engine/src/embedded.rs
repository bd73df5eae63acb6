//! The models shipped in `weights/`, compiled into the binary by `build.rs` when present, so
//! `amtag` and the plugin work with no file beside them. A checkout without `weights/` builds
//! without them (and says so at run time).

#[cfg(embedded_tagger)]
static TAGGER: Option<&[u8]> = Some(include_bytes!(env!("AUDIO_MAMBA_EMBEDDED_TAGGER")));
#[cfg(not(embedded_tagger))]
static TAGGER: Option<&[u8]> = None;

#[cfg(embedded_hits)]
static HITS: Option<&[u8]> = Some(include_bytes!(env!("AUDIO_MAMBA_EMBEDDED_HITS")));
#[cfg(not(embedded_hits))]
static HITS: Option<&[u8]> = None;

/// The default tagger (`weights/audio-mamba.safetensors`), as safetensors bytes.
pub fn tagger() -> Option<&'static [u8]> {
    TAGGER
}

/// The per-hit drum classifier (`weights/audio-mamba-hits.safetensors`), as safetensors bytes.
pub fn hits() -> Option<&'static [u8]> {
    HITS
}
