//! Tags the producer teaches an instance: the eight learned slots' tags, shared by the editor,
//! the worker, the learning thread and the project state, and how a lesson becomes a tag.
//!
//! A lesson is what played while a slot was armed ("Learn into"), with the spans during which
//! "Learn: this is it" was held as its positive examples and the rest as its negatives. It is
//! learned off the audio thread and the worker's loop (on its own thread; in offline renders
//! the worker waits for it, so a bounce is repeatable), with the engine's learner
//! (`audio_mamba_engine::learn`, docs/learned-tags.md). Scores reach the analysis as a
//! confidence whose 0.5 is the tag's own learned threshold, so a learned slot's threshold
//! parameter starts where the learner put it and moves from there like a model tag's.

use crate::tags::LEARNED;
use audio_mamba_engine::learn::{self, Embedder, Kind, LearnedTag, Material, Span};
use audio_mamba_engine::{BackendChoice, Model};
use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub const STATE_FORMAT: &str = "audio-mamba-learned-slots";
pub const STATE_VERSION: u32 = 1;
/// Seconds of the newest audio a lesson keeps (the editor's timeline shows as much).
pub const LESSON_SECONDS: f64 = 30.0;
const NO_HIT_MODEL: &str =
    "a percussive tag needs the hit model, which this instance has not loaded";

/// The kind of tag a slot learns: chosen, or from the marks (`learn::kind_for`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindChoice {
    #[default]
    Auto,
    Percussive,
    Sustained,
}

impl KindChoice {
    pub const ALL: [KindChoice; 3] = [Self::Auto, Self::Percussive, Self::Sustained];

    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Percussive => "percussive",
            Self::Sustained => "sustained",
        }
    }
}

/// One learned slot as the editor and the state see it.
#[derive(Clone, Debug, Default)]
pub struct Slot {
    pub name: String,
    pub kind: KindChoice,
    pub tag: Option<LearnedTag>,
    /// A saved tag this build cannot read, kept so that saving the project loses nothing.
    pub unread: Option<Value>,
    /// Why the tag is not used now (learned on another model, no hit model, unreadable).
    pub problem: Option<String>,
    /// The last lesson's outcome, for the editor.
    pub news: String,
    pub learning: bool,
}

impl Slot {
    /// The name the slot shows: its tag's, else the one typed for it, else "Learned N".
    pub fn title(&self, j: usize) -> String {
        match (&self.tag, self.name.trim()) {
            (Some(t), _) => t.name.clone(),
            (None, "") => format!("Learned {}", j + 1),
            (None, n) => n.to_string(),
        }
    }
}

#[derive(Default)]
struct Inner {
    slots: [Slot; LEARNED],
    /// The instance's models, as of its last activation: what a tag must have been learned on.
    models: Option<Teachers>,
    /// Learned tags saved by a newer build: written back unchanged until a tag is learned here.
    foreign: Option<Value>,
    /// What loading the state had to say about them as a whole.
    notice: Option<String>,
}

/// The learned tags of one instance; clones share them. The audio thread never touches it;
/// the worker reads it only when `generation` moved.
#[derive(Clone, Default)]
pub struct LearnedBank {
    inner: Arc<Mutex<Inner>>,
    generation: Arc<AtomicU64>,
}

