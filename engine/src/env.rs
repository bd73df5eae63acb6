//! The engine's switches from the environment, read here and nowhere else in the engine. Every
//! variable of the project (the engine's, `amtag`'s and the plugin's) starts with [`PREFIX`].

use crate::error::{Error, Result};
use crate::session::BackendChoice;

pub const PREFIX: &str = "AUDIO_MAMBA_";
/// `auto | cpu | gpu`: the backend a caller gets when it does not choose one itself.
pub const BACKEND: &str = "AUDIO_MAMBA_BACKEND";
/// `1`: tests that need a GPU adapter fail without one instead of skipping (CI sets it, where
/// lavapipe is installed).
pub const REQUIRE_GPU: &str = "AUDIO_MAMBA_REQUIRE_GPU";

/// The backend in [`BACKEND`], if set and not empty; a value that is not a backend is an error
/// naming the variable.
pub fn backend() -> Result<Option<BackendChoice>> {
    match std::env::var(BACKEND) {
        Ok(v) if !v.trim().is_empty() => v
            .parse()
            .map(Some)
            .map_err(|e| Error::Config(format!("{BACKEND}: {e}"))),
        _ => Ok(None),
    }
}

/// Whether [`REQUIRE_GPU`] is `1`.
pub fn require_gpu() -> bool {
    std::env::var(REQUIRE_GPU).is_ok_and(|v| v.trim() == "1")
}
