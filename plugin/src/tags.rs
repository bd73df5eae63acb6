//! What each model label means to a producer: General MIDI drum notes for drum labels, a CC for
//! every tag, and which of the model's labels get one of the plugin's fixed parameter slots.

use audio_mamba_engine::Label;

/// Parameter slots: hosts need a fixed parameter list, models have 5 to 527 labels.
pub const SLOTS: usize = 32;
/// Slots for tags the producer taught the instance (`learned`), after the model's.
pub const LEARNED: usize = 8;
/// Every row the analysis and the editor handle: the model's slots, then the learned ones.
pub const ROWS: usize = SLOTS + LEARNED;

/// Tags a producer is likely to want as CCs when a model has more labels than slots.
const USEFUL: &[&str] = &[
    "/m/09x0r",   // Speech
    "/m/015lz1",  // Singing
    "/m/04rlf",   // Music
    "/m/02hnl",   // Drum kit
    "/m/0cfdd",   // Drum machine
    "/m/05r5c",   // Piano
    "/m/0l14qv",  // Synthesizer
    "/m/042v_gx", // Acoustic guitar
    "/m/02sgy",   // Electric guitar
    "/m/018vs",   // Bass guitar
    "/m/02qmj0d", // String section
    "/m/01kcd",   // Brass instrument
    "/m/013y1f",  // Organ
    "/m/07y_7",   // Violin, fiddle
    "/m/06ncr",   // Saxophone
    "/m/0l14j_",  // Flute
    "/m/0l14jd",  // Choir
    "/m/028v0c",  // Silence
];

/// Controllers without a fixed meaning in the MIDI spec, so defaults clash with nothing.
const FREE_CCS: &[u8] = &[
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
    102, 103, 104, 105, 106, 107, 108, 109,
];

/// The GM drum key of a label, if it is a drum. Drum tags are the "percussive" ones: their
/// notes follow onsets (see `events`).
pub fn drum_note(label: &Label) -> Option<u8> {
    audio_mamba_engine::hits::gm_drum_note(label)
}

/// Which model label each slot shows: all labels in order when they fit, else drums first,
/// then the common music tags, then the rest in model order.
pub fn slot_labels(labels: &[Label]) -> [Option<usize>; SLOTS] {
    let mut order: Vec<usize> = Vec::with_capacity(labels.len());
    if labels.len() <= SLOTS {
        order.extend(0..labels.len());
    } else {
        order.extend((0..labels.len()).filter(|&i| drum_note(&labels[i]).is_some()));
        for mid in USEFUL {
            if let Some(i) = labels.iter().position(|l| l.mid == *mid) {
                if !order.contains(&i) {
                    order.push(i);
                }
            }
        }
        order.extend(
            (0..labels.len())
                .filter(|i| !order.contains(i))
                .collect::<Vec<_>>(),
        );
    }
    let mut out = [None; SLOTS];
    for (slot, i) in out.iter_mut().zip(order) {
        *slot = Some(i);
    }
    out
}

/// Default CC of a slot: every slot gets its own free controller.
pub fn default_cc(slot: usize) -> u8 {
    FREE_CCS[slot % FREE_CCS.len()]
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
    fn drums_get_general_midi_keys() {
        assert_eq!(drum_note(&label("Bass drum", "/m/0bm02")), Some(36));
        assert_eq!(drum_note(&label("Snare drum", "/m/06rvn")), Some(38));
        assert_eq!(drum_note(&label("Hi-hat", "/m/03qtq")), Some(42));
        assert_eq!(drum_note(&label("Speech", "/m/09x0r")), None);
    }

    #[test]
    fn large_label_sets_put_drums_first() {
        let mut labels: Vec<Label> = (0..500)
            .map(|i| label(&format!("x{i}"), &format!("/x/{i}")))
            .collect();
        labels[300] = label("Hi-hat", "/m/03qtq");
        labels[7] = label("Speech", "/m/09x0r");
        let slots = slot_labels(&labels);
        assert_eq!(slots[0], Some(300));
        assert_eq!(slots[1], Some(7));
        assert_eq!(slots[2], Some(0));
        assert!(slots.iter().all(Option::is_some));
    }

    #[test]
    fn small_label_sets_keep_model_order() {
        let labels = vec![label("Speech", "/m/09x0r"), label("Hi-hat", "/m/03qtq")];
        let slots = slot_labels(&labels);
        assert_eq!(&slots[..3], &[Some(0), Some(1), None]);
    }

    #[test]
    fn default_ccs_are_distinct() {
        let mut ccs: Vec<u8> = (0..SLOTS).map(default_cc).collect();
        ccs.sort();
        ccs.dedup();
        assert_eq!(ccs.len(), SLOTS);
    }
}
