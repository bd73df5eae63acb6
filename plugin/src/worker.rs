//! The instance's own analysis thread (not nice-plug's background executor, whose shutdown can
//! panic inside the host). It drains the feed, runs the model every hop and queues events; the
//! audio thread never waits for it except in offline renders.

use crate::analyzer::{Analyzer, Sessions, Settings};
use crate::events::Event;
use crate::feed::FeedRx;
use crate::learned::{self, Lesson};
use crate::params::PluginParams;
use crate::status::Status;
use rtrb::Producer;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// How long an idle real-time worker sleeps before looking for input again.
pub const POLL: Duration = Duration::from_millis(2);
/// Backlog past which a real-time worker drops events rather than grow (audio thread stalled).
const MAX_BACKLOG: usize = 16_384;

#[derive(Default)]
pub struct Shared {
    stop: AtomicBool,
    /// Stream position up to which all input is consumed and all events it allows are queued.
    idle_at: AtomicU64,
    /// Cleared when the thread ends (also by a panic), so nobody waits for it.
    alive: AtomicBool,
}

pub struct Worker {
    handle: Option<JoinHandle<Option<Sessions>>>,
    thread: Thread,
    shared: Arc<Shared>,
}

/// The parameter values the analysis needs, read lock-free.
pub fn settings(p: &PluginParams) -> Settings {
    let opt = |v: i32| u8::try_from(v).ok();
    Settings {
        window_seconds: p.window.value(),
        sensitivity: p.sensitivity.value(),
        channel: (p.midi_channel.value().clamp(1, 16) - 1) as u8,
        tags: std::array::from_fn(|i| {
            let t = p.row(i);
            (
                t.enabled.value(),
                t.threshold.value(),
                opt(t.note.value()),
                opt(t.cc.value()),
            )
        }),
        learn_into: usize::try_from(p.learn_into.value() - 1).ok(),
        learn_mark: p.learn_mark.value(),
    }
}

impl Worker {
    pub fn spawn(
        analyzer: Analyzer,
        feed: FeedRx,
        events: Producer<Event>,
        params: Arc<PluginParams>,
        status: Arc<Status>,
        offline: bool,
    ) -> Result<Self, String> {
        let shared = Arc::new(Shared::default());
        shared.alive.store(true, Ordering::Release);
        let sh = shared.clone();
        let handle = std::thread::Builder::new()
            .name("audio-mamba-worker".into())
            .spawn(move || {
                let st = status.clone();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    run(analyzer, feed, events, &params, &status, &sh, offline)
                }));
                sh.alive.store(false, Ordering::Release);
                match result {
                    Ok(session) => Some(session),
                    Err(_) => {
                        st.set_message(
                            "analysis stopped after an internal error; audio passes through",
                        );
                        None
                    }
                }
            })
            .map_err(|e| format!("cannot start the analysis thread: {e}"))?;
        Ok(Self {
            thread: handle.thread().clone(),
            handle: Some(handle),
            shared,
        })
    }

    pub fn wake(&self) {
        self.thread.unpark();
    }

    pub fn idle_at(&self) -> u64 {
        self.shared.idle_at.load(Ordering::Acquire)
    }

    pub fn alive(&self) -> bool {
        self.shared.alive.load(Ordering::Acquire)
    }

    /// Offline renders: waits until the worker has analysed everything up to `pos` (bounded, so
    /// a stuck worker cannot hang a bounce forever). Returns false on timeout.
    pub fn wait_idle(&self, pos: u64, limit: Duration) -> bool {
        self.wait_for(|| self.idle_at() >= pos, limit)
    }

    /// Offline renders: waits (bounded) until `done` holds, waking the worker meanwhile.
    pub fn wait_for(&self, done: impl Fn() -> bool, limit: Duration) -> bool {
        let t = Instant::now();
        while !done() && self.alive() {
            self.wake();
            if t.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        true
    }

    /// Stops and joins the thread, returning the sessions for the next activation. A model run
    /// in flight finishes first (runs are bounded by the window length).
    pub fn stop(mut self) -> Option<Sessions> {
        self.join()
    }

    fn join(&mut self) -> Option<Sessions> {
        self.shared.stop.store(true, Ordering::Release);
        self.thread.unpark();
        self.handle.take().and_then(|h| h.join().ok().flatten())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.join();
    }
}

