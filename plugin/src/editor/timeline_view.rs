//! The last 30 s as a heat map: one row per active tag, time running right, brightness the
//! framewise probability, with a tick where the tag's note fired: each classified drum hit is
//! marked on the row of the drum it was (a hit that was no drum, as a short grey tick under
//! the rows).

use crate::tags::SLOTS;
use crate::timeline::{History, LessonPart, SPAN_SECONDS};
use egui::{self, Color32, Sense, Stroke};

/// A slot is drawn when it reached this probability within the span.
const ACTIVE: f32 = 0.1;
const MAX_ROWS: usize = 8;

/// Rows shown, in row order: named ones that reached [`ACTIVE`]; when too many, learned rows
/// and then the strongest.
pub fn rows(history: &History, names: &[String]) -> Vec<usize> {
    let peaks = history.peaks();
    let mut rows: Vec<usize> = (0..names.len().min(peaks.len()))
        .filter(|&i| !names[i].is_empty() && peaks[i] >= ACTIVE)
        .collect();
    if rows.len() > MAX_ROWS {
        // The producer's own (learned) rows first, then the strongest.
        rows.sort_by(|&a, &b| {
            (b >= SLOTS)
                .cmp(&(a >= SLOTS))
                .then(peaks[b].total_cmp(&peaks[a]))
        });
        rows.truncate(MAX_ROWS);
        rows.sort_unstable();
    }
    rows
}

