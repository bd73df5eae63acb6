//! The immutable model (config + weights, shared by every session and plugin instance) and the
//! per-stream session that runs it.

pub(crate) mod cpu;
mod session;

pub use crate::graph::Tap;
pub(crate) use session::CpuSession;
pub use session::Prediction;

use crate::config::{FrontendConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::frontend::Bn0;
use crate::graph::weights::{Host, Weights};
use crate::graph::{self, Graph};
use crate::weights::{read_config, TensorStore};
use std::path::Path;

/// A model: its config, the front end's BatchNorm, the forward pass as a [`Graph`] and the
/// weights the graph refers to, in host memory (backends on other devices map them).
pub struct Model {
    config: ModelConfig,
    bn0: Option<Bn0>,
    graph: Graph,
    weights: Weights<Host>,
    parameters: usize,
    fingerprint: String,
}

impl Model {
    /// Loads a model file; every tensor is checked against the config it carries.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let config = read_config(bytes)?;
        let tensors = TensorStore::parse(bytes)?;
        Self::build(config, tensors, sha256_hex(bytes))
    }

    /// A model of `config` with synthetic (untrained, VMamba-style initial) weights: for
    /// benchmarks and tests of configs that have no file.
    pub fn random(config: ModelConfig, seed: u64) -> Result<Self> {
        let id = format!("random {seed} {}", config.name);
        Self::build(
            config,
            TensorStore::synthetic(seed),
            sha256_hex(id.as_bytes()),
        )
    }

    fn build(config: ModelConfig, mut tensors: TensorStore, fingerprint: String) -> Result<Self> {
        let bn0 = match &config.frontend {
            FrontendConfig::Htsat(h) => {
                let n = [h.n_mels];
                Some(Bn0::new(
                    &tensors.take("bn0.weight", &n)?,
                    &tensors.take("bn0.bias", &n)?,
                    &tensors.take("bn0.running_mean", &n)?,
                    &tensors.take("bn0.running_var", &n)?,
                ))
            }
            FrontendConfig::Kaldi(_) => None,
        };
        let (graph, weights) = graph::build(&config, &mut tensors)?;
        let parameters = tensors.taken();
        tensors.finish()?;
        Ok(Self {
            config,
            bn0,
            graph,
            weights,
            parameters,
            fingerprint,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The forward pass every backend executes.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The weights the graph refers to, in host memory.
    pub fn weights(&self) -> &Weights<Host> {
        &self.weights
    }

    pub(crate) fn bn0(&self) -> Option<&Bn0> {
        self.bn0.as_ref()
    }

    /// The SHA-256 of the model file (hex): what learned tags record as the model they were
    /// learned on, since two files with one name and version can hold different weights.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Number of values in the model's tensors (BatchNorm running statistics included).
    pub fn parameter_count(&self) -> usize {
        self.parameters
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
