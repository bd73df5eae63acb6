//! Waveform -> single-channel image the backbone sees.

mod htsat;
mod kaldi;
pub mod mel;
pub mod resize;

pub use htsat::{Bn0, Htsat};
pub use kaldi::Kaldi;

use crate::config::FrontendConfig;
use crate::error::{Error, Result};

/// A front end with its own FFT plan and scratch: one per session.
pub enum Frontend {
    Htsat(Htsat),
    Kaldi(Kaldi),
}

impl Frontend {
    pub fn new(cfg: &FrontendConfig, bn0: Option<&Bn0>) -> Self {
        match cfg {
            FrontendConfig::Htsat(h) => {
                Frontend::Htsat(Htsat::new(h, bn0.expect("htsat has bn0").clone()))
            }
            FrontendConfig::Kaldi(k) => Frontend::Kaldi(Kaldi::new(k)),
        }
    }

    /// The window prologue every backend shares: `wave` (mono, at the model rate, at most one
    /// window) copied into the window buffer `buf` with NaN and infinite samples as silence and
    /// zero padding at the end, then its image.
    pub fn window(&mut self, wave: &[f32], buf: &mut [f32], image: &mut [f32]) -> Result<()> {
        check_window(wave, buf.len())?;
        for (d, &s) in buf.iter_mut().zip(wave) {
            *d = if s.is_finite() { s } else { 0.0 };
        }
        buf[wave.len()..].fill(0.0);
        self.compute(buf, image);
        Ok(())
    }

    /// `wave` holds exactly one window (`clip_samples`).
    pub fn compute(&mut self, wave: &[f32], image: &mut [f32]) {
        match self {
            Frontend::Htsat(h) => h.compute(wave, image),
            Frontend::Kaldi(k) => k.compute(wave, image),
        }
    }
}

/// A wave longer than the window (`max` samples) is refused, not cut.
pub fn check_window(wave: &[f32], max: usize) -> Result<()> {
    if wave.len() > max {
        return Err(Error::InputTooLong {
            got: wave.len(),
            max,
        });
    }
    Ok(())
}
