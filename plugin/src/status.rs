//! What the plugin tells the user (through the editor): a status line and counters, written by
//! the main thread and the worker and read by anyone without locks. The timeline's frame ring is
//! the one exception: its receiving end sits behind a mutex that only the main thread (at
//! activation) and the GUI thread take.

use crate::tags::ROWS;
use crate::timeline::FrameRx;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Status {
    /// Which model is used, or why none is (model loading and worker problems).
    pub message: ArcSwap<String>,
    /// Model windows analysed, and how many of those held only silence and reused the last
    /// silent window's prediction instead of running the model.
    pub windows_run: AtomicU64,
    pub windows_silent: AtomicU64,
    /// Windows skipped because the worker fell behind real time.
    pub windows_dropped: AtomicU64,
    /// Analysis samples lost because the worker did not drain its input in time.
    pub samples_lost: AtomicU64,
    /// Events that reached the audio thread after their time (sent at the block start).
    pub events_late: AtomicU64,
    /// Offline blocks whose analysis did not finish in time (renders then may miss events).
    pub offline_timeouts: AtomicU64,
    /// Last model run, microseconds.
    pub model_micros: AtomicU32,
    /// Latest probability of each row (f32 bits), for meters.
    pub probs: Meters,
    /// Bit per row: its note is sounding.
    pub gates: AtomicU64,
    /// What the current activation runs: backend and adapter, e.g. "cpu (1 thread)".
    pub backend: ArcSwap<String>,
    /// The model's name, parameter count and window (f32 bits, seconds).
    pub model_name: ArcSwap<String>,
    pub model_parameters: AtomicU64,
    pub window_seconds: AtomicU32,
    pub hop_seconds: AtomicU32,
    /// The model label in each slot, by name ("" for an empty slot).
    pub slot_names: ArcSwap<Vec<String>>,
    /// Reported latency and the rate it is counted in.
    pub latency_samples: AtomicU64,
    pub sample_rate: AtomicU32,
    /// The current activation's frames for the timeline (see the module comment).
    pub timeline: Mutex<Option<FrameRx>>,
}

impl Status {
    pub fn set_message(&self, m: impl Into<String>) {
        self.message.store(Arc::new(m.into()));
    }

    pub fn message(&self) -> Arc<String> {
        self.message.load_full()
    }

    pub fn prob(&self, slot: usize) -> f32 {
        f32::from_bits(self.probs[slot].load(Ordering::Relaxed))
    }
}

/// One f32 (as bits) per row; arrays over 32 have no `Default`.
pub struct Meters(pub [AtomicU32; ROWS]);

impl Default for Meters {
    fn default() -> Self {
        Self(std::array::from_fn(|_| AtomicU32::new(0)))
    }
}

impl std::ops::Deref for Meters {
    type Target = [AtomicU32; ROWS];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// f32 in an atomic, for the few settings the editor shows.
pub fn store_f32(a: &AtomicU32, v: f32) {
    a.store(v.to_bits(), Ordering::Relaxed);
}

pub fn load_f32(a: &AtomicU32) -> f32 {
    f32::from_bits(a.load(Ordering::Relaxed))
}
