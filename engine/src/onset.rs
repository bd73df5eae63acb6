//! Streaming onset detector at the signal's own rate, refined to the sample: the plugin runs it
//! on the host stream, `amtag hits` on a decoded file. Tests: `tests/host/tests/onset.rs`.
//!
//! Detection: energy of ~1.5 ms frames, of the signal and of its first difference (so hi-hats
//! over a ringing kick still show a rise), compared with the frames 3-9 earlier. Refinement:
//! the first sample of the rise whose magnitude leaves the background, where background is the
//! loudest sample before the rise and the target is the rise's peak.
//!
//! A stream starts after silence (a file's start, the transport starting, the feed resuming): a
//! hit on its first sample, a loop's downbeat, counts. A stream that resumes in the middle of a
//! sound gets an onset there, which the hit model classifies like any other.
//!
//! Banded (the default): the same rule also watches a 150 Hz low-pass (kicks) and a 6 kHz
//! high-pass (hats) of the signal, at a lower rise, since under accompaniment a kick or a hat
//! barely moves the whole signal's energy. Measured on the validation kits with accompaniment
//! (training/README, `onset_ceiling.py --bands`): true onsets found go from 0.61 / 0.72 / 0.60
//! (kick / snare / hat) to 0.87 / 0.94 / 0.80.

use biquad::{Biquad, Coefficients, DirectForm2Transposed, ToHertz, Type};

/// Frames kept for the reference level and the refinement search.
const KEEP: usize = 16;
/// Reference frames: `REF_FROM..REF_TO` frames before the current one.
const REF_FROM: usize = 3;
const REF_TO: usize = 9;
/// A band's rise relative to the whole signal's: 6x where the whole signal needs 8x.
const BAND_RISE: f32 = 0.75;
/// Frame energy below which nothing is a hit: -50 dBFS, so a noise floor fading in is not one.
const FLOOR: f32 = 1e-5;
/// The bands: (type, corner Hz, share). Fourth-order Butterworth, as two biquads of these Qs.
/// A band's rise counts where its frame holds at least `share` of the whole signal's energy:
/// the low band of a noise floor or a room's rumble swings by itself (in white noise, up to 3%
/// of the whole in a 1.5 ms frame, where a kick's low band holds a third or more); hats are
/// quieter against a mix but their band is steadier.
const BANDS: [(Type<f64>, f64, f32); 2] =
    [(Type::LowPass, 150.0, 0.1), (Type::HighPass, 6000.0, 0.01)];
const BUTTERWORTH_4_Q: [f64; 2] = [0.541_196_1, 1.306_563];

/// Which signals the detector watches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Onsets {
    /// The whole signal only.
    Broadband,
    /// The whole signal, its low band and its high band; an onset in any of them counts.
    #[default]
    Banded,
}

impl std::str::FromStr for Onsets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "banded" => Ok(Self::Banded),
            "broadband" => Ok(Self::Broadband),
            other => Err(format!(
                "unknown onset detector `{other}` (banded or broadband)"
            )),
        }
    }
}

/// The rise rule on one signal.
struct Rise {
    /// Last `KEEP * frame` samples, ring indexed by stream position.
    hist: Vec<f32>,
    /// The same, differentiated: refines onsets of bright sounds over low ringing ones.
    dhist: Vec<f32>,
    /// Energies of the last KEEP frames: (plain, differentiated).
    energy: [(f32, f32); KEEP],
    acc: (f32, f32),
    prev: f32,
    /// The rise needed, relative to the detector's ratio.
    scale: f32,
    /// Compare with the loudest reference frame instead of their mean: a band holds fewer
    /// partials than the whole signal, so its frame energies swing more (a decaying tone beating
    /// in the low band, noise in the high band) and a mean would let a swing count as a rise.
    against_peak: bool,
}

