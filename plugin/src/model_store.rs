//! One copy of each model per process (whisper.cpp style): every plugin instance that asks for
//! the same file, or for the embedded model, gets the same `Arc<Model>`. Instances only hold
//! `Arc`s, so the weights go away with the last instance using them.

use audio_mamba_engine::Model;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// Environment variable naming a model file, for DAWs (and tests) without a file chooser;
/// `none` runs without a tagger (audio passes through, no tags or events).
pub const MODEL_ENV: &str = "AUDIO_MAMBA_MODEL";
/// The same for the hit model; `none` runs without one (onsets then play every open drum tag).
pub const HIT_MODEL_ENV: &str = "AUDIO_MAMBA_HIT_MODEL";

#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    /// Model bytes compiled into the binary, by address (the embedded tagger, or a test's).
    Embedded(usize),
    EmbeddedHits,
    File(PathBuf),
}

/// Loaded models by source; the mutex is only taken on the main thread (load/activate).
static CACHE: Mutex<Vec<(Key, Weak<Model>)>> = Mutex::new(Vec::new());

/// The model an instance got, with a line for the user about where it came from.
pub struct Loaded {
    pub model: Option<Arc<Model>>,
    pub message: String,
}

fn cached(key: Key, load: impl FnOnce() -> Result<Model, String>) -> Result<Arc<Model>, String> {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|(_, w)| w.strong_count() > 0);
    if let Some(m) = cache
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(m);
    }
    let model = Arc::new(load()?);
    cache.push((key, Arc::downgrade(&model)));
    Ok(model)
}

/// A model file through the process-wide cache (the editor checks a file with this before it
/// becomes an instance's model path).
pub fn load_file(path: &Path) -> Result<Arc<Model>, String> {
    from_file(path)
}

fn from_file(path: &Path) -> Result<Arc<Model>, String> {
    let canonical = path
        .canonicalize()
        .map_err(|e| format!("model file {}: {e}", path.display()))?;
    cached(Key::File(canonical.clone()), || {
        Model::load(&canonical).map_err(|e| format!("model file {}: {e}", path.display()))
    })
}

fn embedded(bytes: &'static [u8]) -> Result<Arc<Model>, String> {
    cached(Key::Embedded(bytes.as_ptr() as usize), || {
        Model::from_bytes(bytes).map_err(|e| format!("embedded model: {e}"))
    })
}

/// Resolves the model: the path saved with the instance, else `AUDIO_MAMBA_MODEL`, else the
/// embedded one. A source that fails is reported and the next one is used, so a bad file never
/// costs the user a working model.
pub fn resolve(saved_path: &str) -> Loaded {
    let env = std::env::var(MODEL_ENV).unwrap_or_default();
    resolve_from(saved_path, &env, audio_mamba_engine::embedded::tagger())
}

/// [`resolve`] with the environment's value and the embedded model given.
fn resolve_from(saved_path: &str, env: &str, embedded_bytes: Option<&'static [u8]>) -> Loaded {
    let mut problems = Vec::new();
    if env.trim().eq_ignore_ascii_case("none") {
        return Loaded {
            model: None,
            message: format!(
                "no model ({MODEL_ENV}=none): audio passes through without tags or events"
            ),
        };
    }
    for (what, path) in [("saved model path", saved_path), (MODEL_ENV, env)] {
        if path.trim().is_empty() {
            continue;
        }
        match from_file(Path::new(path.trim())) {
            Ok(model) => {
                return Loaded {
                    message: describe(&model, &format!("{what} {}", path.trim()), &problems),
                    model: Some(model),
                }
            }
            Err(e) => problems.push(e),
        }
    }
    match embedded_bytes.map(embedded) {
        Some(Ok(model)) => Loaded {
            message: describe(&model, "embedded model", &problems),
            model: Some(model),
        },
        Some(Err(e)) => {
            problems.push(e);
            no_model(problems)
        }
        None => no_model(problems),
    }
}

