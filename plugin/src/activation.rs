//! Everything an activation sets up off the audio thread: the model, the worker and its
//! queues, the latency and the buffers the audio thread will only slice.

use crate::analyzer::{Analyzer, Sessions};
use crate::params::PluginParams;
use crate::realtime::Realtime;
use crate::status::{store_f32, Status};
use crate::tags::slot_labels;
use crate::timeline;
use crate::worker::{self, Worker};
use crate::{feed, model_store};
use audio_mamba_engine::hits::HitClassifier;
use audio_mamba_engine::{BackendChoice, Model, Session};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Events the worker may have queued ahead of the audio thread.
const EVENT_QUEUE: usize = 8192;

#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub rate: u32,
    pub max_block: usize,
    pub channels: usize,
    pub offline: bool,
}

/// Seconds a model run may take (a fixed function of the model, so latency and renders are
/// repeatable): 2 x multiply-accumulates at a conservative 10 GFLOP/s on one core, plus 30 ms.
fn model_budget_seconds(model: &Model) -> f64 {
    0.03 + 2.0 * model.config().macs() as f64 / 10e9
}

/// Hits the budget allows per model run beside it (a 16th-note hi-hat at 240 bpm gives four
/// per 0.25 s hop; kick and hat together are one onset).
const HITS_PER_RUN: f64 = 8.0;

/// The same for the hit classifications that may queue behind one model run.
fn hits_budget_seconds(analyzer: &Analyzer) -> f64 {
    analyzer.hit_model().map_or(0.0, |m| {
        HITS_PER_RUN * 2.0 * m.config().macs() as f64 / 10e9
    })
}

/// One window at a time, one CPU thread per instance: many instances share the machine, and
/// the GPU device and weights are shared by all of them (engine `gpu::GpuContext::shared`).
fn new_tagger_session(model: &Arc<Model>) -> Result<Session, String> {
    // AUDIO_MAMBA_BACKEND: auto (default: a real GPU when there is one, else the CPU), cpu, or
    // gpu (any adapter, the CPU-emulated lavapipe included)
    let choice = audio_mamba_engine::env::backend()
        .map_err(|e| e.to_string())?
        .unwrap_or(BackendChoice::Auto);
    Session::new(model.clone(), 1, choice, 1).map_err(|e| e.to_string())
}

/// Starts the analysis. An error leaves the instance passing audio through; `session` keeps
/// the warmed-up sessions across activations of the same models.
pub fn start(
    params: &Arc<PluginParams>,
    status: &Arc<Status>,
    session: &mut Option<Sessions>,
    s: Setup,
) -> Result<(Worker, Realtime), String> {
    if !(8_000..=384_000).contains(&s.rate) {
        return Err(format!(
            "sample rate {} Hz is outside 8-384 kHz; audio passes through",
            s.rate
        ));
    }
    let path = params
        .model_path
        .read()
        .map(|p| p.clone())
        .unwrap_or_default();
    let loaded = model_store::resolve(&path);
    // Main thread: the one place a problem with the model is also logged for the user.
    nice_plug::nice_log!("{}", loaded.message);
    status.set_message(loaded.message.clone());
    let model = loaded.model.clone().ok_or_else(|| loaded.message.clone())?;
    let (old_tagger, old_hits) = match session.take() {
        Some(Sessions { tagger, hits }) => (Some(tagger), hits),
        None => (None, None),
    };
    let tagger = match old_tagger {
        Some(old) if Arc::ptr_eq(old.model(), &model) => old,
        _ => new_tagger_session(&model)?,
    };
    let mut line = format!("{}; analysis on {}", loaded.message, tagger.describe());
    if let Some(why) = tagger.notice() {
        line.push_str(&format!(" ({why})"));
    }
    publish_to_editor(status, &model, &tagger, params.hop.value());
    let mut analyzer = Analyzer::new(tagger, s.rate, params.hop.value())?;
    line.push_str("; ");
    line.push_str(&attach_hit_model(&mut analyzer, old_hits));
    // Tags learned on other models stay in the project, unused, with the reason shown.
    params
        .learned_tags
        .check_models(&model, analyzer.hit_model());
    status.set_message(line);
    let poll = worker::POLL.as_secs_f64() * s.rate as f64;
    let delay = analyzer.analysis_delay()
        + ((model_budget_seconds(&model) + hits_budget_seconds(&analyzer)) * s.rate as f64 + poll)
            .ceil() as u64
        + 2 * s.max_block as u64;
    let latency = if params.latency_compensation.value() {
        delay
    } else {
        0
    };
    // After this much silence the windows hold nothing but silence and their events are out.
    let sleep_after = delay
        + ((model.config().clip_seconds() + f64::from(params.hop.value())) * s.rate as f64).ceil()
            as u64;
    status.latency_samples.store(latency, Ordering::Relaxed);
    status.sample_rate.store(s.rate, Ordering::Relaxed);
    let (frames_tx, frames_rx) = timeline::channel();
    analyzer.set_timeline(frames_tx);
    *status.timeline.lock().unwrap_or_else(|p| p.into_inner()) = Some(frames_rx);
    // Two seconds of analysis input (plus blocks) ride out a worker busy with a long window.
    let (feed_tx, feed_rx) = feed::feed(2 * s.rate as usize + 4 * s.max_block);
    let (ev_tx, ev_rx) = rtrb::RingBuffer::new(EVENT_QUEUE);
    let worker = Worker::spawn(
        analyzer,
        feed_rx,
        ev_tx,
        params.clone(),
        status.clone(),
        s.offline,
    )?;
    Ok((
        worker,
        Realtime::new(
            Some((feed_tx, ev_rx)),
            s.channels,
            latency,
            s.offline,
            sleep_after,
        ),
    ))
}

/// Gives the analysis its hit classifier (the warm one if the model is the same); the line
/// says which, or why drum notes follow the drum tags instead.
fn attach_hit_model(analyzer: &mut Analyzer, old: Option<HitClassifier>) -> String {
    let (model, line) = model_store::resolve_hits();
    let Some(model) = model else {
        return line;
    };
    // One CPU thread: a hit is 0.26 s of audio (about a millisecond), too small for a GPU trip.
    let clf = match old {
        Some(c) if Arc::ptr_eq(c.model(), &model) => Ok(c),
        _ => HitClassifier::new(model, 1, BackendChoice::Cpu),
    };
    match clf {
        Ok(c) => match analyzer.set_hit_classifier(c) {
            Ok(()) => line,
            Err(why) => format!("hit model not used ({why}): drum notes follow the drum tags"),
        },
        Err(e) => format!("hit model not used ({e}): drum notes follow the drum tags"),
    }
}

/// What the editor's status line and tag names show about this activation.
fn publish_to_editor(status: &Status, model: &Model, tagger: &Session, hop: f32) {
    let cfg = model.config();
    status.backend.store(Arc::new(tagger.describe()));
    status
        .model_name
        .store(Arc::new(format!("{} {}", cfg.name, cfg.version)));
    status
        .model_parameters
        .store(model.parameter_count() as u64, Ordering::Relaxed);
    store_f32(&status.window_seconds, cfg.clip_seconds() as f32);
    store_f32(&status.hop_seconds, hop);
    let names = slot_labels(&cfg.labels)
        .iter()
        .map(|l| l.map_or(String::new(), |i| cfg.labels[i].name.clone()))
        .collect();
    status.slot_names.store(Arc::new(names));
}