impl LearnedBank {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Moves whenever a tag is learned, loaded or checked: the worker's cue to read them again.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn slots(&self) -> [Slot; LEARNED] {
        self.lock().slots.clone()
    }

    pub fn notice(&self) -> Option<String> {
        self.lock().notice.clone()
    }

    /// The editor names a slot and chooses its kind before (or after) a lesson.
    pub fn set_name(&self, j: usize, name: &str) {
        let mut g = self.lock();
        let s = &mut g.slots[j];
        s.name = name.to_string();
        if let Some(t) = s.tag.as_mut() {
            if !name.trim().is_empty() {
                t.name = name.trim().to_string();
            }
        }
        drop(g);
        self.changed();
    }

    pub fn set_kind(&self, j: usize, kind: KindChoice) {
        self.lock().slots[j].kind = kind;
    }

    /// Says `news` on slot `j` (a lesson that could not run).
    pub fn report(&self, j: usize, news: &str) {
        let mut g = self.lock();
        g.slots[j].learning = false;
        g.slots[j].news = news.to_string();
        drop(g);
        self.changed();
    }

    /// Empties slot `j` (its parameters stay as they are).
    pub fn forget(&self, j: usize) {
        let mut g = self.lock();
        let name = std::mem::take(&mut g.slots[j].name);
        g.slots[j] = Slot {
            name,
            news: "forgotten".into(),
            ..Slot::default()
        };
        drop(g);
        self.changed();
    }

    /// Puts a tag read elsewhere (an `amtag learn` file) into slot `j`.
    pub fn install(&self, j: usize, tag: LearnedTag, news: String) {
        let mut g = self.lock();
        g.foreign = None;
        g.notice = None;
        let s = &mut g.slots[j];
        s.name = tag.name.clone();
        s.kind = match tag.kind {
            Kind::Percussive => KindChoice::Percussive,
            Kind::Sustained => KindChoice::Sustained,
        };
        (s.tag, s.unread, s.problem, s.news) = (Some(tag), None, None, news);
        drop(g);
        self.changed();
    }

    /// Marks which tags the instance's models can score (run at activation, when the models
    /// are known): a tag learned on another model is kept, unused, with the reason.
    pub fn check_models(&self, tagger: &Arc<Model>, hits: Option<&Arc<Model>>) {
        let mut g = self.lock();
        let models = Teachers {
            tagger: tagger.clone(),
            hits: hits.cloned(),
        };
        for s in g.slots.iter_mut() {
            if let Some(t) = &s.tag {
                s.problem = models.cannot_score(t);
            }
        }
        g.models = Some(models);
        drop(g);
        self.changed();
    }

    /// Puts the tag file at `path` (written by `amtag learn` or by "Save") into slot `j`, after
    /// checking it against the instance's models; a file that cannot be used changes nothing.
    pub fn load_file(&self, j: usize, path: &std::path::Path) -> Result<String, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let tag = LearnedTag::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(why) = self
            .lock()
            .models
            .as_ref()
            .and_then(|m| m.cannot_score(&tag))
        {
            return Err(format!("{}: {why}", path.display()));
        }
        let news = format!("{} (from {})", describe(&tag), path.display());
        self.install(j, tag, news.clone());
        Ok(news)
    }

    /// Writes slot `j`'s tag to `path`, in the file format `amtag tag --learned` reads.
    pub fn save_file(&self, j: usize, path: &std::path::Path) -> Result<String, String> {
        let tag = self.lock().slots[j]
            .tag
            .clone()
            .ok_or("the slot holds no tag")?;
        std::fs::write(path, tag.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(format!("`{}` saved to {}", tag.name, path.display()))
    }

    /// The tags the analysis scores, by slot (None: empty or not usable).
    pub fn usable(&self) -> [Option<LearnedTag>; LEARNED] {
        let g = self.lock();
        std::array::from_fn(|j| {
            let s = &g.slots[j];
            s.tag.clone().filter(|_| s.problem.is_none())
        })
    }

    fn to_value(&self) -> Value {
        let g = self.lock();
        let learned_here = g
            .slots
            .iter()
            .any(|s| s.tag.is_some() || s.unread.is_some());
        if let (Some(v), false) = (&g.foreign, learned_here) {
            return v.clone();
        }
        let slots: Vec<Value> = g
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.tag.is_some()
                    || s.unread.is_some()
                    || !s.name.is_empty()
                    || s.kind != KindChoice::Auto
            })
            .map(|(j, s)| {
                let tag = match (&s.tag, &s.unread) {
                    (Some(t), _) => serde_json::to_value(t).unwrap_or(Value::Null),
                    (None, Some(raw)) => raw.clone(),
                    (None, None) => Value::Null,
                };
                json!({"slot": j + 1, "name": s.name, "kind": s.kind, "tag": tag})
            })
            .collect();
        json!({"format": STATE_FORMAT, "format_version": STATE_VERSION, "slots": slots})
    }

    /// Reads the saved learned tags. Nothing in them can stop the rest of the state loading:
    /// what cannot be read is kept for saving back and said in the editor.
    fn load(&self, v: Value) {
        let mut inner = Inner::default();
        let version = v.get("format_version").and_then(Value::as_u64).unwrap_or(0);
        if v.get("format").and_then(Value::as_str) != Some(STATE_FORMAT) {
            inner.notice = Some(
                "the project's learned tags are not in a format this build knows: kept in the \
                 project unchanged, none loaded"
                    .into(),
            );
            inner.foreign = Some(v);
        } else if version > STATE_VERSION as u64 {
            inner.notice = Some(format!(
                "the project's learned tags were saved by a newer Audio Mamba (format {version}, \
                 this build reads {STATE_VERSION}): kept in the project unchanged and not used \
                 until a tag is learned here; update Audio Mamba to use them"
            ));
            inner.foreign = Some(v);
        } else {
            for e in v
                .get("slots")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(j) = e
                    .get("slot")
                    .and_then(Value::as_u64)
                    .and_then(|n| (1..=LEARNED as u64).contains(&n).then(|| n as usize - 1))
                else {
                    continue;
                };
                let s = &mut inner.slots[j];
                s.name = e.get("name").and_then(Value::as_str).unwrap_or("").into();
                s.kind = e
                    .get("kind")
                    .and_then(|k| serde_json::from_value(k.clone()).ok())
                    .unwrap_or_default();
                match e.get("tag") {
                    None | Some(Value::Null) => {}
                    Some(raw) => match LearnedTag::from_json(&raw.to_string()) {
                        Ok(t) => s.tag = Some(t),
                        Err(err) => {
                            s.problem = Some(format!("not loaded: {err}"));
                            s.unread = Some(raw.clone());
                        }
                    },
                }
            }
        }
        *self.lock() = inner;
        self.changed();
    }
}

