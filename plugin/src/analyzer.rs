//! One stream's analysis, free of threads so it can be tested directly: host-rate samples in,
//! model windows every hop, each onset classified by the hit model once its window is in, timed
//! MIDI events out. Everything here is a deterministic function of the input and the
//! parameters, which is what makes offline renders repeatable.
//!
//! Silence is not analysed twice: a window that holds nothing but silence after another such
//! window of the same length reuses that window's prediction (the model is deterministic, so
//! the events are the ones a run would give) instead of running the model.

use crate::delay::SILENCE;
use crate::events::{Event, EventGen, Hit, Msg, Rule, Timing};
use crate::learned::{confidence, Lesson, LESSON_SECONDS};
use crate::resample::Stream;
use crate::tags::{drum_note, slot_labels, LEARNED, ROWS, SLOTS};
use crate::timeline::{Frame, FrameTx, HitMark, LessonPart, HIT_MARKS};
use audio_mamba_engine::hits::{says_drums, HitClassifier, DRUM_VETO};
use audio_mamba_engine::learn::{Kind, LearnedTag, Span};
use audio_mamba_engine::onset::OnsetDetector;
use audio_mamba_engine::{Label, Session};
use std::collections::VecDeque;
use std::io::Write;

/// Parameter values the analysis reads, sampled once per model window.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub window_seconds: f32,
    pub sensitivity: f32,
    pub channel: u8,
    /// Per row (model slots, then learned slots): enabled, raw threshold, note, CC
    /// (percussion comes from the label or the learned tag's kind).
    pub tags: [(bool, f32, Option<u8>, Option<u8>); ROWS],
    /// The learned slot being taught, if any, and whether "this is it" is held.
    pub learn_into: Option<usize>,
    pub learn_mark: bool,
}

/// A stretch of the input with the tag probabilities the model gave it, by slot.
#[derive(Clone, Copy, Debug)]
struct Item {
    start: u64,
    end: u64,
    probs: [f32; ROWS],
    /// Part of it was emitted already (it waits for hits to become final).
    continued: bool,
}

/// The last window's probabilities, from which its stretches are queued; when that window held
/// only silence, the next silent windows of the same length reuse them.
struct LastPrediction {
    /// Length (model samples) of the silent window they came from; None when not silent.
    silent_len: Option<usize>,
    clip: Vec<f32>,
    /// `[steps][classes]`, empty without framewise output.
    frames: Vec<f32>,
    /// `[steps][dim]` frame embeddings (what sustained learned tags read), likewise.
    embeddings: Vec<f32>,
    dim: usize,
    steps: usize,
}

/// A learned slot being taught: from where (model samples, `produced`'s count) and the spans
/// "this is it" was held.
struct Recording {
    slot: usize,
    from: u64,
    marks: Vec<(u64, u64)>,
    /// Where the held mark began, while it is held.
    open: Option<u64>,
}

/// The hit model's part of the analysis.
struct HitPath {
    clf: HitClassifier,
    /// Per slot: the hit model's class for the slot's drum.
    slot_class: [Option<usize>; SLOTS],
    /// Onsets (host positions) whose window is not complete in the history yet.
    waiting: VecDeque<u64>,
}

/// The engine sessions an analysis runs on, kept across activations (warm).
pub struct Sessions {
    pub tagger: Session,
    pub hits: Option<HitClassifier>,
}

