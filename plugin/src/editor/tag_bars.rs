//! The current tags, most probable first: a bar per tag with its threshold marked and a lamp
//! that is lit while the tag's note (or gate) is on.

use crate::analyzer::effective_threshold;
use crate::params::PluginParams;
use crate::status::Status;
use egui::{self, Color32, Sense, Stroke, StrokeKind};
use std::sync::atomic::Ordering;

/// Tags listed at most.
const SHOWN: usize = 10;

/// Named slots by current probability, highest first, at most [`SHOWN`].
pub fn rows(status: &Status, names: &[String]) -> Vec<(usize, f32)> {
    let mut rows: Vec<(usize, f32)> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| !n.is_empty())
        .map(|(i, _)| (i, status.prob(i)))
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    rows.truncate(SHOWN);
    rows
}

pub fn show(ui: &mut egui::Ui, status: &Status, params: &PluginParams, names: &[String]) {
    let gates = status.gates.load(Ordering::Relaxed);
    let sensitivity = params.sensitivity.value();
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    for (slot, p) in rows(status, names) {
        let tag = params.row(slot);
        let on = gates & (1 << slot) != 0 && tag.enabled.value();
        let thr = effective_threshold(tag.threshold.value(), sensitivity);
        ui.horizontal(|ui| {
            let (lamp, _) = ui.allocate_exact_size(egui::vec2(row_h, row_h), Sense::hover());
            let c = lamp.center();
            if on {
                ui.painter()
                    .circle_filled(c, row_h * 0.3, Color32::from_rgb(255, 196, 0));
            } else {
                ui.painter()
                    .circle_stroke(c, row_h * 0.3, Stroke::new(1.0, Color32::GRAY));
            }
            let width = (ui.available_width() * 0.5).max(60.0);
            let (bar, resp) =
                ui.allocate_exact_size(egui::vec2(width, row_h - 4.0), Sense::hover());
            let painter = ui.painter();
            painter.rect_filled(bar, 2.0, Color32::from_gray(40));
            let mut fill = bar;
            fill.set_width(bar.width() * p.clamp(0.0, 1.0));
            let colour = if p >= thr {
                Color32::from_rgb(90, 200, 120)
            } else {
                Color32::from_rgb(70, 110, 170)
            };
            painter.rect_filled(fill, 2.0, colour);
            let x = bar.left() + bar.width() * thr;
            painter.line_segment(
                [egui::pos2(x, bar.top()), egui::pos2(x, bar.bottom())],
                Stroke::new(2.0, Color32::WHITE),
            );
            painter.rect_stroke(
                bar,
                2.0,
                Stroke::new(1.0, Color32::from_gray(90)),
                StrokeKind::Inside,
            );
            resp.on_hover_text(format!("threshold {thr:.2} (sensitivity applied)"));
            ui.label(format!("{:.2}  {}", p, names[slot]));
        });
    }
}
