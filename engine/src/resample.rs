//! Offline conversion of a whole recording to the model rate (rubato's FFT resampler).

use crate::error::{Error, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Resamples mono `input` from `from` Hz to `to` Hz; the output is delay-compensated and has
/// `ceil(len * to / from)` samples.
pub fn resample_mono(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    for r in [from, to] {
        if !(1_000..=768_000).contains(&r) {
            return Err(Error::SampleRate(r));
        }
    }
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let mut rs = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| Error::Resample(e.to_string()))?;
    let adapter =
        InterleavedSlice::new(input, 1, input.len()).map_err(|e| Error::Resample(e.to_string()))?;
    let out = rs
        .process_all(&adapter, input.len(), None)
        .map_err(|e| Error::Resample(e.to_string()))?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_keeps_its_frequency_and_level() {
        for (from, to) in [
            (44_100, 32_000),
            (8_000, 32_000),
            (384_000, 16_000),
            (48_000, 16_000),
        ] {
            let f = 440.0;
            let n = from as usize; // one second
            let x: Vec<f32> = (0..n)
                .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / from as f32).sin())
                .collect();
            let y = resample_mono(&x, from, to).unwrap();
            assert_eq!(
                y.len(),
                (n as u64 * to as u64).div_ceil(from as u64) as usize
            );
            // Frequency (zero crossings) and level (RMS) of the middle half survive.
            let mid = &y[y.len() / 4..3 * y.len() / 4];
            let crossings = mid
                .windows(2)
                .filter(|p| (p[0] < 0.0) != (p[1] < 0.0))
                .count();
            let expect = 2.0 * f * mid.len() as f32 / to as f32;
            assert!(
                (crossings as f32 - expect).abs() <= 2.0,
                "{from}->{to}: {crossings} crossings, expected {expect}"
            );
            let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
            assert!(
                (rms - std::f32::consts::FRAC_1_SQRT_2).abs() < 0.02,
                "{from}->{to}: rms {rms}"
            );
        }
    }

    #[test]
    fn rejects_absurd_rates() {
        assert!(matches!(
            resample_mono(&[0.0; 10], 0, 32_000),
            Err(Error::SampleRate(0))
        ));
    }
}
