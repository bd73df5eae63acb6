//! Per-stream inference state on the CPU: front end plans, the graph's activations, thread
//! pool.

use super::cpu::{execute, Acts, TapFn};
use super::Model;
use crate::error::{Error, Result};
use crate::frontend::Frontend;
use crate::graph::{Act, OutLayout, Tap};
use crate::kernels::par::Par;
use std::sync::Arc;

/// Results of one window, borrowed from the session.
#[derive(Debug)]
pub struct Prediction<'a> {
    pub clip_logits: &'a [f32],
    pub clip_probs: &'a [f32],
    /// `[steps][classes]`, token-semantic head only.
    pub frame_logits: Option<&'a [f32]>,
    pub frame_probs: Option<&'a [f32]>,
    /// What the head reads, averaged over the window: `dim` values (docs/model.md).
    pub clip_embedding: &'a [f32],
    /// `[steps][dim]`, token-semantic head only: the head's input averaged per step.
    pub frame_embeddings: Option<&'a [f32]>,
    pub steps: usize,
    pub classes: usize,
    pub dim: usize,
}

impl<'a> Prediction<'a> {
    /// One window's prediction from its output block, as every executor writes it.
    pub(crate) fn from_out(out: &'a [f32], layout: OutLayout) -> Self {
        let OutLayout {
            classes: m,
            steps,
            dim,
        } = layout;
        let (scores, embeddings) = out[..layout.len()].split_at(layout.embed_at());
        let (clip, frames) = scores.split_at(2 * m);
        let (clip_embedding, frame_embeddings) = embeddings.split_at(dim);
        Prediction {
            clip_logits: &clip[..m],
            clip_probs: &clip[m..],
            frame_logits: (steps > 0).then(|| &frames[..steps * m]),
            frame_probs: (steps > 0).then(|| &frames[steps * m..]),
            clip_embedding,
            frame_embeddings: (steps > 0).then_some(frame_embeddings),
            steps,
            classes: m,
            dim,
        }
    }
}

/// One stream on the CPU executor (private: callers hold the backend-neutral
/// [`crate::Session`]).
pub(crate) struct CpuSession {
    model: Arc<Model>,
    par: Par,
    pool: Option<rayon::ThreadPool>,
    frontend: Frontend,
    wave: Vec<f32>,
    acts: Acts,
}

impl CpuSession {
    /// A session using at most `threads` threads. Every activation is allocated here at the
    /// size the graph needs, so runs allocate nothing; one silent window warms the pool.
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
        let mut s = Self {
            frontend: Frontend::new(&cfg.frontend, model.bn0()),
            wave: vec![0.0; cfg.clip_samples()],
            acts: Acts::new(model.graph()),
            par: Par::new(threads),
            pool,
            model,
        };
        s.run(&[])?;
        Ok(s)
    }

    /// Tags one window of mono audio at the model's sample rate. Shorter input is zero-padded
    /// at the end; NaN and infinite samples are treated as silence.
    pub fn run(&mut self, wave: &[f32]) -> Result<Prediction<'_>> {
        self.run_inner(wave, &mut None)
    }

    /// As [`CpuSession::run`], calling `tap` with intermediate activations.
    pub fn run_with_taps(
        &mut self,
        wave: &[f32],
        tap: &mut (dyn FnMut(Tap, &[f32]) + Send),
    ) -> Result<Prediction<'_>> {
        self.run_inner(wave, &mut Some(tap))
    }

    fn run_inner(&mut self, wave: &[f32], tap: &mut TapFn) -> Result<Prediction<'_>> {
        let Self {
            model,
            par,
            pool,
            frontend,
            wave: buf,
            acts,
        } = self;
        frontend.window(wave, buf, acts.get_mut(Act::Image))?;
        let model: &Model = model;
        let par = *par;
        let mut work = || {
            if let Some(f) = tap.as_mut() {
                f(Tap::Features, acts.get(Act::Image));
            }
            execute(model.graph(), model.weights(), par, acts, tap);
        };
        match pool {
            Some(p) => p.install(work),
            None => work(),
        }
        Ok(Prediction::from_out(acts.get(Act::Out), model.graph().out))
    }
}
