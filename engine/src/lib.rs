//! Audio Mamba inference engine: HTS-AT / Kaldi front ends, a VMamba (SS2D selective-scan)
//! backbone and token-semantic or linear heads, loaded from a self-describing safetensors file.
//!
//! [`Model`] is immutable and shared (`Arc`) by every stream; a [`Session`] holds one stream's
//! scratch and thread budget.

pub mod config;
pub mod error;
pub mod frontend;
pub mod kernels;
mod model;
pub mod resample;
pub mod weights;

pub use config::{Label, ModelConfig};
pub use error::{Error, Result};
pub use model::{Model, Prediction, Session, Tap};
