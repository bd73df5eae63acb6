//! Mel filterbanks, stored sparsely: each filter keeps only its non-zero FFT bins.

/// One triangular filter: weights for FFT bins `start..start + weights.len()`.
#[derive(Clone, Debug)]
pub struct MelFilter {
    pub start: usize,
    pub weights: Vec<f32>,
}

impl MelFilter {
    #[inline]
    pub fn apply(&self, power: &[f32]) -> f32 {
        self.weights
            .iter()
            .zip(&power[self.start..])
            .map(|(w, p)| w * p)
            .sum()
    }
}

fn sparse(dense: Vec<f64>) -> MelFilter {
    let first = dense.iter().position(|&w| w != 0.0).unwrap_or(0);
    let last = dense
        .iter()
        .rposition(|&w| w != 0.0)
        .map_or(first, |i| i + 1);
    MelFilter {
        start: first,
        weights: dense[first..last.max(first)]
            .iter()
            .map(|&w| w as f32)
            .collect(),
    }
}

fn hz_to_mel_slaney(f: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= MIN_LOG_HZ {
        MIN_LOG_HZ / F_SP + (f / MIN_LOG_HZ).ln() / logstep
    } else {
        f / F_SP
    }
}

fn mel_to_hz_slaney(m: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    } else {
        F_SP * m
    }
}

/// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney").
pub fn slaney_filterbank(
    sr: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Vec<MelFilter> {
    let bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins).map(|i| i as f64 * sr / n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz_slaney(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    (0..n_mels)
        .map(|i| {
            let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
            let enorm = 2.0 / (f2 - f0);
            sparse(
                fft_freqs
                    .iter()
                    .map(|&f| {
                        let lower = (f - f0) / (f1 - f0);
                        let upper = (f2 - f) / (f2 - f1);
                        lower.min(upper).max(0.0) * enorm
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Kaldi / torchaudio `get_mel_banks` (HTK mel scale, triangles in the mel domain, no area
/// normalisation) for a `padded` FFT: filters over bins 0..padded/2 (the Nyquist bin gets 0).
pub fn kaldi_filterbank(
    sr: f64,
    padded: usize,
    n_mels: usize,
    low: f64,
    high: f64,
) -> Vec<MelFilter> {
    let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
    let nyquist = 0.5 * sr;
    let high = if high <= 0.0 { high + nyquist } else { high };
    let bin_width = sr / padded as f64;
    let (ml, mh) = (mel(low), mel(high));
    let delta = (mh - ml) / (n_mels + 1) as f64;
    (0..n_mels)
        .map(|i| {
            let left = ml + i as f64 * delta;
            let center = ml + (i + 1) as f64 * delta;
            let right = ml + (i + 2) as f64 * delta;
            sparse(
                (0..padded / 2)
                    .map(|b| {
                        let m = mel(bin_width * b as f64);
                        let up = (m - left) / (center - left);
                        let down = (right - m) / (right - center);
                        up.min(down).max(0.0)
                    })
                    .collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1k() {
        for f in [0.0, 50.0, 700.0, 999.0, 1000.0, 4000.0, 14000.0] {
            assert!((mel_to_hz_slaney(hz_to_mel_slaney(f)) - f).abs() < 1e-9);
        }
        assert!((hz_to_mel_slaney(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel_slaney(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn slaney_filters_have_unit_area_in_hz() {
        // Slaney normalisation makes each triangle's area (in Hz) equal to 1: sum(w) * bin_hz ~ 1
        // for filters wide enough to be well sampled.
        let fb = slaney_filterbank(32000.0, 1024, 64, 50.0, 14000.0);
        assert_eq!(fb.len(), 64);
        let bin_hz = 32000.0 / 1024.0;
        for f in &fb[20..] {
            let area: f32 = f.weights.iter().sum::<f32>() * bin_hz;
            assert!((area - 1.0).abs() < 0.05, "area {area}");
        }
        // Filters move up in frequency.
        assert!(fb.windows(2).all(|p| p[0].start <= p[1].start));
    }

    #[test]
    fn kaldi_filters_peak_at_one_and_leave_nyquist_out() {
        let fb = kaldi_filterbank(16000.0, 512, 128, 20.0, 0.0);
        let peaks: Vec<f32> = fb
            .iter()
            .map(|f| f.weights.iter().cloned().fold(0.0, f32::max))
            .collect();
        // Low filters are narrower than one FFT bin, as in Kaldi: some are all zero.
        assert!(peaks.iter().all(|&p| (0.0..=1.0).contains(&p)));
        // The top filters are wider than a bin and reach close to their apex of 1.
        assert!(peaks[120..].iter().all(|&p| p > 0.9), "{peaks:?}");
        assert!(fb.iter().all(|f| f.start + f.weights.len() <= 256));
    }
}