fn run(
    mut an: Analyzer,
    mut feed: FeedRx,
    mut queue: Producer<Event>,
    params: &PluginParams,
    status: &Status,
    shared: &Shared,
    offline: bool,
) -> Sessions {
    if let Ok(path) = std::env::var("AUDIO_MAMBA_TRACE") {
        if let Ok(f) = std::fs::File::create(&path) {
            an.set_trace(Box::new(std::io::BufWriter::new(f)));
        }
    }
    let mut buf = vec![0.0f32; 8192];
    let mut backlog: Vec<Event> = Vec::with_capacity(1024);
    let bank = &params.learned_tags;
    let mut bank_seen = None;
    while !shared.stop.load(Ordering::Acquire) {
        let s = settings(params);
        if let Some(lesson) = an.learn_control(s.learn_into, s.learn_mark) {
            teach(lesson, bank, offline);
        }
        if bank_seen != Some(bank.generation()) {
            bank_seen = Some(bank.generation());
            an.set_learned(bank.usable());
        }
        let (pos, n) = feed.pop(&mut buf);
        if feed.take_fresh() {
            an.start_afresh(pos, &mut backlog);
        }
        if n > 0 {
            an.push(pos, &buf[..n], s.sensitivity, &mut backlog);
        }
        let mut busy = n > 0;
        while an.window_due() && !shared.stop.load(Ordering::Acquire) {
            busy = true;
            if !offline && an.overtaken(feed.waiting()) {
                an.skip_window();
                status.windows_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let t = Instant::now();
            let silent_before = an.silent_windows();
            match an.run_window(&s) {
                Ok(latest) => {
                    for (a, p) in status.probs.iter().zip(latest) {
                        a.store(p.to_bits(), Ordering::Relaxed);
                    }
                }
                Err(e) => status.set_message(format!("model run failed: {e}")),
            }
            if let Some(why) = an.take_gpu_failure() {
                status.set_message(format!("GPU failed ({why}); analysis continues on the CPU"));
            }
            status.windows_run.fetch_add(1, Ordering::Relaxed);
            if an.silent_windows() == silent_before {
                status
                    .model_micros
                    .store(t.elapsed().as_micros() as u32, Ordering::Relaxed);
            } else {
                status.windows_silent.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Err(e) = an.emit(&s, &mut backlog) {
            status.set_message(format!("hit classification failed: {e}"));
        }
        status.gates.store(an.gates(), Ordering::Relaxed);
        let k = queue.slots().min(backlog.len());
        if let Ok(chunk) = queue.write_chunk_uninit(k) {
            chunk.fill_from_iter(backlog.drain(..k));
        }
        if !offline && backlog.len() > MAX_BACKLOG {
            backlog.clear();
        }
        status
            .samples_lost
            .store(feed.lost_samples(), Ordering::Relaxed);
        if !busy && backlog.is_empty() {
            shared.idle_at.store(an.host_pos(), Ordering::Release);
            std::thread::park_timeout(POLL);
        } else if !busy {
            std::thread::park_timeout(POLL);
        }
    }
    an.into_sessions()
}

/// Learns a lesson on a thread of its own, so the analysis goes on meanwhile; an offline
/// render waits for it (the audio thread is waiting for this worker anyway), so a bounce
/// that teaches a tag gives the same notes every time.
fn teach(lesson: Lesson, bank: &learned::LearnedBank, offline: bool) {
    let lesson_slot = lesson.slot;
    let bank2 = bank.clone();
    let job = std::thread::Builder::new()
        .name("audio-mamba-learn".into())
        .spawn(move || {
            let learnt = catch_unwind(AssertUnwindSafe(|| learned::learn_lesson(&bank2, &lesson)));
            if learnt.is_err() {
                bank2.report(
                    lesson.slot,
                    "learning stopped after an internal error; the slot keeps what it had",
                );
            }
        });
    match job {
        Ok(handle) if offline => {
            let _ = handle.join();
        }
        Ok(_) => {}
        Err(e) => bank.report(lesson_slot, &format!("cannot start learning: {e}")),
    }
}
