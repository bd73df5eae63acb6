//! Reading the safetensors model file: config from the metadata, tensors converted to f32 and
//! checked against the shapes the config implies.

use crate::config::{ModelConfig, CONFIG_KEY};
use crate::error::{Error, Result};
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;

/// The tensors of one file, handed out by name and shape exactly once each.
pub struct TensorStore {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

/// Parses the header and config only (cheap: no tensor is converted).
pub fn read_config(bytes: &[u8]) -> Result<ModelConfig> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::NotSafetensors(e.to_string()))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or(Error::MissingConfig(CONFIG_KEY))?;
    ModelConfig::from_json(json)
}

impl TensorStore {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| Error::NotSafetensors(e.to_string()))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.iter() {
            let data = view.data();
            let values: Vec<f32> = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                Dtype::F16 => data
                    .chunks_exact(2)
                    .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                Dtype::BF16 => data
                    .chunks_exact(2)
                    .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                // Integer bookkeeping buffers (BatchNorm's num_batches_tracked) carry no weights.
                Dtype::I64 if name.ends_with("num_batches_tracked") => continue,
                other => {
                    return Err(Error::BadDtype {
                        name: name.to_string(),
                        dtype: format!("{other:?}"),
                    })
                }
            };
            tensors.insert(name.to_string(), (view.shape().to_vec(), values));
        }
        Ok(Self { tensors })
    }

    pub fn parameter_count(&self) -> usize {
        self.tensors.values().map(|(_, v)| v.len()).sum()
    }

    /// Removes and returns the tensor `name`, which must have exactly `shape`.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (actual, values) = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::MissingTensor {
                name: name.to_string(),
                expected: shape.to_vec(),
            })?;
        if actual != shape {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                actual,
            });
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteTensor {
                name: name.to_string(),
            });
        }
        Ok(values)
    }

    /// Errors if any tensor was not claimed by the model: the file does not match its config.
    pub fn finish(self) -> Result<()> {
        match self.tensors.into_keys().next() {
            Some(name) => Err(Error::UnexpectedTensor(name)),
            None => Ok(()),
        }
    }
}