impl Rise {
    fn new(frame: usize, scale: f32, against_peak: bool) -> Self {
        Self {
            hist: vec![0.0; frame * KEEP],
            dhist: vec![0.0; frame * KEEP],
            energy: [(0.0, 0.0); KEEP],
            acc: (0.0, 0.0),
            prev: 0.0,
            scale,
            against_peak,
        }
    }

    /// Energy of the frame last closed.
    fn last_energy(&self) -> f32 {
        self.energy[KEEP - 1].0
    }

    fn clear(&mut self) {
        self.hist.fill(0.0);
        self.dhist.fill(0.0);
        self.energy = [(0.0, 0.0); KEEP];
        (self.acc, self.prev) = ((0.0, 0.0), 0.0);
    }

    fn push(&mut self, y: f32, pos: u64) {
        let d = y - self.prev;
        let i = (pos % self.hist.len() as u64) as usize;
        (self.hist[i], self.dhist[i], self.prev) = (y, d, y);
        self.acc.0 += y * y;
        self.acc.1 += d * d;
    }

    /// Closes the frame that ends at stream position `end`; the onset of a rise in it whose
    /// energy is above `floor`. Before the stream's first frames the history is silence.
    fn end_frame(&mut self, frame: usize, ratio: f32, end: u64, floor: f32) -> Option<u64> {
        let f = frame as f32;
        let e = (self.acc.0 / f, self.acc.1 / f);
        self.acc = (0.0, 0.0);
        self.energy.rotate_left(1);
        self.energy[KEEP - 1] = e;
        let refs = &self.energy[KEEP - 1 - REF_TO..KEEP - 1 - REF_FROM + 1];
        let reference = |k: fn(&(f32, f32)) -> f32| match self.against_peak {
            true => refs.iter().map(k).fold(0.0, f32::max),
            false => refs.iter().map(k).sum::<f32>() / refs.len() as f32,
        };
        let (r0, r1) = (reference(|e| e.0), reference(|e| e.1));
        let ratio = ratio * self.scale;
        let plain = e.0 > floor && e.0 > ratio * r0;
        let bright = e.1 > floor && e.1 > ratio * r1;
        if !plain && !bright {
            return None;
        }
        Some(refine(
            frame,
            end,
            if bright { &self.dhist } else { &self.hist },
        ))
    }
}

