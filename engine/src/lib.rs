//! Audio Mamba inference engine: HTS-AT / Kaldi front ends, a VMamba (SS2D selective-scan)
//! backbone and token-semantic or linear heads, loaded from a self-describing safetensors file.
//!
//! [`Model`] is immutable and shared (`Arc`) by every stream: its config, its forward pass as
//! one [`graph::Graph`] and the weights. A [`Session`] is one stream on the CPU or (feature
//! `gpu`) the wgpu backend, each an executor of the same graph; it falls back to the CPU when
//! the GPU fails.

pub mod config;
pub mod embedded;
pub mod env;
pub mod error;
pub mod frontend;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod graph;
pub mod hits;
pub mod kernels;
pub mod learn;
mod model;
pub mod onset;
pub mod resample;
pub mod session;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod weights;

pub use config::{Label, ModelConfig, OnsetConfig};
pub use error::{Error, GpuError, Result};
pub use model::{Model, Prediction, Tap};
pub use session::{BackendChoice, Session};
