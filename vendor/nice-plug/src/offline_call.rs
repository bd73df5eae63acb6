//! PATCHED (audio-mamba): the process mode a host gives with each call. VST3 hosts may flag a
//! freewheeling bounce only in `ProcessData::processMode` (Ardour does so) and never through
//! `setupProcessing`, which is all that reaches `BufferConfig::process_mode`. The VST3 wrapper
//! records the call's mode here for the duration of `Plugin::process`.

use std::cell::Cell;

thread_local! {
    static OFFLINE: Cell<bool> = const { Cell::new(false) };
}

/// Whether the host flagged the `process()` call in progress on this thread as offline
/// (VST3 `kOffline`); false outside one and for formats without a per-call mode.
pub fn host_says_offline() -> bool {
    OFFLINE.with(Cell::get)
}

pub(crate) fn set(offline: bool) {
    OFFLINE.with(|c| c.set(offline));
}
