//! Learned tags: a producer's own sound, learned from a few marked examples on the model's
//! embeddings (docs/learned-tags.md). A percussive tag reads the hit model's embedding of each
//! onset; a sustained one the tagger's frame embeddings. The tag file records the model it was
//! learned on, because another model's embeddings mean nothing to it.

mod embed;
mod fit;

pub use embed::{Embedded, Embedder, SILENCE_DB};
pub use fit::{average_precision, Classifier, HeldOut, Method};

use crate::Model;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "audio-mamba-learned-tag";
pub const FORMAT_VERSION: u32 = 1;
/// A hit's onset may be found this much before the span marked around it.
const ONSET_SLACK_S: f64 = 0.02;

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error(
        "no positive example: mark at least two spans (3 to 10 are better) where the sound plays"
    )]
    NoPositives,
    #[error("only one positive example: mark at least two (3 to 10 are better), so that the threshold is checked on an example the fit did not see")]
    OneExample,
    #[error("positive example {which} is silent (nothing above {SILENCE_DB} dBFS)")]
    Silent { which: String },
    #[error("positive example {which} holds no hit (no onset found in it)")]
    NoHit { which: String },
    #[error("positive example {which} lasts {seconds:.3} s, shorter than one framewise step ({step:.3} s): mark a longer span or learn a percussive tag")]
    TooShort {
        which: String,
        seconds: f64,
        step: f64,
    },
    #[error("{which} holds NaN or infinite samples")]
    NonFinite { which: String },
    #[error("no negative example: mark what the tag must not fire on, or leave unmarked material around the positives")]
    NoNegatives,
    #[error("learned tag file: {0}")]
    Corrupt(String),
    #[error("learned tag format version {found} is newer than this build reads ({supported}); update Audio Mamba")]
    FutureFormat { found: u32, supported: u32 },
    #[error("tag `{tag}` was learned on {learned}, not on {loaded}: learn it again on this model")]
    WrongModel {
        tag: String,
        learned: String,
        loaded: String,
    },
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Short onsets (a drum, a clap, a click): scored per hit, plays onset-timed notes.
    Percussive,
    /// A sound that lasts (an instrument, a voice, a texture): scored per framewise step.
    Sustained,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Percussive => "percussive",
            Kind::Sustained => "sustained",
        })
    }
}

/// The model a tag was learned on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub name: String,
    pub version: String,
    /// SHA-256 of the model file.
    pub sha256: String,
}

impl ModelRef {
    pub fn of(model: &Model) -> Self {
        let cfg = model.config();
        Self {
            name: cfg.name.clone(),
            version: cfg.version.clone(),
            sha256: model.fingerprint().to_string(),
        }
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.sha256.get(..12).unwrap_or(&self.sha256);
        write!(f, "{} {} ({short})", self.name, self.version)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExampleCounts {
    pub positives: usize,
    pub negatives: usize,
}

/// A learned tag as saved (JSON, docs/learned-tags.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedTag {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    pub kind: Kind,
    pub model: ModelRef,
    pub classifier: Classifier,
    /// Scores at or above it fire; chosen on held-out examples.
    pub threshold: f32,
    pub examples: ExampleCounts,
    pub held_out: HeldOut,
}

/// A marked span of a recording, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start_s: f64,
    pub end_s: f64,
}

impl Span {
    fn overlap(&self, a: f64, b: f64) -> f64 {
        (self.end_s.min(b) - self.start_s.max(a)).max(0.0)
    }

    /// Whether a piece (a step `a..b`, or a hit at `a == b`) belongs to this span: a hit when
    /// its onset lies in it, a step when at least half of it does.
    fn holds(&self, a: f64, b: f64) -> bool {
        if b <= a {
            a >= self.start_s - ONSET_SLACK_S && a < self.end_s
        } else {
            self.overlap(a, b) >= 0.5 * (b - a)
        }
    }
}

/// One recording with its marked examples.
pub struct Material<'a> {
    /// How messages name it (a file name).
    pub name: String,
    pub samples: &'a [f32],
    pub rate: u32,
    pub positives: Vec<Span>,
    pub negatives: Vec<Span>,
    /// Whether what no span marks is a negative example ("the rest of the material").
    pub rest_is_negative: bool,
}

impl Material<'_> {
    fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }
}

/// Positive examples no longer than this make a percussive tag when the user did not say.
pub const PERCUSSIVE_MAX_S: f64 = 1.0;

/// The kind a tag gets when the user did not choose: short examples are hits, long ones a
/// sound that lasts (the longest positive decides).
pub fn kind_for(positives: &[Span]) -> Kind {
    let longest = positives
        .iter()
        .map(|s| s.end_s - s.start_s)
        .fold(0.0f64, f64::max);
    if longest <= PERCUSSIVE_MAX_S {
        Kind::Percussive
    } else {
        Kind::Sustained
    }
}

/// The classifier each kind uses, as measured (docs/learned-tags.md): the prototype keeps a
/// percussive tag to hits like its own (not every snare), logistic regression ranks sustained
/// sounds better.
pub fn method_for(kind: Kind) -> Method {
    match kind {
        Kind::Percussive => Method::Prototype,
        Kind::Sustained => Method::Logistic,
    }
}