/// The hit model: `AUDIO_MAMBA_HIT_MODEL`, else the embedded one; with the line for the user.
/// A bad file is reported and the embedded one used; no hit model at all is not an error.
pub fn resolve_hits() -> (Option<Arc<Model>>, String) {
    let env = std::env::var(HIT_MODEL_ENV).unwrap_or_default();
    let env = env.trim();
    if env.eq_ignore_ascii_case("none") {
        return (
            None,
            format!("no hit model ({HIT_MODEL_ENV}=none): drum notes follow the drum tags"),
        );
    }
    let check = |m: Arc<Model>| {
        audio_mamba_engine::hits::HitClassifier::check(&m)
            .map(|()| m)
            .map_err(|e| e.to_string())
    };
    let mut problem = String::new();
    if !env.is_empty() {
        match from_file(Path::new(env)).and_then(check) {
            Ok(m) => {
                let line = format!("hit model {} from {HIT_MODEL_ENV}", m.config().name);
                return (Some(m), line);
            }
            Err(e) => problem = format!("; ignored {e}"),
        }
    }
    let embedded = audio_mamba_engine::embedded::hits().map(|bytes| {
        cached(Key::EmbeddedHits, || {
            Model::from_bytes(bytes).map_err(|e| format!("embedded hit model: {e}"))
        })
        .and_then(check)
    });
    match embedded {
        Some(Ok(m)) => {
            let line = format!(
                "hit model {} {}{problem}",
                m.config().name,
                m.config().version
            );
            (Some(m), line)
        }
        Some(Err(e)) => (
            None,
            format!("no hit model ({e}): drum notes follow the drum tags{problem}"),
        ),
        None => (
            None,
            format!("no hit model in this build: drum notes follow the drum tags{problem}"),
        ),
    }
}

fn describe(model: &Model, source: &str, problems: &[String]) -> String {
    let cfg = model.config();
    let mut s = format!(
        "{} {} ({} labels, {:.2} s window) from {source}",
        cfg.name,
        cfg.version,
        cfg.num_classes(),
        cfg.clip_seconds()
    );
    for p in problems {
        s.push_str("; ignored ");
        s.push_str(p);
    }
    s
}

fn no_model(problems: Vec<String>) -> Loaded {
    let mut message = format!(
        "no model: audio passes through without tags (this build has no embedded model; set \
         {MODEL_ENV} to a .safetensors file)"
    );
    for p in problems {
        message.push_str("; ");
        message.push_str(&p);
    }
    Loaded {
        model: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/golden-a.safetensors")
    }

    #[test]
    fn same_file_is_loaded_once() {
        let a = from_file(&golden()).unwrap();
        let b = from_file(&golden()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    fn corrupt_file() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("am-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let corrupt = dir.join("corrupt.safetensors");
        std::fs::write(&corrupt, b"not a model").unwrap();
        corrupt
    }

    static GOLDEN_B: &[u8] = include_bytes!("../../tests/golden/golden-b.safetensors");

    #[test]
    fn bad_saved_path_is_reported_and_skipped() {
        let corrupt = corrupt_file();
        let corrupt = corrupt.to_str().unwrap();
        // with a good embedded model, the bad file is reported and the embedded one used
        let loaded = resolve_from(corrupt, "", Some(GOLDEN_B));
        let model = loaded.model.expect("the embedded model");
        assert!(
            model.config().name.contains("golden-b"),
            "{}",
            model.config().name
        );
        assert!(
            loaded.message.contains("from embedded model"),
            "{}",
            loaded.message
        );
        assert!(
            loaded.message.contains("ignored model file"),
            "{}",
            loaded.message
        );
        assert!(
            loaded.message.contains("corrupt.safetensors"),
            "{}",
            loaded.message
        );
        // then the environment's file comes before the embedded model
        let env = resolve_from(corrupt, golden().to_str().unwrap(), Some(GOLDEN_B));
        assert!(env.message.contains(MODEL_ENV), "{}", env.message);
        assert!(!env.model.unwrap().config().name.contains("golden-b"));
        // with nothing else to use, no model, and every problem said
        let none = resolve_from(corrupt, "", None);
        assert!(none.model.is_none());
        assert!(none.message.starts_with("no model"), "{}", none.message);
        assert!(
            none.message.contains("corrupt.safetensors"),
            "{}",
            none.message
        );
        // an embedded model that does not load is one more problem, not a panic
        static BROKEN: &[u8] = b"not a model either";
        let broken = resolve_from("", "", Some(BROKEN));
        assert!(broken.model.is_none());
        assert!(
            broken.message.contains("embedded model:"),
            "{}",
            broken.message
        );
        // a good saved path wins
        let good = resolve_from(golden().to_str().unwrap(), "", Some(GOLDEN_B));
        assert!(good.model.is_some());
        assert!(
            good.message.contains("saved model path"),
            "{}",
            good.message
        );
    }

    #[test]
    fn none_turns_the_tagger_off_whatever_else_there_is() {
        let loaded = resolve_from(golden().to_str().unwrap(), " None ", Some(GOLDEN_B));
        assert!(loaded.model.is_none());
        assert!(
            loaded.message.contains("AUDIO_MAMBA_MODEL=none"),
            "{}",
            loaded.message
        );
    }
}