pub struct Analyzer {
    tagger: Session,
    hit_path: Option<HitPath>,
    host_rate: u32,
    model_rate: u32,
    clip: usize,
    hop: u64,
    resampler: Stream,
    /// Model-rate history, ring indexed by model sample number.
    hist: Vec<f32>,
    produced: u64,
    /// Model sample from which the history has been silent up to `produced`.
    quiet_since: u64,
    last: LastPrediction,
    reuse_silence: bool,
    silent_windows: u64,
    next_end: u64,
    /// Host position of model sample 0 (moves on after a gap).
    origin: u64,
    host_pos: u64,
    window: Vec<f32>,
    /// Onsets, classified when there is a hit model, not yet turned into events.
    onsets: VecDeque<Hit>,
    new_onsets: Vec<u64>,
    /// Hits handed to the event generator for one stretch (reused).
    stretch_hits: Vec<Hit>,
    det: OnsetDetector,
    gen: EventGen,
    items: VecDeque<Item>,
    slot_label: [Option<usize>; SLOTS],
    percussive: [bool; SLOTS],
    /// The learned tags the analysis scores, by learned slot.
    learned: [Option<LearnedTag>; LEARNED],
    recording: Option<Recording>,
    /// Slots whose tag says "drums here" (drum tags, Drum kit, Drum machine): the veto's view.
    drumish: [bool; SLOTS],
    trace: Option<Box<dyn Write + Send>>,
    timeline: Option<FrameTx>,
}

impl Analyzer {
    pub fn new(tagger: Session, host_rate: u32, hop_seconds: f32) -> Result<Self, String> {
        let cfg = tagger.model().config().clone();
        let model_rate = cfg.sample_rate();
        let clip = cfg.clip_samples();
        let hop = ((hop_seconds as f64 * model_rate as f64).round() as u64).clamp(1, clip as u64);
        let slot_label = slot_labels(&cfg.labels);
        let percussive = slot_label.map(|l| l.is_some_and(|i| drum_note(&cfg.labels[i]).is_some()));
        let drumish = slot_label.map(|l| l.is_some_and(|i| says_drums(&cfg.labels[i])));
        let rate = host_rate as f32;
        let (classes, steps) = (cfg.num_classes(), cfg.frame_steps().unwrap_or(0));
        let dim = tagger.model().graph().out.dim;
        // Long enough for a window and a hop, and for a lesson (`learned`).
        let lesson = (LESSON_SECONDS * model_rate as f64).ceil() as usize;
        let hist_len = clip.max(lesson) + hop as usize + 65_536;
        Ok(Self {
            quiet_since: 0,
            last: LastPrediction {
                silent_len: None,
                clip: Vec::with_capacity(classes),
                frames: Vec::with_capacity(classes * steps),
                embeddings: Vec::with_capacity(dim * steps),
                dim,
                steps: 0,
            },
            learned: Default::default(),
            recording: None,
            reuse_silence: true,
            silent_windows: 0,
            hit_path: None,
            stretch_hits: Vec::with_capacity(64),
            drumish,
            resampler: Stream::new(host_rate, model_rate)?,
            hist: vec![0.0; hist_len],
            produced: 0,
            next_end: hop,
            origin: 0,
            host_pos: 0,
            window: vec![0.0; clip],
            onsets: VecDeque::with_capacity(1024),
            new_onsets: Vec::with_capacity(64),
            det: OnsetDetector::new(rate),
            gen: EventGen::new(Timing::at_rate(rate)),
            items: VecDeque::with_capacity(64),
            slot_label,
            percussive,
            trace: None,
            timeline: None,
            tagger,
            host_rate,
            model_rate,
            clip,
            hop,
        })
    }

    /// Classifies each onset with `clf` (see [`HitPath`]); its sample rate must be the tagger's,
    /// since it reads the same model-rate history.
    pub fn set_hit_classifier(&mut self, clf: HitClassifier) -> Result<(), String> {
        let rate = clf.rate();
        if rate != self.model_rate {
            let why = format!(
                "hit model runs at {rate} Hz, the tagger at {} Hz",
                self.model_rate
            );
            return Err(why);
        }
        if clf.post() + clf.pre() + 16 > self.hist.len() - self.clip {
            return Err("hit model window longer than the history".into());
        }
        let labels: &[Label] = &clf.model().config().labels;
        let cfg = self.tagger.model().config();
        let slot_class = self.slot_label.map(|l| {
            let tag = &cfg.labels[l?];
            labels
                .iter()
                .position(|h| h.mid == tag.mid || h.name.eq_ignore_ascii_case(&tag.name))
        });
        self.hit_path = Some(HitPath {
            clf,
            slot_class,
            waiting: VecDeque::with_capacity(1024),
        });
        Ok(())
    }

