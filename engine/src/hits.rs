//! Which drum was struck at an onset: a small model of its own (a config with an `onset` section
//! and the linear head, `weights/audio-mamba-hits.safetensors`) reads a short window that starts
//! `onset.pre_seconds` before the onset and gives one probability per drum class; several are
//! high when hits coincide (kick + hat). The plugin's worker and `amtag hits` both use it.

use crate::config::{HeadConfig, Label};
use crate::{BackendChoice, Error, Model, Result, Session};
use std::sync::Arc;

/// AudioSet drum labels with their General MIDI percussion keys.
const GM_DRUMS: &[(&str, &str, u8)] = &[
    ("/m/0bm02", "bass drum", 36),
    ("/m/06rvn", "snare drum", 38),
    ("/m/03qtq", "hi-hat", 42),
    ("/m/01qbl", "cymbal", 49),
    ("/m/03t3fj", "rimshot", 37),
    ("/m/0l15bq", "clapping", 39),
    ("/m/026t6", "drum", 47),
    ("/m/0239kh", "cowbell", 56),
    ("/m/07brj", "tambourine", 54),
    ("/m/0xzly", "maraca", 70),
    ("/m/01sm1g", "wood block", 76),
    ("/m/02k_mr", "drum roll", 40),
    ("/m/01p970", "tabla", 60),
    ("/m/0mbct", "gong", 52),
];

/// The GM drum key of a label (by AudioSet MID or name), if it is a drum.
pub fn gm_drum_note(label: &Label) -> Option<u8> {
    let name = label.name.to_lowercase();
    GM_DRUMS
        .iter()
        .find(|(mid, n, _)| {
            *mid == label.mid || *n == name || (name == "kick" && *n == "bass drum")
        })
        .map(|&(_, _, key)| key)
}

/// Where the tagger gives no drum tag (nor Drum kit, Drum machine) this probability, the audio
/// is not drums: an onset there is a consonant, a pluck or a knock, whatever the hit model makes
/// of its quarter second, and plays no drum note (the plugin and `amtag hits`). Chosen on the
/// validation split's clips with the shipped models and the banded onset detector
/// (`training/README.md`, "Banded onsets"): with the hit model's thresholds chosen on those clips
/// at each level, the mean kick/snare/hat F is 0.540 at 0.5, 0.557 at 0.6, 0.569 at 0.7, 0.566 at
/// 0.8 and 0.558 at 0.9; drum hits on drumless clips 0.95, 0.99, 0.91, 0.70 and 0.42 per 10 s.
/// 0.8 is the highest level within 0.005 of the best F.
pub const DRUM_VETO: f32 = 0.8;

/// AudioSet MIDs of "there are drums here" tags without a drum note of their own.
const KIT_MIDS: &[&str] = &["/m/02hnl", "/m/0cfdd"];

/// Whether a tagger label says drums are playing (the veto's view of a frame).
pub fn says_drums(label: &Label) -> bool {
    gm_drum_note(label).is_some() || KIT_MIDS.contains(&label.mid.as_str())
}

/// Peak level of `x` in dBFS (-120 for silence); non-finite samples are left out.
pub(crate) fn peak_db(x: &[f32]) -> f32 {
    let p = x
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if p > 1e-6 {
        20.0 * p.log10()
    } else {
        -120.0
    }
}

/// Span after the onset whose peak is the hit's level.
const LEVEL_SECONDS: f64 = 0.05;

/// MIDI velocity (1/127 .. 1) of a hit: mostly its level (-40 dBFS and below is the softest),
/// scaled down for a classification barely above its threshold.
pub fn hit_velocity(level_db: f32, p: f32, threshold: f32) -> f32 {
    let level = ((level_db + 40.0) / 40.0).clamp(0.0, 1.0);
    let conf = ((p - threshold) / (1.0 - threshold).max(1e-3)).clamp(0.0, 1.0);
    let v = 0.15 + 0.85 * level * (0.6 + 0.4 * conf);
    ((v * 127.0).round() / 127.0).clamp(1.0 / 127.0, 1.0)
}

/// One classified hit: a probability per class of the hit model, the hit's peak level, and the
/// model's embedding of the hit (what learned percussive tags read).
#[derive(Debug)]
pub struct HitScores<'a> {
    pub probs: &'a [f32],
    pub level_db: f32,
    pub embedding: &'a [f32],
}