/// The bank is saved as a JSON value and any JSON value loads (see `load`): a field that
/// failed to parse would be dropped by the state loader, and with it the user's tags.
impl<'a> PersistentField<'a, Value> for LearnedBank {
    fn set(&self, new_value: Value) {
        self.load(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Value) -> R,
    {
        f(&self.to_value())
    }
}

/// What played while a slot was armed: model-rate audio (its newest `LESSON_SECONDS`) and the
/// marked spans, in seconds from its start.
#[derive(Clone, Debug)]
pub struct Lesson {
    pub slot: usize,
    pub audio: Vec<f32>,
    pub rate: u32,
    pub positives: Vec<Span>,
}

/// The models a lesson can be learned with: the instance's own.
#[derive(Clone)]
struct Teachers {
    tagger: Arc<Model>,
    hits: Option<Arc<Model>>,
}

impl Teachers {
    /// Why these models cannot score `tag` (None: they can): a percussive tag reads the hit
    /// model, a sustained one the tagger, each the very file it was learned on.
    fn cannot_score(&self, tag: &LearnedTag) -> Option<String> {
        match (tag.kind, &self.hits) {
            (Kind::Percussive, None) => Some(NO_HIT_MODEL.into()),
            (Kind::Percussive, Some(h)) => tag.check_model(h).err().map(|e| e.to_string()),
            (Kind::Sustained, _) => tag.check_model(&self.tagger).err().map(|e| e.to_string()),
        }
    }
}

/// Learns `lesson` into its slot (on the calling thread) with the models `check_models` was
/// given. A failed lesson leaves the slot's tag as it was and says why in the slot's news.
pub fn learn_lesson(bank: &LearnedBank, lesson: &Lesson) {
    let j = lesson.slot;
    let (name, choice, teachers) = {
        let mut g = bank.lock();
        g.slots[j].learning = true;
        g.slots[j].news = "learning...".into();
        (g.slots[j].title(j), g.slots[j].kind, g.models.clone())
    };
    bank.changed();
    let Some(teachers) = teachers else {
        bank.report(j, "not learned: the instance has no model yet");
        return;
    };
    let kind = match choice {
        KindChoice::Percussive => Kind::Percussive,
        KindChoice::Sustained => Kind::Sustained,
        KindChoice::Auto => learn::kind_for(&lesson.positives),
    };
    let began = std::time::Instant::now();
    let result = embedder(kind, &teachers).and_then(|mut e| {
        let m = Material {
            name: "the lesson".into(),
            samples: &lesson.audio,
            rate: lesson.rate,
            positives: lesson.positives.clone(),
            negatives: Vec::new(),
            rest_is_negative: true,
        };
        learn::learn(&name, &mut e, learn::method_for(kind), &[m])
    });
    let mut g = bank.lock();
    let learned = result.is_ok();
    if learned {
        g.foreign = None;
        g.notice = None;
    }
    let s = &mut g.slots[j];
    s.learning = false;
    match result {
        Ok(tag) => {
            let ms = began.elapsed().as_millis();
            s.news = format!("{} (learned in {ms} ms)", describe(&tag));
            (s.tag, s.unread, s.problem) = (Some(tag), None, None);
        }
        Err(e) => {
            let kept = if s.tag.is_some() {
                "the slot keeps its tag"
            } else {
                "nothing learned"
            };
            s.news = format!("not learned ({kind}): {e}; {kept}");
        }
    }
    drop(g);
    bank.changed();
}

fn embedder(kind: Kind, t: &Teachers) -> Result<Embedder, learn::LearnError> {
    match kind {
        // One thread: the worker and the host's other plugins need the rest.
        Kind::Percussive => match &t.hits {
            Some(h) => Embedder::percussive(h.clone(), 1, BackendChoice::Cpu),
            None => Err(learn::LearnError::Model(NO_HIT_MODEL.into())),
        },
        Kind::Sustained => Embedder::sustained(t.tagger.clone(), 1, BackendChoice::Cpu),
    }
}

/// One line on a learned tag: its kind, examples and how it did on held-out examples.
pub fn describe(t: &LearnedTag) -> String {
    let unit = match t.kind {
        Kind::Percussive => "hits",
        Kind::Sustained => "steps",
    };
    let h = &t.held_out;
    format!(
        "{}: learned from {} {unit} against {} others; held out: AP {:.2}, {} of {} found, {} others firing",
        t.kind,
        t.examples.positives,
        t.examples.negatives,
        h.average_precision,
        h.positives_found,
        t.examples.positives,
        h.negatives_firing
    )
}

/// A tag's score as the analysis shows it: 0.5 at the tag's learned threshold, scaled
/// linearly on each side, so the slot's threshold parameter reads like a model tag's.
pub fn confidence(score: f32, threshold: f32) -> f32 {
    let t = threshold.clamp(1e-6, 1.0 - 1e-6);
    let c = if score < t {
        0.5 * score / t
    } else {
        0.5 + 0.5 * (score - t) / (1.0 - t)
    };
    if c.is_finite() {
        c.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