    /// Whether onsets are classified (else they play every open drum tag).
    pub fn has_hit_model(&self) -> bool {
        self.hit_path.is_some()
    }

    pub fn hit_model(&self) -> Option<&std::sync::Arc<audio_mamba_engine::Model>> {
        self.hit_path.as_ref().map(|h| h.clf.model())
    }

    /// Writes one JSON line per analysed stretch (probabilities, thresholds, onsets, events).
    pub fn set_trace(&mut self, w: Box<dyn Write + Send>) {
        self.trace = Some(w);
    }

    /// Where each emitted stretch also goes, for the editor's timeline.
    pub fn set_timeline(&mut self, tx: FrameTx) {
        self.timeline = Some(tx);
    }

    /// Whether silent windows reuse the last silent prediction (on by default; off only to
    /// compare against running every window).
    pub fn set_reuse_silence(&mut self, on: bool) {
        self.reuse_silence = on;
        self.last.silent_len = None;
    }

    /// The learned tags to score from now on (the worker hands them over when the bank moves;
    /// the bank has checked them against these very models).
    pub fn set_learned(&mut self, tags: [Option<LearnedTag>; LEARNED]) {
        self.learned = tags;
    }

    fn learned_percussive(&self, j: usize) -> bool {
        self.learned[j]
            .as_ref()
            .is_some_and(|t| t.kind == Kind::Percussive)
    }

    /// Follows the learn controls, once per block of input before it is pushed: arming a slot
    /// starts its lesson, "this is it" marks spans of it, and disarming (or arming another
    /// slot) ends it and returns it to be learned.
    pub fn learn_control(&mut self, into: Option<usize>, mark: bool) -> Option<Lesson> {
        let into = into.filter(|&j| j < LEARNED);
        let now = self.model_pos(self.host_pos);
        let mut done = None;
        if self.recording.as_ref().map(|r| r.slot) != into {
            done = self.recording.take().map(|r| self.lesson(r));
            self.recording = into.map(|slot| Recording {
                slot,
                from: now,
                marks: Vec::with_capacity(64),
                open: None,
            });
        }
        if let Some(r) = self.recording.as_mut() {
            match (r.open, mark) {
                (None, true) => r.open = Some(now),
                (Some(a), false) => {
                    r.marks.push((a, now));
                    r.open = None;
                }
                _ => {}
            }
        }
        done
    }

    /// What the stretch `start..end` (host positions) is to the lesson being recorded.
    fn lesson_part(&self, start: u64, end: u64) -> LessonPart {
        let Some(r) = &self.recording else {
            return LessonPart::None;
        };
        let (a, b) = (self.model_pos(start), self.model_pos(end));
        let marked = r.marks.iter().any(|&(x, y)| x < b && a < y) || r.open.is_some_and(|x| x < b);
        match (marked, b > r.from) {
            (true, _) => LessonPart::Marked,
            (false, true) => LessonPart::Heard,
            (false, false) => LessonPart::None,
        }
    }

    /// Model sample (`produced`'s count) of a host position.
    fn model_pos(&self, host: u64) -> u64 {
        let ratio = self.host_rate as f64 / self.model_rate as f64;
        (host.saturating_sub(self.origin) as f64 / ratio).round() as u64
    }

    /// The newest `LESSON_SECONDS` of a recording (as much as the history still holds) with
    /// its marks in seconds from its start.
    fn lesson(&self, mut r: Recording) -> Lesson {
        let end = self.produced;
        if let Some(a) = r.open.take() {
            r.marks.push((a, end));
        }
        let keep = ((LESSON_SECONDS * self.model_rate as f64) as u64)
            .min(self.hist.len() as u64 - self.hop - 16);
        let start = r.from.max(end.saturating_sub(keep)).min(end);
        let n = self.hist.len() as u64;
        let audio = (start..end).map(|m| self.hist[(m % n) as usize]).collect();
        let secs = |m: u64| (m as f64 - start as f64) / self.model_rate as f64;
        let positives = r
            .marks
            .iter()
            .filter(|&&(a, b)| b > start && b > a)
            .map(|&(a, b)| Span {
                start_s: secs(a.max(start)),
                end_s: secs(b.min(end)),
            })
            .collect();
        Lesson {
            slot: r.slot,
            audio,
            rate: self.model_rate,
            positives,
        }
    }

