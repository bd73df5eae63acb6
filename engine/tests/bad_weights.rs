//! A model file that is corrupt or does not match its config is refused with an error that
//! says what is wrong, never a panic.

use audio_mamba_engine::{Error, Model};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;

fn golden_bytes() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/golden/golden-a.safetensors"
    ))
    .unwrap()
}

/// Re-serialises the golden model after letting `edit` change its tensors and config JSON.
fn rewrite(edit: impl FnOnce(&mut Vec<(String, Vec<usize>, Vec<u8>)>, &mut String)) -> Vec<u8> {
    let bytes = golden_bytes();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut config = meta.metadata().as_ref().unwrap()["audio_mamba_config"].clone();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .iter()
        .map(|(n, v)| (n.to_string(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors, &mut config);
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, d)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
            )
        })
        .collect();
    let meta = HashMap::from([("audio_mamba_config".to_string(), config)]);
    safetensors::serialize(views, Some(meta)).unwrap()
}

fn err(bytes: &[u8]) -> Error {
    match Model::from_bytes(bytes) {
        Ok(_) => panic!("corrupt model was accepted"),
        Err(e) => e,
    }
}

#[test]
fn the_unmodified_rewrite_loads() {
    Model::from_bytes(&rewrite(|_, _| {})).unwrap();
}

#[test]
fn truncated_and_foreign_files_are_refused() {
    let bytes = golden_bytes();
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(err(&bytes[..cut]), Error::NotSafetensors(_)),
            "cut at {cut}"
        );
    }
    assert!(matches!(
        err(b"RIFF\x24\x00\x00\x00WAVEfmt "),
        Error::NotSafetensors(_)
    ));
}

#[test]
fn missing_config_and_future_format_are_named() {
    let bytes = rewrite(|_, c| {
        *c = c
            .replace("\"format_version\": 1", "\"format_version\": 7")
            .replace("\"format_version\":1", "\"format_version\":7")
    });
    let e = err(&bytes);
    assert!(
        matches!(
            e,
            Error::FutureFormat {
                found: 7,
                supported: 1
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("newer"));

    let e = err(&rewrite(|_, c| {
        *c = c.replacen('{', "{\"colour\": \"blue\", ", 1)
    }));
    assert!(
        matches!(e, Error::Config(ref m) if m.contains("colour")),
        "{e}"
    );
}

#[test]
fn an_onset_section_outside_the_window_is_refused_and_a_good_one_is_read() {
    let with = |json: &str| {
        rewrite(|_, c| {
            let mut v: serde_json::Value = serde_json::from_str(c).unwrap();
            v["onset"] = serde_json::from_str(json).unwrap();
            *c = v.to_string();
        })
    };
    let m = Model::from_bytes(&with(r#"{"pre_seconds": 0.05}"#)).unwrap();
    assert_eq!(m.config().onset.map(|o| o.pre_seconds), Some(0.05));
    // golden-a's window is 1.28 s.
    for bad in [r#"{"pre_seconds": 2.0}"#, r#"{"pre_seconds": -0.01}"#] {
        let e = err(&with(bad));
        assert!(
            matches!(e, Error::Config(ref m) if m.contains("onset.pre_seconds")),
            "{e}"
        );
    }
    let e = err(&with(r#"{"pre_seconds": 0.02, "post": 1}"#));
    assert!(
        matches!(e, Error::Config(ref m) if m.contains("post")),
        "{e}"
    );
}

#[test]
fn missing_wrong_shape_and_extra_tensors_are_named() {
    let e = err(&rewrite(|t, _| {
        t.retain(|(n, _, _)| n != "layers.1.blocks.0.op.A_logs")
    }));
    assert!(
        matches!(e, Error::MissingTensor { ref name, .. } if name == "layers.1.blocks.0.op.A_logs"),
        "{e}"
    );

    let e = err(&rewrite(|t, _| {
        let x = t
            .iter_mut()
            .find(|(n, _, _)| n == "tscam_conv.bias")
            .unwrap();
        x.1 = vec![x.1[0] - 1];
        x.2.truncate(x.2.len() - 4);
    }));
    let msg = e.to_string();
    assert!(
        msg.contains("tscam_conv.bias") && msg.contains("expected"),
        "{msg}"
    );

    let e = err(&rewrite(|t, _| {
        t.push(("layers.9.extra".into(), vec![1], vec![0; 4]))
    }));
    assert!(
        matches!(e, Error::UnexpectedTensor(ref n) if n == "layers.9.extra"),
        "{e}"
    );

    let e = err(&rewrite(|t, _| {
        let x = t.iter_mut().find(|(n, _, _)| n == "bn0.weight").unwrap();
        x.2[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    }));
    assert!(
        matches!(e, Error::NonFiniteTensor { ref name } if name == "bn0.weight"),
        "{e}"
    );
}

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let e = Model::load("/nonexistent/model.safetensors").err().unwrap();
    assert!(e.to_string().contains("/nonexistent/model.safetensors"));
}

/// Rewrites the golden model with every tensor stored as `dtype` (values rounded through it).
fn rewrite_as(dtype: Dtype) -> (Vec<u8>, Vec<u8>) {
    let round = |b: &[u8]| -> (Vec<u8>, Vec<u8>) {
        let v = f32::from_le_bytes(b.try_into().unwrap());
        match dtype {
            Dtype::BF16 => {
                let h = half::bf16::from_f32(v);
                (h.to_le_bytes().to_vec(), h.to_f32().to_le_bytes().to_vec())
            }
            _ => {
                let h = half::f16::from_f32(v);
                (h.to_le_bytes().to_vec(), h.to_f32().to_le_bytes().to_vec())
            }
        }
    };
    let bytes = golden_bytes();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone();
    // Name, shape, the bytes in `dtype`, and the same rounded values as f32 bytes.
    type Rounded = (String, Vec<usize>, Vec<u8>, Vec<u8>);
    let tensors: Vec<Rounded> = st
        .iter()
        .map(|(n, v)| {
            let (half, full): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
                v.data().chunks_exact(4).map(round).unzip();
            (
                n.to_string(),
                v.shape().to_vec(),
                half.concat(),
                full.concat(),
            )
        })
        .collect();
    let half: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, h, _)| (n.clone(), TensorView::new(dtype, s.clone(), h).unwrap()))
        .collect();
    let full: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, s, _, f)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), f).unwrap(),
            )
        })
        .collect();
    (
        safetensors::serialize(half, meta.clone()).unwrap(),
        safetensors::serialize(full, meta).unwrap(),
    )
}

#[test]
fn f16_and_bf16_files_decode_to_the_same_model_as_their_rounded_f32() {
    use audio_mamba_engine::Session;
    use std::sync::Arc;
    for dtype in [Dtype::F16, Dtype::BF16] {
        let (half, full) = rewrite_as(dtype);
        let run = |bytes: &[u8]| {
            let m = Arc::new(Model::from_bytes(bytes).unwrap());
            let n = m.config().clip_samples();
            let mut s = Session::cpu(m, 1).unwrap();
            let wave: Vec<f32> = (0..n).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
            s.run(&wave).unwrap().clip_logits.to_vec()
        };
        assert_eq!(run(&half), run(&full), "{dtype:?}");
    }
}
