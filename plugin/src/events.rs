//! Turns per-frame tag probabilities (and onsets) into MIDI events with stream positions.
//!
//! Sustained tags: the note turns on when the probability rises to the threshold and off when it
//! falls below threshold minus hysteresis, after a minimum hold. Percussive (drum) tags play a
//! short note at a detected onset's exact sample (the tagger's frames, 0.1-0.3 s, are far too
//! coarse to place a hit) when the hit classifier says that drum was struck there: its
//! probability for the slot's drum reaches the slot's threshold. Without a hit model an onset
//! plays every drum tag whose probability is above threshold (every hit plays kick, snare and
//! hat when all three are in the mix: the reason the hit model exists).

use crate::tags::ROWS;
use audio_mamba_engine::hits::hit_velocity;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Msg {
    NoteOn { key: u8, velocity: f32 },
    NoteOff { key: u8 },
    Cc { cc: u8, value: u8 },
}

/// A MIDI event at a position of the input stream (samples since activation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    pub pos: u64,
    pub channel: u8,
    pub msg: Msg,
}

/// A detected onset and what the hit classifier made of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub pos: u64,
    /// Per row: the probability that the row's drum (or learned percussive sound) was struck
    /// here. None without a hit model.
    pub probs: Option<[f32; ROWS]>,
    /// Peak level just after the onset, dBFS.
    pub level_db: f32,
}

impl Hit {
    /// An onset the hit classifier has not seen (no hit model).
    pub fn unclassified(pos: u64) -> Self {
        Self {
            pos,
            probs: None,
            level_db: 0.0,
        }
    }
}

/// What one slot should do, read from the parameters for each frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rule {
    pub enabled: bool,
    /// Effective threshold (sensitivity applied).
    pub threshold: f32,
    pub note: Option<u8>,
    pub cc: Option<u8>,
    pub percussive: bool,
    /// This stretch's hits play none of this row's notes: the tagger says no drums here (the
    /// drum veto; model drum rows only, a learned sound need not be a drum).
    pub hits_vetoed: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Shortest sustained note, samples.
    pub min_hold: u64,
    /// Length of a drum note, samples (shorter when the next hit comes first).
    pub drum_length: u64,
    /// Shortest interval between two CC messages of one tag, samples.
    pub cc_interval: u64,
}

impl Timing {
    pub fn at_rate(rate: f32) -> Self {
        let ms = |m: f32| (rate * m / 1000.0).round().max(1.0) as u64;
        Self {
            min_hold: ms(50.0),
            drum_length: ms(50.0),
            cc_interval: ms(20.0),
        }
    }
}

pub fn hysteresis(threshold: f32) -> f32 {
    (threshold / 2.0).min(0.1)
}

/// MIDI velocity (0..1) from how far the probability is above the threshold.
pub fn velocity(p: f32, threshold: f32) -> f32 {
    let conf = ((p - threshold) / (1.0 - threshold).max(1e-3)).clamp(0.0, 1.0);
    ((0.25 + 0.75 * conf) * 127.0).round() / 127.0
}

#[derive(Clone, Copy, Default)]
struct Slot {
    gate: bool,
    /// Sustained note playing: (key, channel, since).
    held: Option<(u8, u8, u64)>,
    last_cc: Option<u8>,
    last_cc_pos: u64,
}

pub struct EventGen {
    timing: Timing,
    slots: [Slot; ROWS],
    /// Drum note-offs not yet due: (pos, key, channel).
    pending_offs: Vec<(u64, u8, u8)>,
}