    /// Windows that reused a silent prediction instead of running the model.
    pub fn silent_windows(&self) -> u64 {
        self.silent_windows
    }

    /// Bit per row: its gate is open.
    pub fn gates(&self) -> u64 {
        self.gen.gates()
    }

    pub fn into_sessions(self) -> Sessions {
        Sessions {
            tagger: self.tagger,
            hits: self.hit_path.map(|h| h.clf),
        }
    }

    /// The GPU failure that just moved the analysis to the CPU, once.
    pub fn take_gpu_failure(&mut self) -> Option<String> {
        self.tagger.take_gpu_failure()
    }

    /// Host samples from a sample's arrival until its events can exist, model time excluded:
    /// a hop or the hit model's window after the onset (whichever is longer: a stretch's
    /// events wait for both its tagger frame and its hits), the resampler, and the onset
    /// detector settling.
    pub fn analysis_delay(&self) -> u64 {
        let post = self.hit_path.as_ref().map_or(0, |h| h.clf.post() as u64);
        self.to_host_len(self.hop.max(post))
            + self.resampler.latency_in() as u64
            + self.host_rate as u64 / 100
    }

    fn to_host_len(&self, m: u64) -> u64 {
        (m as f64 * self.host_rate as f64 / self.model_rate as f64).ceil() as u64
    }

    pub fn host_pos(&self) -> u64 {
        self.host_pos
    }

    /// Feeds samples starting at stream position `pos`. A position that skips ahead (lost
    /// input) ends sounding notes and restarts the analysis there.
    pub fn push(&mut self, pos: u64, x: &[f32], sensitivity: f32, events: &mut Vec<Event>) {
        if pos != self.host_pos {
            self.start_afresh(pos, events);
        }
        self.det.set_sensitivity(sensitivity);
        self.new_onsets.clear();
        self.det.push(x, &mut self.new_onsets);
        match self.hit_path.as_mut() {
            Some(h) => h.waiting.extend(self.new_onsets.iter().copied()),
            None => self
                .onsets
                .extend(self.new_onsets.iter().map(|&o| Hit::unclassified(o))),
        }
        let (hist, produced, quiet) = (&mut self.hist, &mut self.produced, &mut self.quiet_since);
        let n = hist.len() as u64;
        self.resampler.push(x, &mut |v| {
            let v = if v.is_finite() { v } else { 0.0 };
            hist[(*produced % n) as usize] = v;
            *produced += 1;
            if v.abs() > SILENCE {
                *quiet = *produced;
            }
        });
        self.host_pos = pos + x.len() as u64;
    }

    /// Ends sounding notes and starts the analysis over at stream position `pos`, as for a
    /// stream that begins there (after a pause of the feed, or when the transport starts).
    pub fn start_afresh(&mut self, pos: u64, events: &mut Vec<Event>) {
        self.gen.release_all(self.host_pos, events);
        if let Ok(fresh) = Stream::new(self.host_rate, self.model_rate) {
            self.resampler = fresh;
        }
        self.det.reset(pos);
        self.hist.fill(0.0);
        (self.produced, self.next_end, self.origin, self.host_pos) = (0, self.hop, pos, pos);
        self.quiet_since = 0;
        // A lesson is what played continuously: it starts again with the stream.
        if let Some(r) = self.recording.as_mut() {
            r.from = 0;
            r.marks.clear();
            r.open = r.open.map(|_| 0);
        }
        self.onsets.clear();
        if let Some(h) = self.hit_path.as_mut() {
            h.waiting.clear();
        }
        self.items.clear();
    }

    /// Whether a model window is due.
    pub fn window_due(&self) -> bool {
        self.produced >= self.next_end
    }

