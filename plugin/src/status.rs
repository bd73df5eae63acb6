//! What the plugin tells the user (and the future editor): a status line and counters, written
//! by the main thread and the worker and read by anyone without locks.

use crate::tags::SLOTS;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Default)]
pub struct Status {
    /// Which model is used, or why none is (model loading and worker problems).
    pub message: ArcSwap<String>,
    pub windows_run: AtomicU64,
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
    /// Latest probability of each slot (f32 bits), for meters.
    pub probs: [AtomicU32; SLOTS],
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