/// First sample of the rise in `sig` that ends at `frame_end`.
fn refine(frame: usize, frame_end: u64, sig: &[f32]) -> u64 {
    let fr = frame as u64;
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

/// A band of the signal and the rise rule on it.
struct Band {
    filters: [DirectForm2Transposed<f64>; 2],
    rise: Rise,
    share: f32,
}

impl Band {
    /// None where the corner is not below Nyquist (a 6 kHz high band at 8 kHz).
    fn new((kind, corner, share): (Type<f64>, f64, f32), rate: f32, frame: usize) -> Option<Self> {
        if corner >= 0.45 * rate as f64 {
            return None;
        }
        let filter = |q| {
            Coefficients::from_params(kind, (rate as f64).hz(), corner.hz(), q)
                .ok()
                .map(DirectForm2Transposed::<f64>::new)
        };
        Some(Self {
            filters: [filter(BUTTERWORTH_4_Q[0])?, filter(BUTTERWORTH_4_Q[1])?],
            rise: Rise::new(frame, BAND_RISE, true),
            share,
        })
    }

    fn clear(&mut self) {
        self.filters.iter_mut().for_each(|f| f.reset_state());
        self.rise.clear();
    }
}

pub struct OnsetDetector {
    frame: usize,
    whole: Rise,
    bands: Vec<Band>,
    filled: usize,
    pos: u64,
    dc: (f32, f32, f32),
    last_onset: Option<u64>,
    min_gap: u64,
    /// Energy rise (ratio) of the whole signal that counts as an onset.
    ratio: f32,
}

impl OnsetDetector {
    /// The default detector (banded).
    pub fn new(rate: f32) -> Self {
        Self::with(rate, Onsets::default())
    }

    pub fn with(rate: f32, onsets: Onsets) -> Self {
        let frame = ((rate * 0.0015).round() as usize).max(8);
        let bands = match onsets {
            Onsets::Broadband => Vec::new(),
            Onsets::Banded => BANDS
                .iter()
                .filter_map(|&band| Band::new(band, rate, frame))
                .collect(),
        };
        Self {
            frame,
            whole: Rise::new(frame, 1.0, false),
            bands,
            filled: 0,
            pos: 0,
            dc: (1.0 - std::f32::consts::TAU * 20.0 / rate, 0.0, 0.0),
            last_onset: None,
            min_gap: (rate * 0.03) as u64,
            ratio: 8.0,
        }
    }

    /// Sensitivity 0..1 (0.5 neutral): the energy rise needed goes from 16x (+12 dB) to 2x
    /// (bands: 12x to 1.5x).
    pub fn set_sensitivity(&mut self, s: f32) {
        self.ratio = 2.0f32.powf(3.0 - 2.0 * (s.clamp(0.0, 1.0) - 0.5) * 2.0);
    }

    /// Restarts at stream position `pos` (after a gap in the stream), as after silence.
    pub fn reset(&mut self, pos: u64) {
        self.whole.clear();
        self.bands.iter_mut().for_each(Band::clear);
        (self.filled, self.pos) = (0, pos);
        self.dc = (self.dc.0, 0.0, 0.0);
        self.last_onset = None;
    }

    /// Stream position up to which onsets are final: later samples may still belong to a rise.
    pub fn settled(&self) -> u64 {
        self.pos.saturating_sub(3 * self.frame as u64)
    }

    /// Feeds samples continuing the stream; appends onset positions to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<u64>) {
        for &x in samples {
            let x = if x.is_finite() {
                x.clamp(-8.0, 8.0)
            } else {
                0.0
            };
            let (r, x1, y1) = self.dc;
            let y = x - x1 + r * y1;
            self.dc = (r, x, y);
            self.whole.push(y, self.pos);
            for b in &mut self.bands {
                let v = b.filters.iter_mut().fold(y as f64, |v, f| f.run(v));
                b.rise.push(v as f32, self.pos);
            }
            self.pos += 1;
            self.filled += 1;
            if self.filled == self.frame {
                self.end_frame(out);
            }
        }
    }

    fn end_frame(&mut self, out: &mut Vec<u64>) {
        self.filled = 0;
        let (frame, ratio, end) = (self.frame, self.ratio, self.pos);
        // Every rule closes its frame (their histories move on); the earliest rise counts.
        let mut onset = self.whole.end_frame(frame, ratio, end, FLOOR);
        let whole_energy = self.whole.last_energy();
        for b in &mut self.bands {
            let floor = FLOOR.max(b.share * whole_energy);
            if let Some(o) = b.rise.end_frame(frame, ratio, end, floor) {
                onset = Some(onset.map_or(o, |p| p.min(o)));
            }
        }
        let Some(onset) = onset else { return };
        if self.last_onset.is_some_and(|l| onset < l + self.min_gap) {
            return;
        }
        self.last_onset = Some(onset);
        out.push(onset);
    }
}

/// Every onset of a whole recording (`samples` mono at `rate`), as the plugin finds them in a
/// stream: what `amtag hits` and learned percussive tags read.
pub fn onsets_of(samples: &[f32], rate: u32, sensitivity: f32, onsets: Onsets) -> Vec<u64> {
    let mut det = OnsetDetector::with(rate as f32, onsets);
    det.set_sensitivity(sensitivity);
    let mut found = Vec::new();
    det.push(samples, &mut found);
    // A rise in the last few milliseconds completes its frames against silence.
    det.push(&vec![0.0; (rate as usize / 50).max(64)], &mut found);
    found.retain(|&o| (o as usize) < samples.len());
    found
}
