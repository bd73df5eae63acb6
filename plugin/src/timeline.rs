//! What the editor's timeline draws: one `Frame` per analysed stretch, handed from the worker to
//! the GUI through a lock-free ring, and the GUI's own 30 s history of them. The worker never
//! waits: with no editor open the ring fills and new frames are dropped.

use crate::tags::ROWS;
use std::collections::VecDeque;

/// Seconds of history the timeline shows.
pub const SPAN_SECONDS: f64 = 30.0;
/// Frames the ring holds: several times what 30 s produce at the shortest hop.
pub const RING: usize = 4096;

/// Hits one frame carries for the timeline's marks (a stretch is at most a hop long).
pub const HIT_MARKS: usize = 16;

/// A detected hit: when, and which rows' notes it played (0: not a drum hit).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HitMark {
    pub at: f64,
    pub fired: u64,
}

/// What a stretch was to a lesson (a learned slot being taught).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LessonPart {
    #[default]
    None,
    /// Played while a slot was armed: a negative example unless marked.
    Heard,
    /// "This is it" was held: a positive example.
    Marked,
}

/// One stretch of the stream with its tag probabilities, by slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Stream time in seconds (host samples / host rate since activation).
    pub start: f64,
    pub end: f64,
    pub probs: [f32; ROWS],
    /// Bit per row: its note is sounding after this stretch.
    pub gates: u64,
    /// Bit per row: a note-on fired inside this stretch.
    pub fired: u64,
    /// The first `n_hits` are the stretch's hits.
    pub hits: [HitMark; HIT_MARKS],
    pub n_hits: u8,
    /// The rest of the previous frame's tagger frame (the worker emits a tagger frame in
    /// parts as its hits become final).
    pub continues: bool,
    pub lesson: LessonPart,
}

impl Frame {
    pub fn hit_marks(&self) -> &[HitMark] {
        &self.hits[..(self.n_hits as usize).min(HIT_MARKS)]
    }

    /// Appends `next` if it is the rest of this tagger frame, so the timeline keeps one frame
    /// per model step.
    fn absorb(&mut self, next: &Frame) -> bool {
        if !next.continues || (next.start - self.end).abs() > 1e-9 {
            return false;
        }
        self.end = next.end;
        self.gates = next.gates;
        self.fired |= next.fired;
        self.lesson = self.lesson.max(next.lesson);
        for m in next.hit_marks() {
            if (self.n_hits as usize) < HIT_MARKS {
                self.hits[self.n_hits as usize] = *m;
                self.n_hits += 1;
            }
        }
        true
    }
}

pub type FrameTx = rtrb::Producer<Frame>;
pub type FrameRx = rtrb::Consumer<Frame>;

pub fn channel() -> (FrameTx, FrameRx) {
    rtrb::RingBuffer::new(RING)
}

/// The GUI side: the last [`SPAN_SECONDS`] of frames, newest last.
#[derive(Default)]
pub struct History {
    frames: VecDeque<Frame>,
}

impl History {
    /// Takes everything waiting in `rx` and forgets what fell out of the span. A frame that
    /// starts before the newest one ends means the stream restarted: the old frames go.
    pub fn drain(&mut self, rx: &mut FrameRx) {
        while let Ok(f) = rx.pop() {
            self.push(f);
        }
    }

    pub fn push(&mut self, f: Frame) {
        if self.frames.back().is_some_and(|b| f.start + 1e-9 < b.start) {
            self.frames.clear();
        }
        if !self.frames.back_mut().is_some_and(|b| b.absorb(&f)) {
            self.frames.push_back(f);
        }
        let end = f.end;
        while self
            .frames
            .front()
            .is_some_and(|x| x.end < end - SPAN_SECONDS)
        {
            self.frames.pop_front();
        }
    }

    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Stream time of the newest frame's end (the right edge of the timeline).
    pub fn now(&self) -> f64 {
        self.frames.back().map_or(0.0, |f| f.end)
    }

    /// Highest probability of each row over the span.
    pub fn peaks(&self) -> [f32; ROWS] {
        let mut p = [0.0f32; ROWS];
        for f in &self.frames {
            for (a, b) in p.iter_mut().zip(&f.probs) {
                *a = a.max(*b);
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(start: f64, end: f64, slot0: f32) -> Frame {
        let mut probs = [0.0; ROWS];
        probs[0] = slot0;
        Frame {
            start,
            end,
            probs,
            gates: 0,
            fired: 0,
            hits: [HitMark::default(); HIT_MARKS],
            n_hits: 0,
            continues: false,
            lesson: LessonPart::None,
        }
    }

    #[test]
    fn parts_of_one_tagger_frame_join_with_their_hits() {
        let mut h = History::default();
        let mut a = frame(1.0, 1.1, 0.5);
        a.hits[0] = HitMark { at: 1.05, fired: 1 };
        a.n_hits = 1;
        let mut b = frame(1.1, 1.25, 0.5);
        b.hits[0] = HitMark { at: 1.2, fired: 0 };
        b.n_hits = 1;
        b.fired = 2;
        b.continues = true;
        h.push(a);
        h.push(b);
        // Same probabilities, but the next tagger frame: kept apart.
        h.push(frame(1.25, 1.5, 0.5));
        assert_eq!(h.len(), 2);
        let first = h.frames().next().unwrap();
        assert_eq!((first.end, first.fired), (1.25, 2));
        assert_eq!(
            first.hit_marks(),
            [
                HitMark { at: 1.05, fired: 1 },
                HitMark { at: 1.2, fired: 0 }
            ]
        );
    }

    #[test]
    fn history_keeps_thirty_seconds_and_the_peaks_within_them() {
        let (mut tx, mut rx) = channel();
        let mut h = History::default();
        tx.push(frame(0.0, 0.25, 0.9)).unwrap();
        for i in 1..200 {
            let t = i as f64 * 0.25;
            tx.push(frame(t, t + 0.25, 0.2)).unwrap();
        }
        h.drain(&mut rx);
        assert!((h.now() - 50.0).abs() < 1e-9);
        assert!(h.frames().all(|f| f.end >= h.now() - SPAN_SECONDS));
        assert_eq!(h.len(), 121);
        // The 0.9 at t = 0 fell out of the span.
        assert!((h.peaks()[0] - 0.2).abs() < 1e-6);
    }

    #[test]
    fn a_restarted_stream_clears_the_history() {
        let mut h = History::default();
        h.push(frame(10.0, 10.5, 0.5));
        h.push(frame(0.0, 0.5, 0.7));
        assert_eq!(h.len(), 1);
        assert!((h.peaks()[0] - 0.7).abs() < 1e-6);
    }

    #[test]
    fn a_full_ring_drops_frames_instead_of_blocking() {
        let (mut tx, _rx) = channel();
        for i in 0..RING {
            tx.push(frame(i as f64, i as f64 + 1.0, 0.0)).unwrap();
        }
        assert!(tx.push(frame(0.0, 1.0, 0.0)).is_err());
    }
}