    /// Whether a window after the due one is already due once `waiting` more host samples
    /// (queued, not yet pushed) arrive: a real-time worker then skips the due one.
    pub fn overtaken(&self, waiting: usize) -> bool {
        let pending = waiting as f64 * self.model_rate as f64 / self.host_rate as f64;
        self.produced as f64 + pending >= (self.next_end + self.hop) as f64
    }

    /// Skips the due window (real-time overload).
    pub fn skip_window(&mut self) {
        self.next_end += self.hop;
    }

    /// Runs the model on the window ending at the due hop and queues its newest stretch.
    pub fn run_window(&mut self, s: &Settings) -> Result<[f32; ROWS], String> {
        let end = self.next_end;
        self.next_end += self.hop;
        let len = ((s.window_seconds as f64 * self.model_rate as f64) as usize)
            .clamp(self.hop as usize, self.clip);
        let silent = self.quiet_since <= end.saturating_sub(len as u64);
        let reuse = self.reuse_silence && silent && self.last.silent_len == Some(len);
        if reuse {
            self.silent_windows += 1;
        } else {
            self.fill_window(end, len);
            let pred = self.tagger.run(&self.window).map_err(|e| e.to_string())?;
            let keep = &mut self.last;
            keep.silent_len = silent.then_some(len);
            keep.clip.clear();
            keep.clip.extend_from_slice(pred.clip_probs);
            keep.frames.clear();
            keep.frames
                .extend_from_slice(pred.frame_probs.unwrap_or(&[]));
            keep.embeddings.clear();
            keep.embeddings
                .extend_from_slice(pred.frame_embeddings.unwrap_or(&[]));
            keep.steps = pred.steps;
        }
        Ok(self.queue_items(end))
    }

    /// Copies the window of `len` model samples ending at `end` from the history, zeros before
    /// the stream's start and in front of a window shorter than the model's.
    fn fill_window(&mut self, end: u64, len: usize) {
        let n = self.hist.len() as u64;
        let lead = self.clip - len;
        self.window[..lead].fill(0.0);
        for (k, w) in self.window[lead..].iter_mut().enumerate() {
            let m = end as i64 - len as i64 + k as i64;
            *w = if m < 0 {
                0.0
            } else {
                self.hist[(m as u64 % n) as usize]
            };
        }
    }

    /// Queues the stretches of the hop ending at `end` with the last window's probabilities
    /// (and the sustained learned tags' scores of its frame embeddings); returns the newest
    /// stretch's.
    fn queue_items(&mut self, end: u64) -> [f32; ROWS] {
        let (clip, hop, slot_label) = (self.clip, self.hop, self.slot_label);
        let (origin, ratio) = (self.origin, self.host_rate as f64 / self.model_rate as f64);
        let to_host = |m: u64| origin + (m as f64 * ratio).round() as u64;
        let pred = &self.last;
        let classes = pred.clip.len();
        // Frames are aligned to the window's end; those overlapping the new hop become items.
        let framewise = !pred.frames.is_empty();
        let steps = if framewise { pred.steps } else { 1 };
        let span = (end - hop, end);
        let first = end as i64 - clip as i64;
        let mut latest = [0.0f32; ROWS];
        for t in 0..steps {
            let fs = first + (t * clip / steps) as i64;
            let fe = first + ((t + 1) * clip / steps) as i64;
            let (a, b) = (fs.max(span.0 as i64), fe.min(span.1 as i64));
            if a >= b {
                continue;
            }
            let (a, b) = (a as u64, b as u64);
            let p = if framewise {
                &pred.frames[t * classes..(t + 1) * classes]
            } else {
                &pred.clip[..]
            };
            let emb = pred.embeddings.get(t * pred.dim..(t + 1) * pred.dim);
            let probs: [f32; ROWS] = std::array::from_fn(|i| {
                if i < SLOTS {
                    return slot_label[i].map_or(0.0, |l| p[l]);
                }
                // Percussive learned rows get their hits' scores when the hits are in (`emit`).
                emb.map_or(0.0, |e| {
                    learned_score(&self.learned[i - SLOTS], Kind::Sustained, e)
                })
            });
            latest = probs;
            self.items.push_back(Item {
                start: to_host(a),
                end: to_host(b),
                probs,
                continued: false,
            });
        }
        latest
    }

