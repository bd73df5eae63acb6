//! The audio thread's side: feeds the analysis ring, delays the audio by the reported latency and
//! sends the worker's events when their time comes, merged with the incoming MIDI. Every buffer
//! here is sized at activation; `process` only slices.

use crate::delay::Delay;
use crate::events::{Event, Msg};
use crate::feed::FeedTx;
use crate::status::Status;
use crate::worker::Worker;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;
use rtrb::Consumer;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Our events sent per block at most; the rest go out at the next block (hosts bound the queue).
const MAX_EVENTS_PER_BLOCK: usize = 512;
/// Longest an offline render waits for one block's analysis.
const OFFLINE_WAIT: Duration = Duration::from_secs(60);

pub struct Realtime {
    /// None without a model: audio still passes (and is still delayed, as reported).
    pub link: Option<(FeedTx, Consumer<Event>)>,
    pub delay: Delay,
    /// Samples the events are shifted by (the reported latency, 0 without compensation).
    pub latency: u64,
    pub offline: bool,
    pub pos: u64,
}

fn to_note_event<S>(e: &Event, timing: u32) -> NoteEvent<S> {
    let channel = e.channel.min(15);
    match e.msg {
        Msg::NoteOn { key, velocity } => NoteEvent::NoteOn {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key.min(127)),
            velocity,
        },
        Msg::NoteOff { key } => NoteEvent::NoteOff {
            timing,
            voice_id: VoiceID::Wildcard,
            channel: Channel::Number(channel),
            key: Key::Number(key.min(127)),
            velocity: 0.0,
        },
        Msg::Cc { cc, value } => NoteEvent::MidiCC {
            timing,
            channel,
            cc,
            value: f32::from(value.min(127)) / 127.0,
        },
    }
}

impl Realtime {
    pub fn new(
        link: Option<(FeedTx, Consumer<Event>)>,
        channels: usize,
        latency: u64,
        offline: bool,
    ) -> Self {
        Self {
            link,
            delay: Delay::new(channels, latency as usize),
            latency,
            offline,
            pos: 0,
        }
    }

    pub fn process<P: Plugin>(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<P>,
        worker: Option<&Worker>,
        status: &Status,
    ) {
        let n = buffer.samples();
        let chans = buffer.as_slice();
        if let Some((feed, _)) = self.link.as_mut() {
            feed.push_mix(self.pos, chans, n);
        }
        if let (true, Some(w)) = (self.offline, worker) {
            // Bounces must not depend on timing: this block's analysis is finished first.
            if !w.wait_idle(self.pos + n as u64, OFFLINE_WAIT) {
                status.offline_timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.delay.process(chans);

        let end = self.pos + n as u64;
        let mut incoming = context.next_event();
        let mut sent = 0;
        if let Some((_, events)) = self.link.as_mut() {
            while sent < MAX_EVENTS_PER_BLOCK {
                let Ok(e) = events.peek() else { break };
                let at = e.pos + self.latency;
                if at >= end {
                    break;
                }
                let e = *e;
                let _ = events.pop();
                if at < self.pos {
                    status.events_late.fetch_add(1, Ordering::Relaxed);
                }
                let timing = at.saturating_sub(self.pos) as u32;
                while let Some(inc) = incoming.take() {
                    if inc.timing() > timing {
                        incoming = Some(inc);
                        break;
                    }
                    let _ = context.try_send_event(inc);
                    incoming = context.next_event();
                }
                let _ = context.try_send_event(to_note_event(&e, timing));
                sent += 1;
            }
        }
        while let Some(inc) = incoming {
            let _ = context.try_send_event(inc);
            incoming = context.next_event();
        }
        self.pos = end;
    }
}
