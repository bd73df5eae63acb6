//! Per-stream inference state: front end plans, scratch buffers, thread pool, outputs.

use super::forward::{backbone, head, Buffers};
use super::Model;
use crate::error::{Error, Result};
use crate::frontend::Frontend;
use crate::kernels::math::sigmoid;
use crate::kernels::par::Par;
use std::sync::Arc;

/// Intermediate activations a caller can observe (golden tests compare them with the reference).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tap {
    /// The front end's image, `rows x cols`.
    Features,
    /// Patch embedding output, `(h, w, c)` token-major.
    PatchEmbed,
    /// Output of stage i before its downsample.
    Stage(usize),
}

/// Results of one window, borrowed from the session.
#[derive(Debug)]
pub struct Prediction<'a> {
    pub clip_logits: &'a [f32],
    pub clip_probs: &'a [f32],
    /// `[steps][classes]`, token-semantic head only.
    pub frame_logits: Option<&'a [f32]>,
    pub frame_probs: Option<&'a [f32]>,
    pub steps: usize,
    pub classes: usize,
}

pub struct Session {
    model: Arc<Model>,
    par: Par,
    pool: Option<rayon::ThreadPool>,
    frontend: Frontend,
    wave: Vec<f32>,
    image: Vec<f32>,
    bufs: Buffers,
    clip_logits: Vec<f32>,
    clip_probs: Vec<f32>,
    frame_logits: Vec<f32>,
    frame_probs: Vec<f32>,
    /// Framewise steps per window (0 for the linear head).
    steps: usize,
}

impl Session {
    /// A session using at most `threads` threads. It runs one silent window so that every buffer
    /// is at its final size: later runs allocate nothing.
    pub fn new(model: Arc<Model>, threads: usize) -> Result<Self> {
        let threads = threads.max(1);
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("amba-{i}"))
                    .build()
                    .map_err(|e| Error::Config(format!("cannot start {threads} threads: {e}")))?,
            )
        } else {
            None
        };
        let cfg = model.config();
        let (rows, cols) = cfg.image_size();
        let m = cfg.num_classes();
        let steps = cfg.frame_steps().unwrap_or(0);
        let mut s = Self {
            frontend: Frontend::new(&cfg.frontend, model.bn0.as_ref()),
            wave: vec![0.0; cfg.clip_samples()],
            image: vec![0.0; rows * cols],
            bufs: Buffers::default(),
            clip_logits: vec![0.0; m],
            clip_probs: vec![0.0; m],
            frame_logits: vec![0.0; steps * m],
            frame_probs: vec![0.0; steps * m],
            steps,
            par: Par::new(threads),
            pool,
            model,
        };
        s.run(&[])?;
        Ok(s)
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub fn threads(&self) -> usize {
        self.par.threads()
    }

    /// Tags one window of mono audio at the model's sample rate. Shorter input is zero-padded
    /// at the end; NaN and infinite samples are treated as silence.
    pub fn run(&mut self, wave: &[f32]) -> Result<Prediction<'_>> {
        self.run_inner(wave, &mut None)
    }

    /// As [`Session::run`], calling `tap` with intermediate activations.
    pub fn run_with_taps(
        &mut self,
        wave: &[f32],
        tap: &mut (dyn FnMut(Tap, &[f32]) + Send),
    ) -> Result<Prediction<'_>> {
        self.run_inner(wave, &mut Some(tap))
    }

    fn run_inner(
        &mut self,
        wave: &[f32],
        tap: &mut super::forward::TapFn,
    ) -> Result<Prediction<'_>> {
        let n = self.wave.len();
        if wave.len() > n {
            return Err(Error::InputTooLong {
                got: wave.len(),
                max: n,
            });
        }
        for (d, &s) in self.wave.iter_mut().zip(wave) {
            *d = if s.is_finite() { s } else { 0.0 };
        }
        self.wave[wave.len()..].fill(0.0);
        let Self {
            model,
            par,
            pool,
            frontend,
            wave,
            image,
            bufs,
            clip_logits,
            frame_logits,
            ..
        } = self;
        let model: &Model = model;
        let par = *par;
        let mut work = || {
            frontend.compute(wave, image);
            if let Some(f) = tap.as_mut() {
                f(super::Tap::Features, image);
            }
            let hwc = backbone(model, par, image, bufs, tap);
            head(model, par, hwc, bufs, clip_logits, frame_logits);
        };
        match pool {
            Some(p) => p.install(work),
            None => work(),
        }
        for (p, &l) in self.clip_probs.iter_mut().zip(&self.clip_logits) {
            *p = sigmoid(l);
        }
        for (p, &l) in self.frame_probs.iter_mut().zip(&self.frame_logits) {
            *p = sigmoid(l);
        }
        let has_frames = self.steps > 0;
        Ok(Prediction {
            clip_logits: &self.clip_logits,
            clip_probs: &self.clip_probs,
            frame_logits: has_frames.then_some(&self.frame_logits[..]),
            frame_probs: has_frames.then_some(&self.frame_probs[..]),
            steps: self.steps,
            classes: self.clip_logits.len(),
        })
    }
}
