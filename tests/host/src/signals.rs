//! Rendered test audio with known content.

/// Drum sounds of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drum {
    /// Decaying 150 -> 50 Hz sweep.
    Kick,
    /// Noise plus a 180 Hz tone.
    Snare,
    /// Short differentiated (bright) noise.
    Hat,
}

struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (self.0 >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    }
}

/// `len` samples at `rate` with each hit starting exactly at its sample, over a -60 dB floor.
pub fn drums(rate: f32, hits: &[(usize, Drum)], len: usize) -> Vec<f32> {
    let mut noise = Noise(12_345);
    let mut x: Vec<f32> = (0..len).map(|_| 0.001 * noise.next()).collect();
    for &(at, kind) in hits {
        let mut phase = 0.0f32;
        let mut last = 0.0;
        for i in 0..(rate * 0.3) as usize {
            let Some(v) = x.get_mut(at + i) else { break };
            let t = i as f32 / rate;
            *v += match kind {
                Drum::Kick => {
                    let f = 50.0 + 100.0 * (-t / 0.03).exp();
                    phase += std::f32::consts::TAU * f / rate;
                    0.8 * phase.sin() * (-t / 0.15).exp()
                }
                Drum::Snare => {
                    (0.4 * noise.next() + 0.3 * (std::f32::consts::TAU * 180.0 * t).sin())
                        * (-t / 0.06).exp()
                }
                Drum::Hat => {
                    let n = noise.next();
                    let d = n - last;
                    last = n;
                    0.25 * d * (-t / 0.02).exp()
                }
            };
        }
    }
    x
}

/// A two-bar rock beat at `bpm` starting at `start` seconds: kick on 1 and 3, snare on 2 and 4,
/// hi-hat on the off-beats. Returns the hits (sample, drum).
pub fn rock_beat(rate: f32, bpm: f32, start: f32, bars: usize) -> Vec<(usize, Drum)> {
    let beat = 60.0 / bpm;
    let mut hits = Vec::new();
    for b in 0..bars * 4 {
        let t = start + b as f32 * beat;
        let at = |t: f32| (t * rate).round() as usize;
        hits.push((at(t), if b % 2 == 0 { Drum::Kick } else { Drum::Snare }));
        hits.push((at(t + beat / 2.0), Drum::Hat));
    }
    hits.sort_by_key(|h| h.0);
    hits
}

/// Speech-like audio: a 110-140 Hz glottal pulse train through three moving formants, in
/// syllables of ~200 ms with pauses. Continuous, with soft onsets.
pub fn speech_like(rate: f32, seconds: f32) -> Vec<f32> {
    let n = (rate * seconds) as usize;
    let mut out = vec![0.0f32; n];
    let mut phase = 0.0f32;
    let mut res = [[0.0f32; 2]; 3];
    for (i, o) in out.iter_mut().enumerate() {
        let t = i as f32 / rate;
        let f0 = 125.0 + 15.0 * (t * 2.1).sin();
        phase += f0 / rate;
        let pulse = if phase >= 1.0 {
            phase -= 1.0;
            1.0
        } else {
            0.0
        };
        let syl = (t * 4.0).fract();
        let env = if syl < 0.8 {
            (std::f32::consts::PI * syl / 0.8).sin().powi(2)
        } else {
            0.0
        };
        let formants = [
            600.0 + 200.0 * (t * 3.0).sin(),
            1200.0 + 400.0 * (t * 2.3).cos(),
            2500.0,
        ];
        let mut y = 0.0;
        for (r, f) in res.iter_mut().zip(formants) {
            // Two-pole resonator, bandwidth ~100 Hz.
            let rad = (-std::f32::consts::PI * 100.0 / rate).exp();
            let c = 2.0 * rad * (std::f32::consts::TAU * f.min(rate * 0.45) / rate).cos();
            let v = pulse + c * r[0] - rad * rad * r[1];
            r[1] = r[0];
            r[0] = v;
            y += v;
        }
        *o = 0.02 * y * env;
    }
    out
}