impl EventGen {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            slots: [Slot::default(); ROWS],
            pending_offs: Vec::with_capacity(64),
        }
    }

    /// Bit per row: its gate is open (its tag is on; a sustained note sounds).
    pub fn gates(&self) -> u64 {
        self.slots
            .iter()
            .enumerate()
            .fold(0, |m, (i, s)| m | (u64::from(s.gate) << i))
    }

    /// Handles the stretch `span` with slot probabilities `probs` and the hits inside it
    /// (sorted). Appends events in time order; all are at positions in `[start, end)` except
    /// due note-offs of earlier stretches when stretches were skipped (placed at `start`).
    pub fn frame(
        &mut self,
        span: std::ops::Range<u64>,
        probs: &[f32],
        rules: &[Rule],
        channel: u8,
        hits: &[Hit],
        out: &mut Vec<Event>,
    ) {
        let (start, end) = (span.start, span.end);
        let first = out.len();
        let t = self.timing;
        for (i, (slot, rule)) in self.slots.iter_mut().zip(rules).enumerate() {
            let p = probs.get(i).copied().unwrap_or(0.0);
            let p = if p.is_finite() {
                p.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let thr = rule.threshold;
            slot.gate = rule.enabled && (p >= thr || (slot.gate && p >= thr - hysteresis(thr)));

            if let (true, Some(cc)) = (rule.enabled, rule.cc) {
                let value = (p * 127.0).round() as u8;
                let due = slot.last_cc.is_none() || start >= slot.last_cc_pos + t.cc_interval;
                if slot.last_cc != Some(value) && due {
                    out.push(Event {
                        pos: start,
                        channel,
                        msg: Msg::Cc { cc, value },
                    });
                    slot.last_cc = Some(value);
                    slot.last_cc_pos = start;
                }
            }

            // A held note ends when its tag closes (after the minimum hold) or its rule changed.
            if let Some((key, ch, since)) = slot.held {
                let stale =
                    !rule.enabled || rule.percussive || rule.note != Some(key) || ch != channel;
                let off_at = (since + t.min_hold).max(start);
                if stale || (!slot.gate && off_at < end) {
                    let pos = if stale { start } else { off_at };
                    out.push(Event {
                        pos,
                        channel: ch,
                        msg: Msg::NoteOff { key },
                    });
                    slot.held = None;
                } else {
                    slot.gate = true;
                }
            }
            let Some(key) = rule.note.filter(|_| rule.enabled) else {
                continue;
            };
            if rule.percussive {
                let hits = if rule.hits_vetoed { &[][..] } else { hits };
                for hit in hits.iter().filter(|h| h.pos >= start && h.pos < end) {
                    let vel = match hit.probs {
                        Some(hp) if hp[i] >= thr => hit_velocity(hit.level_db, hp[i], thr),
                        Some(_) => continue,
                        None if slot.gate => velocity(p, thr),
                        None => continue,
                    };
                    let pos = hit.pos;
                    if let Some(k) = self
                        .pending_offs
                        .iter()
                        .position(|&(_, k, c)| k == key && c == channel)
                    {
                        let off = self.pending_offs.swap_remove(k).0.clamp(start, pos);
                        out.push(Event {
                            pos: off,
                            channel,
                            msg: Msg::NoteOff { key },
                        });
                    }
                    out.push(Event {
                        pos,
                        channel,
                        msg: Msg::NoteOn { key, velocity: vel },
                    });
                    self.pending_offs.push((pos + t.drum_length, key, channel));
                }
            } else if slot.gate && slot.held.is_none() {
                // Rising edge, or the gate stayed open while the note was enabled or remapped.
                out.push(Event {
                    pos: start,
                    channel,
                    msg: Msg::NoteOn {
                        key,
                        velocity: velocity(p, thr),
                    },
                });
                slot.held = Some((key, channel, start));
            }
        }
        self.pending_offs.retain(|&(pos, key, channel)| {
            if pos < end {
                out.push(Event {
                    pos: pos.max(start),
                    channel,
                    msg: Msg::NoteOff { key },
                });
                false
            } else {
                true
            }
        });
        out[first..].sort_by_key(|e| e.pos);
    }

    /// Ends every sounding note at `pos` (reset, gap in the stream, shutdown).
    pub fn release_all(&mut self, pos: u64, out: &mut Vec<Event>) {
        for (_, key, channel) in self.pending_offs.drain(..) {
            out.push(Event {
                pos,
                channel,
                msg: Msg::NoteOff { key },
            });
        }
        for slot in &mut self.slots {
            if let Some((key, channel, _)) = slot.held.take() {
                out.push(Event {
                    pos,
                    channel,
                    msg: Msg::NoteOff { key },
                });
            }
            slot.gate = false;
        }
    }
}

#[cfg(test)]
mod tests;
