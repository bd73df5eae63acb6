//! The engine built without its `gpu` feature (CI: `cargo test -p audio-mamba-engine
//! --no-default-features`): `auto` runs on the CPU and asking for the GPU is a clear error.
#![cfg(not(feature = "gpu"))]

use audio_mamba_engine::{BackendChoice, Error, GpuError, Model, ModelConfig, Session};
use std::sync::Arc;

fn nano() -> Arc<Model> {
    let json = include_str!("../../training/configs/nano.json");
    Arc::new(Model::random(ModelConfig::from_json(json).unwrap(), 1).unwrap())
}

#[test]
fn auto_runs_on_the_cpu_and_gpu_is_refused() {
    let model = nano();
    let mut auto = Session::new(model.clone(), 1, BackendChoice::Auto, 4).unwrap();
    assert!(!auto.is_gpu());
    assert!(auto.describe().starts_with("cpu"), "{}", auto.describe());
    assert_eq!(auto.batch_capacity(), 1);
    let n = model.config().clip_samples();
    let probs = auto.run(&vec![0.1; n]).unwrap().clip_probs.to_vec();
    assert!(probs.iter().all(|p| p.is_finite()));
    match Session::new(model.clone(), 1, BackendChoice::Gpu, 4) {
        Err(Error::Gpu(GpuError::NotBuilt)) => {}
        Err(e) => panic!("expected NotBuilt, got {e}"),
        Ok(s) => panic!("a build without the gpu feature ran on {}", s.describe()),
    }
    let err = auto.profile(&[&[]]).err().expect("no GPU to profile on");
    assert!(err.to_string().contains("GPU backend"), "{err}");
}
