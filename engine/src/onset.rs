//! Streaming onset detector at the signal's own rate, refined to the sample: the plugin runs it
//! on the host stream, `amtag hits` on a decoded file. Tests: `tests/onset.rs`.
//!
//! Detection: energy of ~1.5 ms frames, of the signal and of its first difference (so hi-hats
//! over a ringing kick still show a rise), compared with the frames 3-12 ms earlier. Refinement:
//! the first sample of the rise whose magnitude leaves the background, where background is the
//! loudest sample before the rise and the target is the rise's peak.

/// Frames kept for the reference level and the refinement search.
const KEEP: usize = 16;
/// Reference frames: `REF_FROM..REF_TO` frames before the current one.
const REF_FROM: usize = 3;
const REF_TO: usize = 9;

pub struct OnsetDetector {
    frame: usize,
    /// Last `KEEP * frame` samples (DC-blocked), ring indexed by stream position.
    hist: Vec<f32>,
    /// The same, differentiated: refines onsets of bright sounds over low ringing ones.
    dhist: Vec<f32>,
    /// Energies of the last KEEP frames: (plain, differentiated).
    energy: [(f32, f32); KEEP],
    acc: (f32, f32),
    filled: usize,
    frames_seen: u64,
    pos: u64,
    prev: f32,
    dc: (f32, f32, f32),
    last_onset: Option<u64>,
    min_gap: u64,
    /// Energy rise (ratio) that counts as an onset.
    ratio: f32,
}

impl OnsetDetector {
    pub fn new(rate: f32) -> Self {
        let frame = ((rate * 0.0015).round() as usize).max(8);
        Self {
            frame,
            hist: vec![0.0; frame * KEEP],
            dhist: vec![0.0; frame * KEEP],
            energy: [(0.0, 0.0); KEEP],
            acc: (0.0, 0.0),
            filled: 0,
            frames_seen: 0,
            pos: 0,
            prev: 0.0,
            dc: (1.0 - std::f32::consts::TAU * 20.0 / rate, 0.0, 0.0),
            last_onset: None,
            min_gap: (rate * 0.03) as u64,
            ratio: 8.0,
        }
    }

    /// Sensitivity 0..1 (0.5 neutral): the energy rise needed goes from 16x (+12 dB) to 2x.
    pub fn set_sensitivity(&mut self, s: f32) {
        self.ratio = 2.0f32.powf(3.0 - 2.0 * (s.clamp(0.0, 1.0) - 0.5) * 2.0);
    }

    /// Restarts at stream position `pos` (after a gap in the stream).
    pub fn reset(&mut self, pos: u64) {
        self.hist.fill(0.0);
        self.dhist.fill(0.0);
        self.energy = [(0.0, 0.0); KEEP];
        self.acc = (0.0, 0.0);
        (self.filled, self.frames_seen, self.pos, self.prev) = (0, 0, pos, 0.0);
        self.dc = (self.dc.0, 0.0, 0.0);
        self.last_onset = None;
    }

    /// Stream position up to which onsets are final: later samples may still belong to a rise.
    pub fn settled(&self) -> u64 {
        self.pos.saturating_sub(3 * self.frame as u64)
    }

    /// Feeds samples continuing the stream; appends onset positions to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<u64>) {
        let n = self.hist.len();
        for &x in samples {
            let x = if x.is_finite() {
                x.clamp(-8.0, 8.0)
            } else {
                0.0
            };
            let (r, x1, y1) = self.dc;
            let y = x - x1 + r * y1;
            self.dc = (r, x, y);
            let d = y - self.prev;
            self.hist[(self.pos % n as u64) as usize] = y;
            self.dhist[(self.pos % n as u64) as usize] = d;
            self.prev = y;
            self.acc.0 += y * y;
            self.acc.1 += d * d;
            self.pos += 1;
            self.filled += 1;
            if self.filled == self.frame {
                self.end_frame(out);
            }
        }
    }

    fn end_frame(&mut self, out: &mut Vec<u64>) {
        let f = self.frame as f32;
        let e = (self.acc.0 / f, self.acc.1 / f);
        self.acc = (0.0, 0.0);
        self.filled = 0;
        self.energy.rotate_left(1);
        self.energy[KEEP - 1] = e;
        self.frames_seen += 1;
        if self.frames_seen < REF_TO as u64 + 1 {
            return;
        }
        let refs = &self.energy[KEEP - 1 - REF_TO..KEEP - 1 - REF_FROM + 1];
        let mean = |k: fn(&(f32, f32)) -> f32| refs.iter().map(k).sum::<f32>() / refs.len() as f32;
        let (r0, r1) = (mean(|e| e.0), mean(|e| e.1));
        // Floors: -50 dBFS, so a noise floor fading in is not a hit.
        let plain = e.0 > 1e-5 && e.0 > self.ratio * r0;
        let bright = e.1 > 1e-5 && e.1 > self.ratio * r1;
        if !plain && !bright {
            return;
        }
        let onset = self.refine(self.pos, if bright { &self.dhist } else { &self.hist });
        if self.last_onset.is_some_and(|l| onset < l + self.min_gap) {
            return;
        }
        self.last_onset = Some(onset);
        out.push(onset);
    }

    /// First sample of the rise in `sig` that ends at `frame_end`.
    fn refine(&self, frame_end: u64, sig: &[f32]) -> u64 {
        let fr = self.frame as u64;
        let at = |p: u64| sig[(p % sig.len() as u64) as usize].abs();
        let search = frame_end.saturating_sub(3 * fr);
        let bg_from = frame_end.saturating_sub((REF_TO as u64 + 1) * fr);
        let background = (bg_from..search).map(at).fold(0.0f32, f32::max);
        let peak = (search..frame_end).map(at).fold(0.0f32, f32::max);
        let level = background + 0.2 * (peak - background);
        (search..frame_end)
            .find(|&p| at(p) > level)
            .unwrap_or(search)
    }
}

/// Every onset of a whole recording (`samples` mono at `rate`), as the plugin finds them in a
/// stream: what `amtag hits` and learned percussive tags read.
pub fn onsets_of(samples: &[f32], rate: u32, sensitivity: f32) -> Vec<u64> {
    let mut det = OnsetDetector::new(rate as f32);
    det.set_sensitivity(sensitivity);
    let mut found = Vec::new();
    det.push(samples, &mut found);
    // A rise in the last few milliseconds completes its frames against silence.
    det.push(&vec![0.0; (rate as usize / 50).max(64)], &mut found);
    found.retain(|&o| (o as usize) < samples.len());
    found
}
