//! Parameters: global analysis settings and one group per tag slot. Everything is automatable and
//! saved with the project; the model path is saved state without being a parameter.

use crate::learned::LearnedBank;
use crate::tags::{default_cc, drum_note, slot_labels, LEARNED, SLOTS};
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
    /// Arms a learned slot (0: off): what plays from then on is its lesson, learned when the
    /// slot is disarmed (`learned`).
    #[id = "learn-into"]
    pub learn_into: IntParam,
    /// Held while the sound to learn plays: the marked spans are the lesson's examples.
    #[id = "learn-mark"]
    pub learn_mark: BoolParam,
    #[nested(id_prefix = "learned", group = "Learned")]
    pub learned: LearnedSlots,
    /// A model file chosen for this instance (empty: environment variable or embedded model).
    #[persist = "model-path"]
    pub model_path: Arc<RwLock<String>>,
    /// The learned tags themselves (versioned JSON in the project).
    #[persist = "learned-tags"]
    pub learned_tags: LearnedBank,
}

/// The learned slots' controls: the same four as a model tag's.
#[derive(Params)]
pub struct LearnedSlots {
    #[nested(array, group = "Learned")]
    pub slots: [TagParams; LEARNED],
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
            Some(l) => format!("Tag {} ({})", slot + 1, l.name),
            None => format!("Tag {}", slot + 1),
        };
        let note = label.and_then(drum_note).map_or(OFF, i32::from);
        Self::named(&name, label.is_some(), note, i32::from(default_cc(slot)))
    }

    /// Learned slot `j`: on, and a note of its own from middle C up (a learned sound is there
    /// to trigger something), no CC (the model's slots hold the free controllers).
    fn learned(j: usize) -> Self {
        Self::named(&format!("Learned {}", j + 1), true, 60 + j as i32, OFF)
    }

    fn named(name: &str, enabled: bool, note: i32, cc: i32) -> Self {
        Self {
            enabled: BoolParam::new(format!("{name} on"), enabled),
            threshold: FloatParam::new(
                format!("{name} threshold"),
                0.5,
                FloatRange::Linear {
                    min: 0.01,
                    max: 0.99,
                },
            )
            .with_step_size(0.01),
            note: IntParam::new(
                format!("{name} note"),
                note,
                IntRange::Linear { min: OFF, max: 127 },
            )
            .with_value_to_string(Arc::new(off_or_number))
            .with_string_to_value(Arc::new(parse_off_or_number)),
            cc: IntParam::new(
                format!("{name} CC"),
                cc,
                IntRange::Linear { min: OFF, max: 119 },
            )
            .with_value_to_string(Arc::new(off_or_number))
            .with_string_to_value(Arc::new(parse_off_or_number)),
        }
    }
}

fn learn_slot_to_string(v: i32) -> String {
    if v == 0 {
        "Off".into()
    } else {
        format!("Learned {v}")
    }
}

fn parse_learn_slot(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Some(0);
    }
    let n = s.strip_prefix("Learned").unwrap_or(s).trim();
    n.parse().ok().filter(|v| (0..=LEARNED as i32).contains(v))
}

impl PluginParams {
    /// The controls of row `i`: a model slot, or learned slot `i - SLOTS`.
    pub fn row(&self, i: usize) -> &TagParams {
        match i.checked_sub(SLOTS) {
            None => &self.tags[i],
            Some(j) => &self.learned.slots[j],
        }
    }

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
            learn_into: IntParam::new(
                "Learn into",
                0,
                IntRange::Linear {
                    min: 0,
                    max: LEARNED as i32,
                },
            )
            .with_value_to_string(Arc::new(learn_slot_to_string))
            .with_string_to_value(Arc::new(parse_learn_slot)),
            learn_mark: BoolParam::new("Learn: this is it", false),
            learned: LearnedSlots {
                slots: std::array::from_fn(TagParams::learned),
            },
            model_path: Arc::new(RwLock::new(String::new())),
            learned_tags: LearnedBank::default(),
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
    fn learned_slots_have_their_own_names_and_notes() {
        let p = PluginParams::new(&[label("Speech", "/m/09x0r")]);
        let ids: Vec<String> = p.param_map().into_iter().map(|(id, _, _)| id).collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "parameter ids are unique");
        assert!(ids.iter().any(|id| id == "learned_note_8"), "{ids:?}");
        let l = &p.learned.slots[2];
        assert_eq!(l.note.name(), "Learned 3 note");
        assert_eq!(l.note.value(), 62);
        assert_eq!(l.cc.value(), OFF);
        assert_eq!(p.learn_into.to_string(), "Off");
        assert_eq!(parse_learn_slot("Learned 3"), Some(3));
        assert_eq!(parse_learn_slot("off"), Some(0));
        assert_eq!(parse_learn_slot("9"), None);
    }

    #[test]
    fn off_parses_back() {
        assert_eq!(parse_off_or_number(" off "), Some(OFF));
        assert_eq!(parse_off_or_number("42"), Some(42));
        assert_eq!(parse_off_or_number("x"), None);
    }
}
