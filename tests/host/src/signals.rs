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

/// The voices of a rendered kit, each a few parameters so that two kits differ the way two
/// real kits do (tuning, decay, noise colour).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kit {
    /// Kick: sweep from `kick_hz.0` down to `kick_hz.1`, amplitude decay in seconds.
    pub kick_hz: (f32, f32),
    pub kick_decay: f32,
    /// Snare: shell tone, noise decay, the noise's brightness (0 dark .. 1 bright).
    pub snare_hz: f32,
    pub snare_decay: f32,
    pub snare_bright: f32,
    /// Toms: pitches (their sweep is a quarter of the kick's).
    pub tom_hz: [f32; 3],
    pub hat_decay: f32,
}

/// One voice of a [`Kit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KitVoice {
    Kick,
    Snare,
    Tom(usize),
    Hat,
}

impl Kit {
    pub const A: Kit = Kit {
        kick_hz: (160.0, 48.0),
        kick_decay: 0.18,
        snare_hz: 185.0,
        snare_decay: 0.09,
        snare_bright: 0.7,
        tom_hz: [95.0, 125.0, 160.0],
        hat_decay: 0.03,
    };
    /// Another kit: a deeper, drier kick, a higher, darker snare with a short ring.
    pub const B: Kit = Kit {
        kick_hz: (120.0, 60.0),
        kick_decay: 0.1,
        snare_hz: 330.0,
        snare_decay: 0.16,
        snare_bright: 0.2,
        tom_hz: [85.0, 110.0, 140.0],
        hat_decay: 0.06,
    };

    /// Renders `hits` (sample, voice, velocity 0..1) into `len` samples over a -70 dB floor.
    /// `seed` varies the noise, as two strokes of one drum differ.
    pub fn render(
        &self,
        rate: f32,
        hits: &[(usize, KitVoice, f32)],
        len: usize,
        seed: u32,
    ) -> Vec<f32> {
        let mut noise = Noise(seed.wrapping_mul(2_654_435_761).wrapping_add(1));
        let mut x: Vec<f32> = (0..len).map(|_| 0.0003 * noise.next()).collect();
        let tau = std::f32::consts::TAU;
        for &(at, voice, vel) in hits {
            let (mut phase, mut lp, mut last) = (0.0f32, 0.0f32, 0.0f32);
            for i in 0..(rate * 0.5) as usize {
                let Some(v) = x.get_mut(at + i) else { break };
                let t = i as f32 / rate;
                let n = noise.next();
                let s = match voice {
                    KitVoice::Kick => {
                        let (hi, lo) = self.kick_hz;
                        phase += tau * (lo + (hi - lo) * (-t / 0.035).exp()) / rate;
                        0.9 * phase.sin() * (-t / self.kick_decay).exp()
                            + 0.2 * n * (-t / 0.004).exp()
                    }
                    KitVoice::Snare => {
                        // one-pole lowpass mixed with the raw noise sets its colour
                        lp += (1.0 - self.snare_bright.mul_add(0.9, 0.05)) * (n - lp);
                        let colour = self.snare_bright * n + (1.0 - self.snare_bright) * 3.0 * lp;
                        0.45 * colour * (-t / self.snare_decay).exp()
                            + 0.35 * (tau * self.snare_hz * t).sin() * (-t / 0.05).exp()
                    }
                    KitVoice::Tom(k) => {
                        let f = self.tom_hz[k];
                        phase += tau * f * (1.0 + 0.25 * (-t / 0.05).exp()) / rate;
                        0.7 * phase.sin() * (-t / 0.25).exp() + 0.1 * n * (-t / 0.01).exp()
                    }
                    KitVoice::Hat => {
                        let d = n - last;
                        last = n;
                        0.25 * d * (-t / self.hat_decay).exp()
                    }
                };
                *v += vel * s;
            }
        }
        x
    }
}

/// A deterministic groove of `count` hits of a kit, `gap` seconds apart from `start`: voices
/// cycle through a shuffled order, velocities 0.5..1.
pub fn kit_groove(
    rate: f32,
    start: f32,
    gap: f32,
    count: usize,
    seed: u32,
) -> Vec<(usize, KitVoice, f32)> {
    let voices = [
        KitVoice::Kick,
        KitVoice::Snare,
        KitVoice::Hat,
        KitVoice::Tom(0),
        KitVoice::Snare,
        KitVoice::Kick,
        KitVoice::Tom(1),
        KitVoice::Hat,
        KitVoice::Tom(2),
    ];
    let mut noise = Noise(seed);
    (0..count)
        .map(|i| {
            let at = ((start + i as f32 * gap) * rate).round() as usize;
            let v = voices[(i * 7 + seed as usize) % voices.len()];
            (at, v, 0.75 + 0.25 * noise.next())
        })
        .collect()
}

/// Sustained instruments for learning a sustained tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    /// A bright sawtooth lead with vibrato.
    SawLead,
    /// Drawbar-organ sines (fundamental, octave, twelfth).
    Organ,
    /// A plucked string (Karplus-Strong), re-plucked every note.
    Pluck,
    /// Band-passed noise swelling like wind.
    Wind,
}

/// `notes` notes of `instrument`, each `note_s` long, pitches walking from `base_hz`.
pub fn melody(
    rate: f32,
    instrument: Instrument,
    base_hz: f32,
    notes: usize,
    note_s: f32,
    seed: u32,
) -> Vec<f32> {
    let per = (note_s * rate) as usize;
    let mut out = vec![0.0f32; per * notes];
    let mut noise = Noise(seed.wrapping_add(77));
    let tau = std::f32::consts::TAU;
    let steps = [0.0, 2.0, 4.0, 5.0, 7.0, 9.0, 7.0, 4.0];
    let (mut bp, mut phase) = ([0.0f32; 2], 0.0f32);
    for k in 0..notes {
        let f = base_hz * 2f32.powf(steps[(k + seed as usize) % steps.len()] / 12.0);
        let mut string: Vec<f32> = (0..((rate / f) as usize).max(2))
            .map(|_| noise.next())
            .collect();
        for i in 0..per {
            let t = i as f32 / rate;
            let env = (t / 0.02).min(1.0) * (((per - i) as f32 / rate) / 0.03).min(1.0);
            let v = match instrument {
                Instrument::SawLead => {
                    phase = (phase + f * (1.0 + 0.006 * (tau * 5.5 * t).sin()) / rate).fract();
                    0.3 * (2.0 * phase - 1.0)
                }
                Instrument::Organ => {
                    phase = (phase + f / rate).fract();
                    let p = tau * phase;
                    0.25 * (p.sin() + 0.5 * (2.0 * p).sin() + 0.3 * (3.0 * p).sin())
                }
                Instrument::Pluck => {
                    let j = i % string.len();
                    let next = string[(j + 1) % string.len()];
                    string[j] = 0.498 * (string[j] + next);
                    0.5 * string[j]
                }
                Instrument::Wind => {
                    let rad = 0.995f32;
                    let c = 2.0 * rad * (tau * (f * 4.0).min(rate * 0.4) / rate).cos();
                    let y = 0.05 * noise.next() + c * bp[0] - rad * rad * bp[1];
                    bp[1] = bp[0];
                    bp[0] = y;
                    0.3 * y * (0.6 + 0.4 * (tau * 0.7 * t).sin())
                }
            };
            out[k * per + i] = env * v;
        }
    }
    out
}
