//! Parameters: global analysis settings and one group per tag slot. Everything is automatable and
//! saved with the project; the model path is saved state without being a parameter.

use crate::tags::{default_cc, drum_note, slot_labels, SLOTS};
use audio_mamba_engine::Label;
use nice_plug::prelude::*;
use std::sync::{Arc, RwLock};

/// The "off" value of note and CC parameters.
pub const OFF: i32 = -1;

#[derive(Params)]
pub struct PluginParams {
    /// The host's bypass switch: audio passes with the same latency, no MIDI of ours.
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Seconds of audio the model sees per run (clamped to the model's own window).
    #[id = "window"]
    pub window: FloatParam,
    /// Seconds between model runs; part of the latency (see README, "Latency").
    #[id = "hop"]
    pub hop: FloatParam,
    /// 0.5 is neutral; higher lowers every threshold and the onset detector's.
    #[id = "sensitivity"]
    pub sensitivity: FloatParam,
    #[id = "latency"]
    pub latency_compensation: BoolParam,
    #[id = "channel"]
    pub midi_channel: IntParam,
    #[nested(array, group = "Tag")]
    pub tags: [TagParams; SLOTS],
    /// A model file chosen for this instance (empty: environment variable or embedded model).
    #[persist = "model-path"]
    pub model_path: Arc<RwLock<String>>,
}

#[derive(Params)]
pub struct TagParams {
    #[id = "enabled"]
    pub enabled: BoolParam,
    #[id = "threshold"]
    pub threshold: FloatParam,
    #[id = "note"]
    pub note: IntParam,
    #[id = "cc"]
    pub cc: IntParam,
}

fn off_or_number(v: i32) -> String {
    if v < 0 {
        "Off".into()
    } else {
        v.to_string()
    }
}

fn parse_off_or_number(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        Some(OFF)
    } else {
        s.parse().ok()
    }
}

impl TagParams {
    fn new(slot: usize, label: Option<&Label>) -> Self {
        let name = match label {
            Some(l) => format!("{} ({})", slot + 1, l.name),
            None => format!("{}", slot + 1),
        };
        let note = label.and_then(drum_note).map_or(OFF, i32::from);
        Self {
            enabled: BoolParam::new(format!("Tag {name} on"), label.is_some()),
            threshold: FloatParam::new(
                format!("Tag {name} threshold"),
                0.5,
                FloatRange::Linear {
                    min: 0.01,
                    max: 0.99,
                },
            )
            .with_step_size(0.01),
            note: IntParam::new(
                format!("Tag {name} note"),
                note,
                IntRange::Linear { min: OFF, max: 127 },
            )
            .with_value_to_string(Arc::new(off_or_number))
            .with_string_to_value(Arc::new(parse_off_or_number)),
            cc: IntParam::new(
                format!("Tag {name} CC"),
                i32::from(default_cc(slot)),
                IntRange::Linear { min: OFF, max: 119 },
            )
            .with_value_to_string(Arc::new(off_or_number))
            .with_string_to_value(Arc::new(parse_off_or_number)),
        }
    }
}

impl PluginParams {
    /// Parameters named and defaulted after `labels` (the model known when the plugin is
    /// created); slots without a label are disabled.
    pub fn new(labels: &[Label]) -> Self {
        let slots = slot_labels(labels);
        Self {
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            window: FloatParam::new(
                "Analysis window",
                10.0,
                FloatRange::Skewed {
                    min: 0.25,
                    max: 10.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" s")
            .with_step_size(0.01),
            hop: FloatParam::new(
                "Analysis hop",
                0.25,
                FloatRange::Skewed {
                    min: 0.05,
                    max: 1.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" s")
            .with_step_size(0.01),
            sensitivity: FloatParam::new(
                "Sensitivity",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_step_size(0.01),
            latency_compensation: BoolParam::new("Latency compensation", true),
            midi_channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            tags: std::array::from_fn(|i| TagParams::new(i, slots[i].map(|l| &labels[l]))),
            model_path: Arc::new(RwLock::new(String::new())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(name: &str, mid: &str) -> Label {
        Label {
            name: name.into(),
            mid: mid.into(),
        }
    }

    #[test]
    fn drum_tags_default_to_gm_notes_and_others_to_ccs_only() {
        let p = PluginParams::new(&[label("Bass drum", "/m/0bm02"), label("Speech", "/m/09x0r")]);
        assert_eq!(p.tags[0].note.value(), 36);
        assert_eq!(p.tags[1].note.value(), OFF);
        assert!(p.tags[1].cc.value() >= 0);
        assert!(p.tags[0].enabled.value() && p.tags[1].enabled.value());
        assert!(!p.tags[2].enabled.value());
        assert_eq!(p.tags[0].note.to_string(), "36");
        assert_eq!(p.tags[1].note.to_string(), "Off");
    }

    #[test]
    fn off_parses_back() {
        assert_eq!(parse_off_or_number(" off "), Some(OFF));
        assert_eq!(parse_off_or_number("42"), Some(42));
        assert_eq!(parse_off_or_number("x"), None);
    }
}