    /// Classifies the waiting onsets whose windows are complete in the model-rate history.
    /// A failed run leaves its hit silent and is reported (the first error of the call).
    fn classify_hits(&mut self) -> Result<(), String> {
        let Some(h) = self.hit_path.as_mut() else {
            return Ok(());
        };
        let n = self.hist.len() as i64;
        let ratio = self.host_rate as f64 / self.model_rate as f64;
        let (pre, len) = (h.clf.pre() as i64, (h.clf.pre() + h.clf.post()) as i64);
        let produced = self.produced as i64;
        let mut result = Ok(());
        while let Some(&o) = h.waiting.front() {
            let m = (o.saturating_sub(self.origin) as f64 / ratio).round() as i64;
            let start = m - pre;
            if produced < start + len {
                break;
            }
            h.waiting.pop_front();
            let mut hit = Hit {
                pos: o,
                probs: Some([0.0; ROWS]),
                level_db: -120.0,
            };
            // A window already overwritten (a worker stalled for seconds) plays nothing.
            if start > produced - n {
                let hist = &self.hist;
                let at = |i: usize| {
                    let k = start + i as i64;
                    if k < 0 {
                        0.0
                    } else {
                        hist[(k % n) as usize]
                    }
                };
                match h.clf.classify_with(at) {
                    Ok(sc) => {
                        hit.level_db = sc.level_db;
                        let (slot_class, learned) = (&h.slot_class, &self.learned);
                        hit.probs = Some(std::array::from_fn(|k| match k.checked_sub(SLOTS) {
                            None => slot_class[k].map_or(0.0, |c| sc.probs[c]),
                            Some(j) => learned_score(&learned[j], Kind::Percussive, sc.embedding),
                        }));
                    }
                    Err(e) if result.is_ok() => result = Err(e.to_string()),
                    Err(_) => {}
                }
            }
            self.onsets.push_back(hit);
        }
        result
    }

    /// Stream position before which every onset is final and classified.
    fn hits_final(&self) -> u64 {
        let settled = self.det.settled();
        match self.hit_path.as_ref().and_then(|h| h.waiting.front()) {
            Some(&o) => settled.min(o),
            None => settled,
        }
    }

    /// Classifies the hits whose windows are in, then turns queued stretches into events
    /// (appended in time order) up to where the onsets are final and classified: a stretch
    /// whose end is not there yet is emitted in part. A failed hit classification is returned
    /// after everything else was emitted.
    pub fn emit(&mut self, s: &Settings, events: &mut Vec<Event>) -> Result<(), String> {
        let classified = self.classify_hits();
        let horizon = self.hits_final();
        let mut rules = self.rules(s);
        while let Some(front) = self.items.front_mut() {
            if front.start >= horizon {
                break;
            }
            let mut item = *front;
            let end = item.end.min(horizon);
            if end == item.end {
                self.items.pop_front();
            } else {
                front.start = end;
                front.continued = true;
            }
            while self.onsets.front().is_some_and(|o| o.pos < item.start) {
                self.onsets.pop_front();
            }
            let k = self.onsets.iter().take_while(|o| o.pos < end).count();
            self.stretch_hits.clear();
            self.stretch_hits.extend(self.onsets.drain(..k));
            let vetoed = self.hit_path.is_some()
                && !(0..SLOTS).any(|i| self.drumish[i] && item.probs[i] >= DRUM_VETO);
            for (i, r) in rules.iter_mut().enumerate().take(SLOTS) {
                r.hits_vetoed = vetoed && self.percussive[i];
            }
            // A percussive learned row shows (and sends as CC) its strongest hit's score.
            for j in 0..LEARNED {
                if self.learned_percussive(j) {
                    let row = SLOTS + j;
                    item.probs[row] = self
                        .stretch_hits
                        .iter()
                        .filter_map(|h| h.probs.map(|p| p[row]))
                        .fold(0.0, f32::max);
                }
            }
            let first = events.len();
            self.gen.frame(
                item.start..end,
                &item.probs,
                &rules,
                s.channel,
                &self.stretch_hits,
                events,
            );
            if self.timeline.is_some() || self.trace.is_some() {
                self.report(&item, end, &rules, vetoed, &events[first..]);
            }
        }
        classified
    }

