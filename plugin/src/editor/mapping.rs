//! The mapping table (one row per tag: on, threshold, note, CC) and the global settings. Every
//! edit goes through the host's parameter setter, so the host records it as automation. egui's
//! widgets take keyboard focus with Tab; Space toggles a checkbox and a focused number accepts
//! typing and the arrow keys.

use crate::params::{PluginParams, OFF};
use crate::tags::SLOTS;
use nice_plug::prelude::{IntParam, Param, ParamSetter};
use nice_plug_egui::widgets::ParamSlider;

/// One host gesture per change.
fn set<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

fn off_or(v: f64) -> String {
    if v < 0.0 {
        "Off".into()
    } else {
        format!("{v:.0}")
    }
}

fn parse_off_or(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        Some(OFF as f64)
    } else {
        s.parse().ok()
    }
}

/// A note or CC number field: "Off" or 0..=max.
fn off_or_number(ui: &mut egui::Ui, setter: &ParamSetter, param: &IntParam, max: i32) {
    let mut v = param.value();
    // egui's integer default speed (0.25) rounds an arrow-key step back to the same number.
    let r = ui.add(
        egui::DragValue::new(&mut v)
            .speed(1.0)
            .range(OFF..=max)
            .custom_formatter(|v, _| off_or(v))
            .custom_parser(parse_off_or),
    );
    if r.changed() {
        set(setter, param, v);
    }
}

pub fn globals(ui: &mut egui::Ui, params: &PluginParams, setter: &ParamSetter) {
    egui::Grid::new("globals").num_columns(2).show(ui, |ui| {
        ui.label("Sensitivity");
        ui.add(ParamSlider::for_param(&params.sensitivity, setter));
        ui.end_row();
        ui.label("Hop");
        ui.add(ParamSlider::for_param(&params.hop, setter));
        ui.end_row();
        ui.label("Window");
        ui.add(ParamSlider::for_param(&params.window, setter));
        ui.end_row();
        ui.label("MIDI channel");
        ui.add(ParamSlider::for_param(&params.midi_channel, setter));
        ui.end_row();
        ui.label("Latency compensation");
        let mut on = params.latency_compensation.value();
        if ui.checkbox(&mut on, "").changed() {
            set(setter, &params.latency_compensation, on);
        }
        ui.end_row();
    });
}

