//! The status line: backend and adapter, model and size, time per window and real-time factor,
//! dropped windows, reported latency; and the plugin's message, in warning colours when it
//! reports a problem.

use crate::status::{load_f32, Status};
use egui::{self, Color32};
use std::sync::atomic::Ordering;

/// Words in the plugin's message that mean something went wrong.
const PROBLEMS: &[&str] = &[
    "ignored", "failed", "no model", "cannot", "outside", "error", "stopped",
];

pub fn is_problem(message: &str) -> bool {
    let m = message.to_lowercase();
    PROBLEMS.iter().any(|p| m.contains(p))
}

fn millions(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.2}M", n as f64 / 1e6)
    } else {
        format!("{:.0}k", n as f64 / 1e3)
    }
}

/// The first line, as text.
pub fn text(status: &Status) -> String {
    let ms = status.model_micros.load(Ordering::Relaxed) as f64 / 1e3;
    let window = load_f32(&status.window_seconds) as f64;
    let rate = status.sample_rate.load(Ordering::Relaxed).max(1) as f64;
    let latency_ms = status.latency_samples.load(Ordering::Relaxed) as f64 / rate * 1e3;
    let speed = if ms > 0.0 {
        format!(
            "{ms:.1} ms per {window:.2} s window ({:.0}x real time)",
            window * 1e3 / ms
        )
    } else {
        "no window run yet".to_string()
    };
    format!(
        "{} | {} ({} parameters) | {speed} | {} run, {} silent, {} dropped | latency {latency_ms:.0} ms",
        status.backend.load(),
        status.model_name.load(),
        millions(status.model_parameters.load(Ordering::Relaxed)),
        status.windows_run.load(Ordering::Relaxed),
        status.windows_silent.load(Ordering::Relaxed),
        status.windows_dropped.load(Ordering::Relaxed),
    )
}

pub fn show(ui: &mut egui::Ui, status: &Status) {
    ui.label(text(status));
    let message = status.message();
    let colour = if is_problem(&message) {
        Color32::from_rgb(255, 140, 60)
    } else {
        ui.visuals().weak_text_color()
    };
    ui.add(egui::Label::new(egui::RichText::new(message.as_str()).color(colour)).wrap());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_recognised_in_the_plugin_messages() {
        assert!(is_problem(
            "model file /x.safetensors: No such file; ignored model file"
        ));
        assert!(is_problem(
            "GPU failed (lost); analysis continues on the CPU"
        ));
        assert!(!is_problem("audio-mamba-plugin-29 0.1.0 (29 labels, 2.56 s window) from embedded model; analysis on cpu"));
    }

    #[test]
    fn the_line_reports_speed_and_latency() {
        let s = Status::default();
        s.backend
            .store(std::sync::Arc::new("cpu (1 thread)".into()));
        s.model_parameters.store(1_055_421, Ordering::Relaxed);
        crate::status::store_f32(&s.window_seconds, 2.56);
        s.model_micros.store(8_000, Ordering::Relaxed);
        s.sample_rate.store(48_000, Ordering::Relaxed);
        s.latency_samples.store(24_000, Ordering::Relaxed);
        s.windows_run.store(40, Ordering::Relaxed);
        s.windows_silent.store(12, Ordering::Relaxed);
        let t = text(&s);
        assert!(t.contains("40 run, 12 silent, 0 dropped"), "{t}");
        assert!(t.contains("cpu (1 thread)") && t.contains("1.06M"), "{t}");
        assert!(
            t.contains("8.0 ms per 2.56 s window (320x real time)"),
            "{t}"
        );
        assert!(t.contains("latency 500 ms"), "{t}");
    }
}
