//! Kaldi fbank front end used by AST / DASS checkpoints (model.md section 1, docs/weights.md),
//! following torchaudio.compliance.kaldi.fbank with the settings those models use.

use super::mel::{kaldi_filterbank, MelFilter};
use crate::config::KaldiConfig;
use realfft::{num_complex::Complex, RealFftPlanner, RealToComplex};
use std::sync::Arc;

pub struct Kaldi {
    cfg: KaldiConfig,
    win_len: usize,
    shift: usize,
    filters: Vec<MelFilter>,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
}

impl Kaldi {
    pub fn new(cfg: &KaldiConfig) -> Self {
        let sr = cfg.sample_rate as f64;
        let win_len = (sr * 0.025) as usize;
        let shift = (sr * 0.010) as usize;
        let padded = win_len.next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(padded);
        // "hanning" in Kaldi is the symmetric Hann window.
        let window = (0..win_len)
            .map(|i| {
                (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (win_len - 1) as f64).cos())
                    as f32
            })
            .collect();
        Self {
            filters: kaldi_filterbank(sr, padded, cfg.n_mels, 20.0, 0.0),
            window,
            frame: vec![0.0; padded],
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            power: vec![0.0; padded / 2 + 1],
            fft,
            win_len,
            shift,
            cfg: cfg.clone(),
        }
    }

    /// `wave`: exactly `clip_samples`; `image`: `n_mels x target_frames` (time along the width).
    pub fn compute(&mut self, wave: &[f32], image: &mut [f32]) {
        let c = &self.cfg;
        let (mels, cols) = (c.n_mels, c.target_frames);
        let mean = (wave.iter().map(|&v| v as f64).sum::<f64>() / wave.len() as f64) as f32;
        let frames = if wave.len() >= self.win_len {
            1 + (wave.len() - self.win_len) / self.shift
        } else {
            0
        };
        // Frames past the end of the clip are zero-padded after the log, before normalising.
        let pad_value = (0.0 - c.norm_mean) / (2.0 * c.norm_std);
        image[..mels * cols].fill(pad_value);
        for f in 0..frames.min(cols) {
            let seg = &wave[f * self.shift..f * self.shift + self.win_len];
            let fr = &mut self.frame[..self.win_len];
            for (d, &s) in fr.iter_mut().zip(seg) {
                *d = s - mean;
            }
            let dc = fr.iter().sum::<f32>() / self.win_len as f32;
            fr.iter_mut().for_each(|v| *v -= dc);
            for i in (1..self.win_len).rev() {
                fr[i] -= 0.97 * fr[i - 1];
            }
            fr[0] -= 0.97 * fr[0];
            for (v, &w) in fr.iter_mut().zip(&self.window) {
                *v *= w;
            }
            self.frame[self.win_len..].fill(0.0);
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.fft_scratch)
                .expect("buffer sizes come from the plan");
            for (p, z) in self.power.iter_mut().zip(&self.spectrum) {
                *p = z.norm_sqr();
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let v = filter.apply(&self.power).max(f32::EPSILON).ln();
                image[m * cols + f] = (v - c.norm_mean) / (2.0 * c.norm_std);
            }
        }
    }
}