/// One row per named row of `names` (model slots, then learned slots); `notes` says why a
/// row's tag is not used (a learned tag from another model), shown beside it.
pub fn table(
    ui: &mut egui::Ui,
    params: &PluginParams,
    setter: &ParamSetter,
    names: &[String],
    notes: &[String],
) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("mapping")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for h in ["Tag", "On", "Threshold", "Note", "CC", ""] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    // The producer's own (learned) rows first: they are what was just made.
                    let order = (SLOTS..names.len()).chain(0..SLOTS.min(names.len()));
                    for slot in order {
                        let name = &names[slot];
                        if name.is_empty() {
                            continue;
                        }
                        let t = params.row(slot);
                        if slot >= SLOTS {
                            ui.label(format!("{name} (learned)"));
                        } else {
                            ui.label(name);
                        }
                        let mut on = t.enabled.value();
                        if ui.checkbox(&mut on, "").on_hover_text("tag on").changed() {
                            set(setter, &t.enabled, on);
                        }
                        let mut thr = t.threshold.value();
                        let r = ui.add(
                            egui::DragValue::new(&mut thr)
                                .range(0.01..=0.99)
                                .speed(0.005)
                                .fixed_decimals(2),
                        );
                        if r.changed() {
                            set(setter, &t.threshold, thr);
                        }
                        off_or_number(ui, setter, &t.note, 127);
                        off_or_number(ui, setter, &t.cc, 119);
                        match notes.get(slot).filter(|n| !n.is_empty()) {
                            Some(n) => ui.colored_label(egui::Color32::from_rgb(230, 160, 60), n),
                            None => ui.label(""),
                        };
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use audio_mamba_engine::Label;
    use nice_plug::context::gui::GuiContextInner;
    use nice_plug::prelude::{ParamPtr, PluginApi, PluginState};
    use std::sync::Mutex;

    /// The host side of the parameter setter: records what the editor asks the host to set.
    #[derive(Default)]
    struct Host {
        set: Mutex<Vec<(ParamPtr, f32)>>,
        gestures: Mutex<i32>,
    }

    impl GuiContextInner for Host {
        fn plugin_api(&self) -> PluginApi {
            PluginApi::Clap
        }
        unsafe fn raw_begin_set_parameter(&self, _: ParamPtr) {
            *self.gestures.lock().unwrap() += 1;
        }
        unsafe fn raw_set_parameter_normalized(&self, p: ParamPtr, v: f32) {
            self.set.lock().unwrap().push((p, v));
        }
        unsafe fn raw_end_set_parameter(&self, _: ParamPtr) {
            *self.gestures.lock().unwrap() -= 1;
        }
        fn get_state(&self) -> PluginState {
            unreachable!("the mapping table does not read the state")
        }
        fn set_state(&self, _: PluginState) {}
        fn request_restart(&self) {}
    }

    /// One frame of the UI on an 800 x 600 screen with these input events.
    fn run_frame(ctx: &egui::Context, events: Vec<egui::Event>, ui: impl FnMut(&mut egui::Ui)) {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(800.0, 600.0),
            )),
            events,
            ..Default::default()
        };
        let _ = ctx.run_ui(input, ui);
    }

    fn key(key: egui::Key) -> egui::Event {
        egui::Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        }
    }

    /// The table works from the keyboard alone: Tab walks a row's fields in order and on to the
    /// next row, Space toggles a checkbox, the arrow keys step a number and typing replaces it;
    /// each change reaches the host as one complete gesture.
    #[test]
    fn the_table_is_usable_with_the_keyboard() {
        let labels = [
            Label {
                name: "Bass drum".into(),
                mid: "/m/0bm02".into(),
            },
            Label {
                name: "Speech".into(),
                mid: "/m/09x0r".into(),
            },
        ];
        let params = PluginParams::new(&labels);
        let mut names = vec![String::new(); SLOTS];
        names[0] = "Bass drum".into();
        names[1] = "Speech".into();
        let host = Host::default();
        let setter = ParamSetter::new(&host);
        let ctx = egui::Context::default();
        let frame = |events| run_frame(&ctx, events, |ui| table(ui, &params, &setter, &names, &[]));
        let last = || host.set.lock().unwrap().last().copied();
        frame(vec![]);
        frame(vec![key(egui::Key::Tab)]);
        frame(vec![key(egui::Key::Space)]);
        frame(vec![]);
        let kick = &params.tags[0];
        assert_eq!(
            last(),
            Some((kick.enabled.as_ptr(), 0.0)),
            "Space turns the first tag off"
        );

        frame(vec![key(egui::Key::Tab)]);
        frame(vec![key(egui::Key::ArrowUp)]);
        frame(vec![]);
        let (p, v) = last().unwrap();
        assert_eq!(p, kick.threshold.as_ptr(), "Tab reaches the threshold");
        assert!(
            v > kick.threshold.unmodulated_normalized_value(),
            "ArrowUp raises it"
        );

        frame(vec![key(egui::Key::Tab)]);
        frame(vec![key(egui::Key::ArrowUp)]);
        frame(vec![]);
        assert_eq!(
            last(),
            Some((kick.note.as_ptr(), kick.note.preview_normalized(37))),
            "Tab reaches the note and ArrowUp steps it from 36 to 37"
        );

        frame(vec![key(egui::Key::Tab)]);
        frame(vec![egui::Event::Text("64".into())]);
        frame(vec![key(egui::Key::Tab)]);
        frame(vec![]);
        assert_eq!(
            last(),
            Some((kick.cc.as_ptr(), kick.cc.preview_normalized(64))),
            "Tab reaches the CC; a typed number replaces it and is applied when Tab leaves it"
        );

        frame(vec![key(egui::Key::Space)]);
        frame(vec![]);
        assert_eq!(
            last(),
            Some((params.tags[1].enabled.as_ptr(), 0.0)),
            "Tab goes on to the next row"
        );

        assert_eq!(*host.gestures.lock().unwrap(), 0, "every gesture was ended");
    }

    /// A learned tag's row comes first and drives its own parameters.
    #[test]
    fn a_learned_row_comes_first_with_its_own_controls() {
        let params = PluginParams::new(&[]);
        let mut names = vec![String::new(); crate::tags::ROWS];
        names[0] = "Bass drum".into();
        names[SLOTS + 2] = "my snare".into();
        let host = Host::default();
        let setter = ParamSetter::new(&host);
        let ctx = egui::Context::default();
        for events in [
            vec![],
            vec![key(egui::Key::Tab)],
            vec![key(egui::Key::Space)],
            vec![],
        ] {
            run_frame(&ctx, events, |ui| table(ui, &params, &setter, &names, &[]));
        }
        let set = host.set.lock().unwrap();
        assert_eq!(
            set.last().copied(),
            Some((params.learned.slots[2].enabled.as_ptr(), 0.0))
        );
    }
}
