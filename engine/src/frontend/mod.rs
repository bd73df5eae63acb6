//! Waveform -> single-channel image the backbone sees.

mod htsat;
mod kaldi;
pub mod mel;
pub mod resize;

pub use htsat::{Bn0, Htsat};
pub use kaldi::Kaldi;

use crate::config::FrontendConfig;

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

    /// `wave` holds exactly one window (`clip_samples`).
    pub fn compute(&mut self, wave: &[f32], image: &mut [f32]) {
        match self {
            Frontend::Htsat(h) => h.compute(wave, image),
            Frontend::Kaldi(k) => k.compute(wave, image),
        }
    }
}