/// Dark blue through magenta to yellow.
fn heat(p: f32) -> Color32 {
    let p = p.clamp(0.0, 1.0);
    let stops = [
        (16.0, 18.0, 40.0),
        (170.0, 40.0, 140.0),
        (255.0, 220.0, 60.0),
    ];
    let (a, b, t) = if p < 0.5 {
        (stops[0], stops[1], p * 2.0)
    } else {
        (stops[1], stops[2], p * 2.0 - 1.0)
    };
    let mix = |x: f32, y: f32| (x + (y - x) * t) as u8;
    Color32::from_rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

pub fn show(ui: &mut egui::Ui, history: &History, names: &[String]) {
    let rows = rows(history, names);
    let row_h = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let label_w = 130.0;
    let height = row_h * rows.len().max(1) as f32 + row_h;
    let (rect, _) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    let plot = egui::Rect::from_min_max(
        egui::pos2(rect.left() + label_w, rect.top()),
        egui::pos2(rect.right(), rect.bottom() - row_h),
    );
    painter.rect_filled(plot, 0.0, heat(0.0));
    if rows.is_empty() {
        painter.text(
            plot.center(),
            egui::Align2::CENTER_CENTER,
            "no tag above 0.1 yet",
            egui::FontId::proportional(row_h * 0.7),
            Color32::GRAY,
        );
    }
    let now = history.now();
    let x_of = |t: f64| plot.right() - ((now - t) / SPAN_SECONDS) as f32 * plot.width();
    for (r, &slot) in rows.iter().enumerate() {
        let top = plot.top() + r as f32 * row_h;
        painter.text(
            egui::pos2(rect.left(), top + row_h * 0.5),
            egui::Align2::LEFT_CENTER,
            &names[slot],
            egui::FontId::proportional(row_h * 0.7),
            ui.visuals().text_color(),
        );
        for f in history.frames() {
            let (x0, x1) = (x_of(f.start).max(plot.left()), x_of(f.end));
            if x1 <= plot.left() {
                continue;
            }
            let cell = egui::Rect::from_min_max(
                egui::pos2(x0, top),
                egui::pos2(x1.max(x0 + 1.0), top + row_h - 1.0),
            );
            painter.rect_filled(cell, 0.0, heat(f.probs[slot]));
            let tick = |x: f32| {
                painter.line_segment(
                    [egui::pos2(x, top), egui::pos2(x, top + row_h - 1.0)],
                    Stroke::new(2.0, Color32::WHITE),
                )
            };
            let on_hits = f.hit_marks().iter().filter(|m| m.fired & (1 << slot) != 0);
            let mut marked = false;
            for m in on_hits {
                tick(x_of(m.at));
                marked = true;
            }
            if !marked && f.fired & (1 << slot) != 0 {
                tick(x0);
            }
        }
    }
    // A lesson being recorded: a strip along the top, bright where "This is it" was held.
    for f in history.frames().filter(|f| f.lesson != LessonPart::None) {
        let (x0, x1) = (x_of(f.start).max(plot.left()), x_of(f.end));
        if x1 <= plot.left() {
            continue;
        }
        let marked = f.lesson == LessonPart::Marked;
        let strip = egui::Rect::from_min_max(
            egui::pos2(x0, plot.top()),
            egui::pos2(x1.max(x0 + 1.0), plot.top() + 4.0),
        );
        let colour = if marked {
            Color32::from_rgb(255, 150, 30)
        } else {
            Color32::from_rgb(110, 80, 50)
        };
        painter.rect_filled(strip, 0.0, colour);
        if marked {
            let band = egui::Rect::from_min_max(
                strip.left_top(),
                egui::pos2(strip.right(), plot.bottom()),
            );
            painter.rect_filled(band, 0.0, Color32::from_rgba_unmultiplied(255, 150, 30, 70));
        }
    }
    for f in history.frames() {
        for m in f.hit_marks().iter().filter(|m| m.fired == 0) {
            let x = x_of(m.at);
            if x > plot.left() {
                painter.line_segment(
                    [
                        egui::pos2(x, plot.bottom() - 4.0),
                        egui::pos2(x, plot.bottom()),
                    ],
                    Stroke::new(1.0, Color32::GRAY),
                );
            }
        }
    }
    for s in (0..=SPAN_SECONDS as i32).step_by(5) {
        let x = plot.right() - s as f32 / SPAN_SECONDS as f32 * plot.width();
        painter.line_segment(
            [
                egui::pos2(x, plot.bottom()),
                egui::pos2(x, plot.bottom() + 4.0),
            ],
            Stroke::new(1.0, Color32::GRAY),
        );
        painter.text(
            egui::pos2(x, plot.bottom() + 4.0),
            egui::Align2::CENTER_TOP,
            if s == 0 {
                "now".to_string()
            } else {
                format!("-{s} s")
            },
            egui::FontId::proportional(row_h * 0.6),
            Color32::GRAY,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::ROWS;
    use crate::timeline::Frame;

    /// One second of stream with these probabilities.
    fn second(probs: [f32; ROWS]) -> Frame {
        Frame {
            start: 0.0,
            end: 1.0,
            probs,
            gates: 0,
            fired: 0,
            hits: Default::default(),
            n_hits: 0,
            continues: false,
            lesson: LessonPart::None,
        }
    }

    #[test]
    fn rows_are_the_named_slots_that_reached_the_floor() {
        let mut h = History::default();
        let mut probs = [0.0; ROWS];
        probs[1] = 0.5;
        probs[2] = 0.05;
        probs[3] = 0.9;
        h.push(second(probs));
        let mut names = vec![String::new(); SLOTS];
        names[1] = "Speech".into();
        names[2] = "Music".into();
        assert_eq!(rows(&h, &names), vec![1]);
    }

    #[test]
    fn a_learned_row_is_shown_before_stronger_model_rows() {
        let mut h = History::default();
        let mut probs = [0.9; ROWS];
        probs[SLOTS + 2] = 0.2;
        h.push(second(probs));
        let mut names: Vec<String> = (0..ROWS).map(|i| format!("row {i}")).collect();
        names[SLOTS] = String::new();
        let shown = rows(&h, &names);
        assert_eq!(shown.len(), MAX_ROWS);
        assert_eq!(shown.last(), Some(&(SLOTS + 7)));
        assert!(shown.contains(&(SLOTS + 2)) && !shown.contains(&SLOTS));
    }

    #[test]
    fn heat_runs_dark_to_bright() {
        let lum = |c: Color32| c.r() as u32 + c.g() as u32 + c.b() as u32;
        assert!(lum(heat(0.0)) < lum(heat(0.5)) && lum(heat(0.5)) < lum(heat(1.0)));
    }
}
