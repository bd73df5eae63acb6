//! The editor (egui through nice-plug-egui): live tags, a 30 s timeline, the mapping table, the
//! model file and a status line. It reads `Status` and the timeline ring and writes parameters
//! through the host's setter, so edits are recorded as automation; nothing on the audio thread
//! or in the worker depends on it.

mod learn_panel;
mod mapping;
mod model_file;
mod status_line;
mod tag_bars;
mod timeline_view;

use crate::params::PluginParams;
use crate::status::Status;
use crate::tags::{LEARNED, ROWS, SLOTS};
use crate::timeline::{History, LessonPart};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::ResizeHint;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Logical size the editor opens at.
pub const SIZE: (f32, f32) = (900.0, 880.0);

/// Environment variable naming a file the editor rewrites every half second with what it shows
/// (JSON): how GUI tests read back the editor's state.
pub const TRACE_ENV: &str = "AUDIO_MAMBA_EDITOR_TRACE";

pub fn state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(SIZE.0, SIZE.1), 1.0)
}

pub fn create(
    params: Arc<PluginParams>,
    status: Arc<Status>,
    state: Arc<EguiEditorState>,
) -> Option<EguiEditor<EditorApp>> {
    let settings = EguiNiceSettings::new()
        .with_tile("Audio Mamba")
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(560.0, 420.0)),
        );
    nice_plug_egui::create_egui_editor(
        state,
        nice_plug_egui::RepaintNotifier::new(),
        settings,
        EditorApp {
            params,
            status,
            history: History::default(),
            model_file: model_file::Loader::default(),
            learn: learn_panel::LearnPanel::default(),
            gui: None,
            trace_path: std::env::var_os(TRACE_ENV).map(PathBuf::from),
            traced: None,
        },
    )
}

pub struct EditorApp {
    params: Arc<PluginParams>,
    status: Arc<Status>,
    history: History,
    model_file: model_file::Loader,
    learn: learn_panel::LearnPanel,
    gui: Option<GuiContext>,
    /// Where [`TRACE_ENV`] asked the editor to write its trace (read once, when it opens).
    trace_path: Option<PathBuf>,
    traced: Option<Instant>,
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        if let Ok(mut rx) = self.status.timeline.try_lock() {
            if let Some(rx) = rx.as_mut() {
                self.history.drain(rx);
            }
        }
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let (names, notes) = self.row_names();
        egui::CentralPanel::default().show(ui, |ui| {
            status_line::show(ui, &self.status);
            ui.separator();
            ui.columns(2, |cols| {
                cols[0].heading("Now");
                tag_bars::show(&mut cols[0], &self.status, &self.params, &names);
                cols[1].heading("Settings");
                mapping::globals(&mut cols[1], &self.params, &setter);
                model_file::show(&mut cols[1], &mut self.model_file, &self.params, &gui);
                cols[1].heading("Learn a sound");
                self.learn.show(
                    &mut cols[1],
                    &self.params,
                    &setter,
                    &self.params.learned_tags,
                );
            });
            ui.separator();
            ui.heading("Last 30 s");
            timeline_view::show(ui, &self.history, &names);
            ui.separator();
            ui.heading("Mapping");
            mapping::table(ui, &self.params, &setter, &names, &notes);
        });
        self.trace(&names);
        ui.ctx().request_repaint_after(Duration::from_millis(50));
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

impl EditorApp {
    /// Every row's name (the model's labels in their slots, then the learned tags; "" for an
    /// empty row) and why a row's tag is not used ("" when it is).
    fn row_names(&self) -> (Vec<String>, Vec<String>) {
        let mut names = self.status.slot_names.load_full().as_ref().clone();
        names.resize(SLOTS, String::new());
        let mut notes = vec![String::new(); ROWS];
        for (j, s) in self.params.learned_tags.slots().iter().enumerate() {
            names.push(if s.tag.is_some() {
                s.title(j)
            } else {
                String::new()
            });
            notes[SLOTS + j] = s
                .problem
                .clone()
                .map_or(String::new(), |p| format!("not used: {p}"));
        }
        debug_assert_eq!(names.len(), SLOTS + LEARNED);
        (names, notes)
    }

    /// Writes what the editor shows now (tags in display order, timeline length) to the file
    /// named by [`TRACE_ENV`], when there is one.
    fn trace(&mut self, names: &[String]) {
        let Some(path) = self.trace_path.as_deref() else {
            return;
        };
        if self
            .traced
            .is_some_and(|t| t.elapsed() < Duration::from_millis(500))
        {
            return;
        }
        self.traced = Some(Instant::now());
        let shown: Vec<_> = tag_bars::rows(&self.status, names)
            .into_iter()
            .map(|(slot, p)| serde_json::json!([names[slot], p]))
            .collect();
        let marks = self.history.frames().flat_map(|f| f.hit_marks());
        let (drum_marks, other_marks) =
            marks.fold(
                (0, 0),
                |(d, o), m| {
                    if m.fired != 0 {
                        (d + 1, o)
                    } else {
                        (d, o + 1)
                    }
                },
            );
        let learned: Vec<_> = self
            .params
            .learned_tags
            .slots()
            .iter()
            .enumerate()
            .map(|(j, s)| {
                serde_json::json!({
                    "slot": j + 1, "title": s.title(j), "learned": s.tag.is_some(),
                    "kind": s.tag.as_ref().map(|t| t.kind.to_string()),
                    "shown": learn_panel::describe(s, false), "problem": s.problem,
                })
            })
            .collect();
        let lesson = |part| {
            self.history
                .frames()
                .filter(|f| f.lesson == part)
                .fold(0.0, |sum, f| sum + f.end - f.start)
        };
        let v = serde_json::json!({
            "tags": shown,
            "learned": learned,
            "learn_into": self.params.learn_into.value(),
            "timeline_marked_seconds": lesson(LessonPart::Marked),
            "timeline_heard_seconds": lesson(LessonPart::Heard),
            "timeline_frames": self.history.len(),
            "timeline_drum_hits": drum_marks,
            "timeline_other_onsets": other_marks,
            "timeline_rows": timeline_view::rows(&self.history, names).len(),
            "timeline_row_names": timeline_view::rows(&self.history, names)
                .iter()
                .map(|&i| names[i].clone())
                .collect::<Vec<_>>(),
            "mapping_rows": names.iter().filter(|n| !n.is_empty()).collect::<Vec<_>>(),
            "status": status_line::text(&self.status),
        });
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, v.to_string()).is_ok() {
            let _ = std::fs::rename(tmp, path);
        }
    }
}
