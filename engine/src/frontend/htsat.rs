//! HTS-AT / PANNs log-mel front end (model.md section 1, docs/weights.md).

use super::mel::{slaney_filterbank, MelFilter};
use super::resize::{bicubic_taps, resize_rows};
use crate::config::HtsatConfig;
use realfft::{num_complex::Complex, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// bn0 at inference: a per-mel affine map folded from BatchNorm's running statistics.
#[derive(Clone, Debug)]
pub struct Bn0 {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl Bn0 {
    pub fn new(weight: &[f32], bias: &[f32], mean: &[f32], var: &[f32]) -> Self {
        let scale: Vec<f32> = weight
            .iter()
            .zip(var)
            .map(|(w, v)| w / (v + 1e-5).sqrt())
            .collect();
        let shift = bias
            .iter()
            .zip(mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Self { scale, shift }
    }
}

pub struct Htsat {
    cfg: HtsatConfig,
    bn0: Bn0,
    filters: Vec<MelFilter>,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    taps: Vec<(isize, [f32; 4])>,
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    padded: Vec<f32>,
    logmel: Vec<f32>,
    resized: Vec<f32>,
}

impl Htsat {
    pub fn new(cfg: &HtsatConfig, bn0: Bn0) -> Self {
        let n = cfg.n_fft;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let frames = Self::stft_frames(cfg);
        let window = (0..n)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
            .collect();
        Self {
            filters: slaney_filterbank(cfg.sample_rate as f64, n, cfg.n_mels, cfg.fmin, cfg.fmax),
            window,
            taps: bicubic_taps(frames, cfg.target_frames),
            frame: vec![0.0; n],
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            fft,
            power: vec![0.0; n / 2 + 1],
            padded: vec![0.0; cfg.clip_samples + n],
            logmel: vec![0.0; frames * cfg.n_mels],
            resized: vec![0.0; cfg.target_frames * cfg.n_mels],
            bn0,
            cfg: cfg.clone(),
        }
    }

    pub fn stft_frames(cfg: &HtsatConfig) -> usize {
        1 + cfg.clip_samples / cfg.hop_length
    }

    /// `wave`: exactly `clip_samples`; `image`: `(n_mels * freq_ratio) x (target_frames / freq_ratio)`.
    pub fn compute(&mut self, wave: &[f32], image: &mut [f32]) {
        let c = &self.cfg;
        let (n, pad, mels) = (c.n_fft, c.n_fft / 2, c.n_mels);
        let len = wave.len();
        // Centered frames with reflect padding (numpy "reflect": the edge sample is not repeated).
        for (i, p) in self.padded.iter_mut().enumerate() {
            let j = i as isize - pad as isize;
            let j = if j < 0 {
                -j
            } else if j >= len as isize {
                2 * (len as isize - 1) - j
            } else {
                j
            };
            *p = wave[j as usize];
        }
        let frames = Self::stft_frames(c);
        for f in 0..frames {
            let seg = &self.padded[f * c.hop_length..f * c.hop_length + n];
            for ((d, &s), &w) in self.frame.iter_mut().zip(seg).zip(&self.window) {
                *d = s * w;
            }
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.fft_scratch)
                .expect("buffer sizes come from the plan");
            for (p, z) in self.power.iter_mut().zip(&self.spectrum) {
                *p = z.norm_sqr();
            }
            let row = &mut self.logmel[f * mels..(f + 1) * mels];
            for (m, out) in row.iter_mut().enumerate() {
                let db = 10.0 * self.filters[m].apply(&self.power).max(1e-10).log10();
                *out = db * self.bn0.scale[m] + self.bn0.shift[m];
            }
        }
        resize_rows(&self.taps, &self.logmel, frames, mels, &mut self.resized);
        // Stack freq_ratio time windows along frequency: image[w*mels + m][col] = spec[w*cols + col][m].
        let cols = c.target_frames / c.freq_ratio;
        for w in 0..c.freq_ratio {
            for m in 0..mels {
                let dst = &mut image[(w * mels + m) * cols..][..cols];
                for (col, d) in dst.iter_mut().enumerate() {
                    *d = self.resized[(w * cols + col) * mels + m];
                }
            }
        }
    }
}