pub struct HitClassifier {
    session: Session,
    window: Vec<f32>,
    pre: usize,
    level_len: usize,
}

impl HitClassifier {
    /// Whether `model` is a hit model: it says where its window sits around the onset and gives
    /// one score per class for the whole window.
    pub fn check(model: &Model) -> Result<()> {
        let cfg = model.config();
        if cfg.onset.is_none() {
            return Err(Error::Config(format!(
                "{} is not a hit model (its config has no `onset` section)",
                cfg.name
            )));
        }
        if cfg.head != HeadConfig::Linear {
            return Err(Error::Config(format!(
                "hit model {} must have the linear head (one score per hit)",
                cfg.name
            )));
        }
        Ok(())
    }

    /// A classifier on `threads` CPU threads or the GPU (`choice`, as [`Session::new`]).
    pub fn new(model: Arc<Model>, threads: usize, choice: BackendChoice) -> Result<Self> {
        Self::check(&model)?;
        let cfg = model.config();
        let rate = cfg.sample_rate() as f64;
        let n = cfg.clip_samples();
        let pre = (cfg.onset.expect("checked").pre_seconds * rate).round() as usize;
        let level_len = ((LEVEL_SECONDS * rate).round() as usize).clamp(1, n - pre.min(n - 1));
        Ok(Self {
            session: Session::new(model, threads, choice, 1)?,
            window: vec![0.0; n],
            pre: pre.min(n - 1),
            level_len,
        })
    }

    pub fn model(&self) -> &Arc<Model> {
        self.session.model()
    }

    /// The GPU failure that just moved the classifier to the CPU, once.
    pub fn take_gpu_failure(&mut self) -> Option<String> {
        self.session.take_gpu_failure()
    }

    /// The model's sample rate: windows are read at this rate.
    pub fn rate(&self) -> u32 {
        self.model().config().sample_rate()
    }

    /// Samples of the window before the onset sample.
    pub fn pre(&self) -> usize {
        self.pre
    }

    /// Samples from the onset sample (included) to the window's end: how long after an onset
    /// its classification can start.
    pub fn post(&self) -> usize {
        self.window.len() - self.pre
    }

    /// Classifies the hit at sample `onset` of `audio` (mono, model rate); samples outside
    /// `audio` count as silence.
    pub fn classify(&mut self, audio: &[f32], onset: usize) -> Result<HitScores<'_>> {
        let start = onset as i64 - self.pre as i64;
        self.classify_with(|i| {
            let k = start + i as i64;
            if k < 0 {
                0.0
            } else {
                audio.get(k as usize).copied().unwrap_or(0.0)
            }
        })
    }

    /// Classifies the window whose sample `i` (0 = `pre` samples before the onset) is
    /// `sample(i)`: the plugin reads its model-rate ring this way. Non-finite samples are silence.
    pub fn classify_with(&mut self, sample: impl Fn(usize) -> f32) -> Result<HitScores<'_>> {
        for (i, w) in self.window.iter_mut().enumerate() {
            let v = sample(i);
            *w = if v.is_finite() { v } else { 0.0 };
        }
        let level_db = peak_db(&self.window[self.pre..self.pre + self.level_len]);
        let pred = self.session.run(&self.window)?;
        Ok(HitScores {
            probs: pred.clip_probs,
            level_db,
            embedding: pred.clip_embedding,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn velocity_follows_level_then_confidence() {
        let loud = hit_velocity(-3.0, 0.95, 0.5);
        let soft = hit_velocity(-30.0, 0.95, 0.5);
        let unsure = hit_velocity(-3.0, 0.51, 0.5);
        assert!(loud > soft && loud > unsure, "{loud} {soft} {unsure}");
        assert!(hit_velocity(-100.0, 0.0, 0.5) >= 1.0 / 127.0);
        assert!(hit_velocity(10.0, 1.0, 0.5) <= 1.0);
    }

    #[test]
    fn gm_notes_by_mid_and_name() {
        let l = |name: &str, mid: &str| Label {
            name: name.into(),
            mid: mid.into(),
        };
        assert_eq!(gm_drum_note(&l("Bass drum", "/m/0bm02")), Some(36));
        assert_eq!(gm_drum_note(&l("Kick", "")), Some(36));
        assert_eq!(gm_drum_note(&l("Hi-hat", "/m/x")), Some(42));
        assert_eq!(gm_drum_note(&l("Speech", "/m/09x0r")), None);
    }
}