    /// The editor's timeline frame and the trace line of an emitted stretch.
    fn report(&mut self, item: &Item, end: u64, rules: &[Rule; ROWS], vetoed: bool, ev: &[Event]) {
        let slot_of = |key: u8| rules.iter().position(|r| r.enabled && r.note == Some(key));
        let fired_at = |pos: u64| {
            ev.iter().fold(0u64, |m, e| match e.msg {
                Msg::NoteOn { key, .. } if e.pos == pos || pos == u64::MAX => {
                    slot_of(key).map_or(m, |i| m | 1 << i)
                }
                _ => m,
            })
        };
        let secs = |p: u64| p as f64 / self.host_rate as f64;
        let lesson = self.lesson_part(item.start, end);
        if let Some(tx) = self.timeline.as_mut() {
            let mut marks = [HitMark::default(); HIT_MARKS];
            let n = self.stretch_hits.len().min(HIT_MARKS);
            for (m, h) in marks.iter_mut().zip(&self.stretch_hits) {
                *m = HitMark {
                    at: secs(h.pos),
                    fired: fired_at(h.pos),
                };
            }
            // A full ring (no editor reading) drops the frame: the worker never waits.
            let _ = tx.push(Frame {
                start: secs(item.start),
                end: secs(end),
                probs: item.probs,
                gates: self.gen.gates(),
                fired: fired_at(u64::MAX),
                hits: marks,
                n_hits: n as u8,
                continues: item.continued,
                lesson,
            });
        }
        if let Some(w) = self.trace.as_mut() {
            let hits: Vec<_> = self
                .stretch_hits
                .iter()
                .map(|h| {
                    serde_json::json!({"pos": h.pos, "level_db": h.level_db,
                        "probs": h.probs.map(|p| p.to_vec())})
                })
                .collect();
            let line = serde_json::json!({
                "start": item.start, "end": end, "probs": &item.probs[..],
                "thresholds": rules.iter().map(|r| r.threshold).collect::<Vec<_>>(),
                "hits": hits, "drums_vetoed": vetoed,
                "events": ev.iter().map(|e| format!("{:?}", e)).collect::<Vec<_>>(),
            });
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    fn rules(&self, s: &Settings) -> [Rule; ROWS] {
        std::array::from_fn(|i| {
            let (enabled, thr, note, cc) = s.tags[i];
            let (filled, percussive) = match i.checked_sub(SLOTS) {
                None => (self.slot_label[i].is_some(), self.percussive[i]),
                Some(j) => (self.learned[j].is_some(), self.learned_percussive(j)),
            };
            Rule {
                enabled: enabled && filled,
                threshold: effective_threshold(thr, s.sensitivity),
                note,
                cc,
                percussive,
                hits_vetoed: false,
            }
        })
    }
}

/// A learned row's confidence for one embedding when its tag is of `kind` (0 otherwise):
/// percussive tags read hits, sustained ones frames.
fn learned_score(tag: &Option<LearnedTag>, kind: Kind, embedding: &[f32]) -> f32 {
    match tag {
        Some(t) if t.kind == kind => confidence(t.score(embedding), t.threshold),
        _ => 0.0,
    }
}

/// Sensitivity 0.5 keeps a threshold; 1 halves it, 0 raises it by half.
pub fn effective_threshold(threshold: f32, sensitivity: f32) -> f32 {
    (threshold * (1.5 - sensitivity.clamp(0.0, 1.0))).clamp(0.01, 0.99)
}

#[cfg(test)]
mod learn_tests;
#[cfg(test)]
mod tests;
