//! The Learn panel: pick a learned slot, name it, arm it ("Listen"), hold "This is it" while
//! the sound plays, then "Learn". Arming and marking are parameters ("Learn into", "Learn: this
//! is it"), set through the host like any edit, so the worker follows them sample-block exact
//! and a host or a test can drive the same flow; the name and kind go straight to the bank.
//! A slot's tag can also be loaded from or saved to a tag file (`amtag learn`'s format).

use crate::learned::{KindChoice, LearnedBank, Slot};
use crate::params::PluginParams;
use crate::tags::LEARNED;
use egui::{self, Color32};
use nice_plug::prelude::{Param, ParamSetter};

/// What the panel keeps between frames.
#[derive(Default)]
pub struct LearnPanel {
    /// The slot the panel works on (0-based).
    pub selected: usize,
    /// The name being typed, until it is committed to the bank.
    editing: Option<String>,
    /// A tag file to load into the slot or save it to, and what the last try said.
    file: String,
    file_outcome: Option<Result<String, String>>,
}

fn set<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// What the panel says about slot `j`: the lesson under way, or its tag's state.
pub fn describe(slot: &Slot, armed: bool) -> String {
    if armed {
        return "listening: hold \"This is it\" while the sound plays (a few times), then Learn"
            .into();
    }
    if slot.learning {
        return "learning...".into();
    }
    match (&slot.tag, &slot.problem) {
        (_, Some(p)) => format!("not used: {p}"),
        (Some(_), None) if !slot.news.is_empty() => slot.news.clone(),
        (Some(t), None) => crate::learned::describe(t),
        (None, None) if !slot.news.is_empty() => slot.news.clone(),
        (None, None) => "empty: press Listen, play the material and mark the sound".into(),
    }
}

impl LearnPanel {
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        params: &PluginParams,
        setter: &ParamSetter,
        bank: &LearnedBank,
    ) {
        let slots = bank.slots();
        let into = params.learn_into.value();
        let armed = usize::try_from(into - 1).ok();
        if let Some(a) = armed {
            self.selected = a;
        }
        let j = self.selected.min(LEARNED - 1);
        ui.horizontal(|ui| {
            egui::ComboBox::from_id_salt("learn-slot")
                .selected_text(format!("{}: {}", j + 1, slots[j].title(j)))
                .show_ui(ui, |ui| {
                    for (k, s) in slots.iter().enumerate() {
                        let text = format!("{}: {}", k + 1, s.title(k));
                        if ui.selectable_label(k == j, text).clicked() && armed.is_none() {
                            self.selected = k;
                            self.editing = None;
                        }
                    }
                });
            let name = self.editing.get_or_insert_with(|| slots[j].title(j));
            let r = ui.add(egui::TextEdit::singleline(name).desired_width(140.0));
            if r.lost_focus() {
                bank.set_name(j, name.trim());
            }
            if !r.has_focus() {
                // Shown afresh next frame (a lesson may rename the slot meanwhile).
                self.editing = None;
            }
            let mut kind = slots[j].kind;
            egui::ComboBox::from_id_salt("learn-kind")
                .selected_text(kind.label())
                .show_ui(ui, |ui| {
                    for k in KindChoice::ALL {
                        ui.selectable_value(&mut kind, k, k.label());
                    }
                });
            if kind != slots[j].kind {
                bank.set_kind(j, kind);
            }
        });
        ui.horizontal(|ui| {
            match armed {
                None => {
                    let listen = ui.button("Listen").on_hover_text(
                        "arm this slot: what plays from now on (30 s at most) is the lesson",
                    );
                    if listen.clicked() {
                        set(setter, &params.learn_into, j as i32 + 1);
                    }
                }
                Some(_) => {
                    // A press-and-hold control: one host gesture from press to release.
                    let held = params.learn_mark.value();
                    let button = egui::Button::new("This is it").fill(if held {
                        Color32::from_rgb(230, 140, 30)
                    } else {
                        ui.visuals().widgets.inactive.bg_fill
                    });
                    let r = ui.add(button.sense(egui::Sense::click_and_drag()));
                    let down = r.is_pointer_button_down_on();
                    if down && !held {
                        setter.begin_set_parameter(&params.learn_mark);
                        setter.set_parameter(&params.learn_mark, true);
                    } else if !down && held {
                        setter.set_parameter(&params.learn_mark, false);
                        setter.end_set_parameter(&params.learn_mark);
                    }
                    if ui
                        .button("Learn")
                        .on_hover_text("learn from what played: the marked spans against the rest")
                        .clicked()
                    {
                        set(setter, &params.learn_into, 0);
                    }
                }
            }
            if armed.is_none() && slots[j].tag.is_some() && ui.button("Forget").clicked() {
                bank.forget(j);
                self.editing = None;
            }
        });
        // Tag files: the format `amtag learn` writes and `amtag tag --learned` reads.
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.file)
                    .hint_text("tag file (.json)")
                    .desired_width((ui.available_width() - 110.0).max(100.0)),
            );
            let path = std::path::PathBuf::from(self.file.trim());
            let given = |r: Result<String, String>| {
                if path.as_os_str().is_empty() {
                    Err("no file given".to_string())
                } else {
                    r
                }
            };
            if ui.button("Load").clicked() {
                self.file_outcome = Some(given(bank.load_file(j, &path)));
            }
            if ui.button("Save").clicked() {
                self.file_outcome = Some(given(bank.save_file(j, &path)));
            }
        });
        match &self.file_outcome {
            Some(Ok(m)) => {
                ui.label(m);
            }
            Some(Err(e)) => {
                ui.colored_label(Color32::from_rgb(255, 110, 90), e);
            }
            None => {}
        }
        let text = describe(&slots[j], armed.is_some());
        let colour = if slots[j].problem.is_some() || text.starts_with("not learned") {
            Color32::from_rgb(230, 160, 60)
        } else {
            ui.visuals().text_color()
        };
        ui.colored_label(colour, text);
        if let Some(n) = bank.notice() {
            ui.colored_label(Color32::from_rgb(230, 160, 60), n);
        }
    }
}
