//! The audio thread's side: feeds the analysis ring, delays the audio by the reported latency and
//! sends the worker's events when their time comes, merged with the incoming MIDI. Every buffer
//! here is sized at activation; `process` only slices.
//!
//! Bypass keeps the delay (no jump in latency) and the incoming MIDI, ends our sounding notes and
//! stops feeding the analysis, which starts afresh where bypass ends. The analysis also starts
//! afresh when the host's transport starts rolling, so that what a bounce plays depends on the
//! timeline alone and not on how long the plugin ran before it. Sleep: once the input has
//! been silent for `sleep_after` samples (the latency plus a window and a hop: every event the
//! sound before the silence can cause has been sent by then), no note of ours is on and no event
//! is queued, `process` tells the host it may stop calling it until the input is not silent.

use crate::delay::{Delay, SILENCE};
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
    /// Silent input samples up to `pos`, and how many make the plugin sleep-ready.
    quiet: u64,
    sleep_after: u64,
    /// Our notes that are on: one bit per key, per channel.
    notes_on: [u128; 16],
    bypassed: bool,
    /// The host's transport was rolling in the last block.
    playing: bool,
    /// Events queued for positions before this one belong to the stream before a bypass.
    resumed_at: u64,
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
    /// `sleep_after`: silent input samples after which the plugin may sleep (see the module
    /// comment).
    pub fn new(
        link: Option<(FeedTx, Consumer<Event>)>,
        channels: usize,
        latency: u64,
        offline: bool,
        sleep_after: u64,
    ) -> Self {
        Self {
            link,
            delay: Delay::new(channels, latency as usize),
            latency,
            offline,
            pos: 0,
            quiet: 0,
            sleep_after: sleep_after.max(latency),
            notes_on: [0; 16],
            bypassed: false,
            playing: false,
            resumed_at: 0,
        }
    }

    /// Processes one block: `Normal` when the host may let the plugin sleep, else a tail as
    /// long as `sleep_after`.
    pub fn process<P: Plugin>(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<P>,
        worker: Option<&Worker>,
        status: &Status,
        bypass: bool,
    ) -> ProcessStatus {
        let n = buffer.samples();
        let chans = buffer.as_slice();
        // A VST3 host may flag a bounce per call only (Ardour's freewheeling export).
        let offline = self.offline || nice_plug::host_says_offline();
        self.quiet = match trailing_silence(chans, n) {
            k if k == n => self.quiet + n as u64,
            k => k as u64,
        };
        let playing = context.transport().playing;
        let rolled = playing && !self.playing && !bypass;
        self.playing = playing;
        let fed = match self.link.as_mut() {
            Some((feed, _)) if bypass => {
                feed.pause();
                false
            }
            Some((feed, _)) => {
                if rolled {
                    feed.pause();
                }
                if let (true, Some(w)) = (offline && feed.paused(), worker) {
                    // The worker takes up the pause before the audio after it goes in, or a fast
                    // render would drop it: bounces must not depend on timing.
                    if !w.wait_for(|| !feed.paused(), OFFLINE_WAIT) {
                        status.offline_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
                feed.push_mix(self.pos, chans, n)
            }
            None => false,
        };
        if let (true, true, Some(w)) = (fed, offline, worker) {
            // Bounces must not depend on timing: this block's analysis is finished first.
            if !w.wait_idle(self.pos + n as u64, OFFLINE_WAIT) {
                status.offline_timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.delay.process(chans);

        let mut incoming = context.next_event();
        // Our notes end where bypass or a new analysis begins; events queued for the stream before
        // a new analysis are stale.
        if rolled || (bypass && !self.bypassed) {
            self.release_all(context);
        }
        if rolled || (!bypass && self.bypassed) {
            self.resumed_at = self.pos;
        }
        self.bypassed = bypass;
        if let Some((_, events)) = self.link.as_mut() {
            if bypass {
                // Nothing of ours plays while bypassed; what the worker still sends is dropped.
                let k = events.slots();
                if let Ok(chunk) = events.read_chunk(k) {
                    chunk.commit_all();
                }
            } else {
                incoming = self.send_due(context, status, incoming, n as u64);
            }
        }
        let queue_empty = self.link.as_ref().is_none_or(|(_, q)| q.is_empty());
        while let Some(inc) = incoming {
            let _ = context.try_send_event(inc);
            incoming = context.next_event();
        }
        self.pos += n as u64;
        let silent_notes = self.notes_on.iter().all(|&b| b == 0);
        if self.quiet >= self.sleep_after && silent_notes && queue_empty {
            ProcessStatus::Normal
        } else {
            ProcessStatus::Tail(self.sleep_after.min(u32::MAX as u64) as u32)
        }
    }

    /// Sends the queued events due in this block, interleaved with the incoming ones before
    /// them; returns the first incoming event not sent yet.
    fn send_due<P: Plugin>(
        &mut self,
        context: &mut impl ProcessContext<P>,
        status: &Status,
        mut incoming: Option<NoteEvent<P::SysExMessage>>,
        n: u64,
    ) -> Option<NoteEvent<P::SysExMessage>> {
        let Some((_, events)) = self.link.as_mut() else {
            return incoming;
        };
        let end = self.pos + n;
        let mut sent = 0;
        while sent < MAX_EVENTS_PER_BLOCK {
            let Ok(e) = events.peek() else { break };
            let at = e.pos + self.latency;
            if at >= end {
                break;
            }
            let e = *e;
            let _ = events.pop();
            if e.pos < self.resumed_at {
                continue;
            }
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
            let bits = &mut self.notes_on[usize::from(e.channel.min(15))];
            match e.msg {
                Msg::NoteOn { key, .. } => *bits |= 1u128 << key.min(127),
                Msg::NoteOff { key } => *bits &= !(1u128 << key.min(127)),
                Msg::Cc { .. } => {}
            }
            let _ = context.try_send_event(to_note_event(&e, timing));
            sent += 1;
        }
        incoming
    }

    /// Ends every note of ours that is on, at the start of the block.
    fn release_all<P: Plugin>(&mut self, context: &mut impl ProcessContext<P>) {
        for (channel, bits) in self.notes_on.iter_mut().enumerate() {
            while *bits != 0 {
                let key = bits.trailing_zeros() as u8;
                *bits &= !(1u128 << key);
                let off = Event {
                    pos: 0,
                    channel: channel as u8,
                    msg: Msg::NoteOff { key },
                };
                let _ = context.try_send_event(to_note_event::<P::SysExMessage>(&off, 0));
            }
        }
    }
}

/// Samples at the end of the block that are silent on every channel (non-finite ones count as
/// silent: they leave the plugin as zeros).
fn trailing_silence(channels: &[&mut [f32]], n: usize) -> usize {
    let loud = |i: usize| {
        channels
            .iter()
            .any(|c| c[i].is_finite() && c[i].abs() > SILENCE)
    };
    (0..n).rev().take_while(|&i| !loud(i)).count()
}
