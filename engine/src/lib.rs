//! Audio Mamba inference engine: HTS-AT / Kaldi front ends, a VMamba (SS2D selective-scan)
//! backbone and token-semantic or linear heads, loaded from a self-describing safetensors file.
//!
//! [`Model`] is immutable and shared (`Arc`) by every stream; a [`Session`] holds one stream's
//! scratch and thread budget. A [`Runner`] picks the CPU or (feature `gpu`) the wgpu backend
//! and falls back to the CPU when the GPU fails.

pub mod backend;
pub mod config;
pub mod embedded;
pub mod error;
pub mod frontend;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod graph;
pub mod hits;
pub mod kernels;
mod model;
pub mod onset;
pub mod resample;
pub mod weights;

pub use backend::{BackendChoice, Runner};
pub use config::{Label, ModelConfig, OnsetConfig};
pub use error::{Error, Result};
pub use model::{Model, Prediction, Session, Tap};
