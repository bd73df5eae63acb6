//! Choosing a model file: a path field and a Load button. The file is loaded (and checked) here
//! first; only a model that loads is saved as the instance's path and the host asked to restart
//! the plugin with it, so a bad file leaves the current model running and says why.

use crate::model_store;
use crate::params::PluginParams;
use audio_mamba_engine::Model;
use egui::{self, Color32};
use nice_plug::context::gui::GuiContext;
use std::sync::Arc;

#[derive(Default)]
pub struct Loader {
    path: String,
    outcome: Option<Result<String, String>>,
    /// Holds the checked model until the restart picks it up from the process-wide cache.
    _loaded: Option<Arc<Model>>,
}

impl Loader {
    /// Loads `path`; on success it becomes the instance's model path.
    pub fn load(&mut self, params: &PluginParams, path: &str) -> Result<String, String> {
        let path = path.trim();
        if path.is_empty() {
            return Err("no file given".into());
        }
        let model = model_store::load_file(std::path::Path::new(path))?;
        let cfg = model.config();
        let line = format!(
            "{} ({} labels, {:.2} s window): analysis restarts with it",
            cfg.name,
            cfg.num_classes(),
            cfg.clip_seconds()
        );
        *params.model_path.write().unwrap_or_else(|p| p.into_inner()) = path.to_string();
        self._loaded = Some(model);
        Ok(line)
    }
}

pub fn show(ui: &mut egui::Ui, loader: &mut Loader, params: &PluginParams, gui: &GuiContext) {
    ui.label("Model file");
    ui.horizontal(|ui| {
        let field = ui.add(
            egui::TextEdit::singleline(&mut loader.path)
                .hint_text("path to a .safetensors model")
                .desired_width((ui.available_width() - 170.0).max(120.0)),
        );
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Load").clicked() || enter {
            let path = loader.path.clone();
            let outcome = loader.load(params, &path);
            if outcome.is_ok() {
                gui.request_restart();
            }
            loader.outcome = Some(outcome);
        }
        if ui
            .button("Embedded")
            .on_hover_text("back to the built-in model")
            .clicked()
        {
            params
                .model_path
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
            gui.request_restart();
            loader.outcome = Some(Ok("embedded model: analysis restarts with it".into()));
        }
    });
    match &loader.outcome {
        Some(Ok(m)) => {
            ui.label(m);
        }
        Some(Err(e)) => {
            ui.colored_label(
                Color32::from_rgb(255, 110, 90),
                format!("not loaded, the current model keeps running: {e}"),
            );
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_is_reported_and_keeps_the_saved_path() {
        let params = PluginParams::new(&[]);
        *params.model_path.write().unwrap() = "/models/good.safetensors".into();
        let bad = std::env::temp_dir().join(format!("am-bad-{}.safetensors", std::process::id()));
        std::fs::write(&bad, b"not a model").unwrap();
        let mut l = Loader::default();
        let e = l.load(&params, bad.to_str().unwrap()).unwrap_err();
        assert!(e.contains(bad.to_str().unwrap()), "{e}");
        assert_eq!(
            *params.model_path.read().unwrap(),
            "/models/good.safetensors"
        );
        assert!(l.load(&params, "  ").is_err());
        std::fs::remove_file(bad).ok();
    }

    #[test]
    fn a_good_file_becomes_the_instance_model_path() {
        let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/golden/golden-a.safetensors");
        let params = PluginParams::new(&[]);
        let mut l = Loader::default();
        let line = l.load(&params, good.to_str().unwrap()).unwrap();
        assert!(line.contains("restarts"), "{line}");
        assert_eq!(*params.model_path.read().unwrap(), good.to_str().unwrap());
    }
}