/// Learns tag `name` from `materials` with the embedder's model.
pub fn learn(
    name: &str,
    embedder: &mut Embedder,
    method: Method,
    materials: &[Material],
) -> Result<LearnedTag, LearnError> {
    let kind = embedder.kind();
    let step = embedder.step_seconds();
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    if materials.iter().all(|m| m.positives.is_empty()) {
        return Err(LearnError::NoPositives);
    }
    for m in materials {
        if m.samples.iter().any(|v| !v.is_finite()) {
            return Err(LearnError::NonFinite {
                which: m.name.clone(),
            });
        }
        let which = |i: usize, s: &Span| {
            format!(
                "{} of {} ({:.2}-{:.2} s)",
                i + 1,
                m.name,
                s.start_s,
                s.end_s
            )
        };
        for (i, s) in m.positives.iter().enumerate() {
            let seconds = s.end_s.min(m.duration()) - s.start_s;
            if kind == Kind::Sustained && seconds < step {
                return Err(LearnError::TooShort {
                    which: which(i, s),
                    seconds,
                    step,
                });
            }
        }
        let pieces = embedder.embed(m.samples, m.rate)?;
        for (i, s) in m.positives.iter().enumerate() {
            let mine: Vec<&Embedded> = pieces
                .iter()
                .filter(|e| s.holds(e.start_s, e.end_s))
                .collect();
            if mine.is_empty() && kind == Kind::Percussive {
                return Err(LearnError::NoHit { which: which(i, s) });
            }
            let heard: Vec<&Embedded> = mine
                .into_iter()
                .filter(|e| e.level_db > SILENCE_DB)
                .collect();
            if heard.is_empty() {
                return Err(LearnError::Silent { which: which(i, s) });
            }
            pos.extend(heard.into_iter().map(|e| e.vector.clone()));
        }
        for e in &pieces {
            let in_pos = m
                .positives
                .iter()
                .any(|s| s.overlap(e.start_s, e.end_s) > 0.0 || s.holds(e.start_s, e.end_s));
            let marked_neg = m.negatives.iter().any(|s| s.holds(e.start_s, e.end_s));
            if !in_pos && (marked_neg || m.rest_is_negative) {
                neg.push(e.vector.clone());
            }
        }
    }
    if pos.len() < 2 {
        return Err(LearnError::OneExample);
    }
    if neg.is_empty() {
        return Err(LearnError::NoNegatives);
    }
    let p: Vec<&[f32]> = pos.iter().map(Vec::as_slice).collect();
    let n: Vec<&[f32]> = neg.iter().map(Vec::as_slice).collect();
    let f = fit::fit(method, &p, &n);
    Ok(LearnedTag {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: name.to_string(),
        kind,
        model: ModelRef::of(embedder.model()),
        classifier: f.classifier,
        threshold: f.threshold,
        examples: ExampleCounts {
            positives: pos.len(),
            negatives: neg.len(),
        },
        held_out: f.held_out,
    })
}

impl LearnedTag {
    /// Reads a tag file, checking everything a tag must hold to be scored.
    pub fn from_json(text: &str) -> Result<Self, LearnError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LearnError::Corrupt(e.to_string()))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(LearnError::Corrupt(format!(
                "not a learned tag (no \"format\": \"{FORMAT}\")"
            )));
        }
        let found = v
            .get("format_version")
            .and_then(|f| f.as_u64())
            .unwrap_or(0) as u32;
        if found > FORMAT_VERSION {
            return Err(LearnError::FutureFormat {
                found,
                supported: FORMAT_VERSION,
            });
        }
        let t: LearnedTag =
            serde_json::from_value(v).map_err(|e| LearnError::Corrupt(e.to_string()))?;
        t.check()?;
        Ok(t)
    }

    fn check(&self) -> Result<(), LearnError> {
        let c = &self.classifier;
        let d = c.dim();
        let bad = |what: &str| Err(LearnError::Corrupt(format!("tag `{}`: {what}", self.name)));
        if self.name.trim().is_empty() {
            return bad("empty name");
        }
        if d == 0 || c.scale.len() != d || c.weights.len() != d {
            return bad("classifier vectors of different lengths");
        }
        let values = c.mean.iter().chain(&c.scale).chain(&c.weights);
        if !values
            .chain([&c.offset, &c.bias, &c.slope, &self.threshold])
            .all(|v| v.is_finite())
        {
            return bad("NaN or infinite values");
        }
        if c.scale.iter().any(|&s| s <= 0.0) {
            return bad("a scale that is not positive");
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return bad("threshold outside 0..1");
        }
        Ok(())
    }

    /// Pretty JSON; the same tag gives the same bytes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a tag serialises") + "\n"
    }

    /// Whether this tag can read `model`'s embeddings (it was learned on that very file).
    pub fn check_model(&self, model: &Model) -> Result<(), LearnError> {
        let loaded = ModelRef::of(model);
        if loaded.sha256 != self.model.sha256 || model.graph().out.dim != self.classifier.dim() {
            return Err(LearnError::WrongModel {
                tag: self.name.clone(),
                learned: self.model.to_string(),
                loaded: loaded.to_string(),
            });
        }
        Ok(())
    }

    /// Score (0..1) of one embedding from the tag's model.
    pub fn score(&self, embedding: &[f32]) -> f32 {
        self.classifier.score(embedding)
    }
}
