//! The mapping table (one row per tag: on, threshold, note, CC) and the global settings. Every
//! edit goes through the host's parameter setter, so the host records it as automation. egui's
//! widgets take keyboard focus with Tab; Space toggles a checkbox and a focused number accepts
//! typing and the arrow keys.

use crate::params::{PluginParams, OFF};
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
    let r = ui.add(
        egui::DragValue::new(&mut v)
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

pub fn table(ui: &mut egui::Ui, params: &PluginParams, setter: &ParamSetter, names: &[String]) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("mapping")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for h in ["Tag", "On", "Threshold", "Note", "CC"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (slot, name) in names.iter().enumerate() {
                        if name.is_empty() {
                            continue;
                        }
                        let t = &params.tags[slot];
                        ui.label(name);
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
                        ui.end_row();
                    }
                });
        });
}
