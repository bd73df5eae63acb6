//! A real model file whose outputs are known in advance: golden-a's weights with its head
//! replaced by a zero convolution whose bias is the wanted logits, so every frame of every
//! window gives exactly `sigmoid(logit)` per label, whatever the audio. The engine still runs the
//! whole network on the real signal; only the answer is fixed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub fn golden_a() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden/golden-a.safetensors")
}

/// Labels used by the host tests: (name, mid, logit).
pub const DRUM_TEST_LABELS: &[(&str, &str, f32)] = &[
    ("Bass drum", "/m/0bm02", 6.0),
    ("Snare drum", "/m/06rvn", -6.0),
    ("Hi-hat", "/m/03qtq", -6.0),
    ("Speech", "/m/09x0r", -1.0),
    ("Music", "/m/04rlf", 6.0),
];

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The safetensors bytes of golden-a with `labels` (name, mid, logit).
pub fn controlled_model(labels: &[(&str, &str, f32)]) -> Vec<u8> {
    fixed_answer(
        &golden_a(),
        ("tscam_conv.weight", "tscam_conv.bias"),
        labels,
        "controlled-test-model",
        None,
    )
}

/// A hit model (golden-b, 0.5 s at 32 kHz, linear head, window from 20 ms before the onset)
/// whose every hit gets `sigmoid(logit)` per label.
pub fn controlled_hit_model(labels: &[(&str, &str, f32)]) -> Vec<u8> {
    controlled_hit_model_from("golden-b.safetensors", labels)
}

/// The same from another linear-head golden model (golden-c: 16 kHz, Kaldi front end).
pub fn controlled_hit_model_from(golden: &str, labels: &[(&str, &str, f32)]) -> Vec<u8> {
    let base = golden_a().with_file_name(golden);
    let onset = serde_json::json!({"pre_seconds": 0.02});
    fixed_answer(
        &base,
        ("classifier.head.weight", "classifier.head.bias"),
        labels,
        "controlled-hit-model",
        Some(onset),
    )
}

/// `base` with its head (`weight`, `bias`) zeroed and biased to the labels' logits.
fn fixed_answer(
    base: &Path,
    (weight, bias): (&str, &str),
    labels: &[(&str, &str, f32)],
    name: &str,
    onset: Option<serde_json::Value>,
) -> Vec<u8> {
    let bytes = std::fs::read(base).expect("golden model");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("parse golden model");
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).expect("metadata");
    let mut info: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&info["audio_mamba_config"]).expect("config json");
    cfg["labels"] = labels
        .iter()
        .map(|(n, m, _)| serde_json::json!({"name": n, "mid": m}))
        .collect();
    cfg["name"] = name.into();
    if let Some(o) = onset {
        cfg["onset"] = o;
    }
    info.insert("audio_mamba_config".into(), cfg.to_string());

    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (tensor, view) in st.tensors() {
        let mut shape = view.shape().to_vec();
        let data = if tensor == weight {
            shape[0] = labels.len();
            vec![0u8; shape.iter().product::<usize>() * 4]
        } else if tensor == bias {
            shape[0] = labels.len();
            labels.iter().flat_map(|l| l.2.to_le_bytes()).collect()
        } else {
            view.data().to_vec()
        };
        owned.push((tensor, shape, data));
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(n, s, d)| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                .expect("tensor view");
            (n.clone(), v)
        })
        .collect();
    safetensors::serialize(views, Some(info)).expect("serialize")
}

/// Writes model bytes to `{tag}.safetensors` in this process's temp dir.
fn write_temp(tag: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("audio-mamba-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{tag}.safetensors"));
    std::fs::write(&path, bytes).expect("write model");
    path
}

/// Writes `controlled_model(labels)` to a fresh file under the system temp dir.
pub fn write_controlled_model(tag: &str, labels: &[(&str, &str, f32)]) -> PathBuf {
    write_temp(tag, &controlled_model(labels))
}

/// Writes `controlled_hit_model(labels)` to a fresh file under the system temp dir.
pub fn write_controlled_hit_model(tag: &str, labels: &[(&str, &str, f32)]) -> PathBuf {
    write_temp(tag, &controlled_hit_model(labels))
}

/// The host tests' hit model: every onset is a bass drum (0.98), never a snare or hi-hat.
pub const KICK_HITS: &[(&str, &str, f32)] = &[
    ("Bass drum", "/m/0bm02", 4.0),
    ("Snare drum", "/m/06rvn", -4.0),
    ("Hi-hat", "/m/03qtq", -4.0),
];

/// A model file of `config_json` with synthetic weights (for benchmarks of configs that have no
/// trained file): each build attempt names the next tensor the config needs, which is added
/// with a plausible value (LayerNorm weights 1, biases 0, decay logs log(1..N), others small
/// noise) until the file loads.
pub fn synthetic_model_file(config_json: &str) -> Vec<u8> {
    use audio_mamba_engine::{Error, Model};
    let cfg = audio_mamba_engine::ModelConfig::from_json(config_json).expect("config");
    let mut info = HashMap::new();
    info.insert("audio_mamba_config".to_string(), cfg.to_json());
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut seed = 1u32;
    loop {
        let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
            .iter()
            .map(|(n, s, d)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                        .unwrap(),
                )
            })
            .collect();
        let bytes = safetensors::serialize(views, Some(info.clone())).expect("serialize");
        match Model::from_bytes(&bytes) {
            Ok(_) => return bytes,
            Err(Error::MissingTensor { name, expected }) => {
                let n: usize = expected.iter().product();
                let last = *expected.last().unwrap_or(&1) as f32;
                let values: Vec<f32> = (0..n)
                    .map(|i| {
                        if name.ends_with("running_var")
                            || (name.contains("norm") && name.ends_with("weight"))
                        {
                            1.0
                        } else if name.ends_with("bias") || name.ends_with("running_mean") {
                            0.0
                        } else if name.contains("A_log") {
                            ((i % last as usize) as f32 + 1.0).ln()
                        } else if name.contains("Ds") {
                            1.0
                        } else {
                            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                            ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.04
                        }
                    })
                    .collect();
                tensors.push((
                    name,
                    expected,
                    values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ));
            }
            Err(e) => panic!("synthetic model: {e}"),
        }
    }
}
