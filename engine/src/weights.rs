//! Reading the safetensors model file: config from the metadata, tensors converted to f32 and
//! checked against the shapes the config implies.

use crate::config::{ModelConfig, CONFIG_KEY};
use crate::error::{Error, Result};
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;

/// The tensors of one file, handed out by name and shape exactly once each. A synthetic store
/// instead makes up VMamba-style initial values for whatever is asked: random models of any
/// config for benchmarks and tests, without a file.
pub struct TensorStore {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    synthetic: Option<u64>,
    taken: usize,
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
        Ok(Self {
            tensors,
            synthetic: None,
            taken: 0,
        })
    }

    /// Number of values handed out so far (the model's parameter count once it is built).
    pub fn taken(&self) -> usize {
        self.taken
    }

    pub fn synthetic(seed: u64) -> Self {
        Self {
            tensors: BTreeMap::new(),
            synthetic: Some(seed),
            taken: 0,
        }
    }

    /// Removes and returns the tensor `name`, which must have exactly `shape`.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.taken += shape.iter().product::<usize>();
        if let Some(seed) = self.synthetic.as_mut() {
            *seed = seed.wrapping_add(1);
            return Ok(synthesize(name, shape, *seed));
        }
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
        if self.synthetic.is_some() {
            return Ok(());
        }
        match self.tensors.into_keys().next() {
            Some(name) => Err(Error::UnexpectedTensor(name)),
            None => Ok(()),
        }
    }
}

/// Initial values in the spirit of VMamba's init: unit norms, zero biases, A = -(1..N),
/// D = 1, small random matrices scaled by fan-in.
fn synthesize(name: &str, shape: &[usize], seed: u64) -> Vec<f32> {
    let len: usize = shape.iter().product();
    let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    if name.ends_with("A_logs") {
        let n = shape[1];
        (0..len).map(|i| (((i % n) + 1) as f32).ln()).collect()
    } else if name.ends_with("Ds") || name.ends_with("running_var") {
        vec![1.0; len]
    } else if name.ends_with("running_mean") {
        vec![-40.0; len]
    } else if name.ends_with("dt_projs_bias") {
        // softplus^-1 of dt in [1e-3, 1e-1], as Mamba initialises it.
        (0..len)
            .map(|_| {
                let dt =
                    (0.001f32.ln() + (uniform() * 0.5 + 0.5) * (0.1f32.ln() - 0.001f32.ln())).exp();
                dt + (-(-dt).exp_m1()).ln()
            })
            .collect()
    } else if shape.len() == 1 && name.ends_with(".weight") {
        vec![1.0; len]
    } else if shape.len() == 1 {
        vec![0.0; len]
    } else {
        let scale = 1.0 / (fan_in as f32).sqrt();
        (0..len).map(|_| uniform() * scale).collect()
    }
}
