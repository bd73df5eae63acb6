//! Embeddings of a recording, as a learned tag sees it: the tagger's frame embeddings (one per
//! framewise step) for sustained sounds, the hit model's embedding of every onset for
//! percussive ones. Learning labels them by the marked spans; tagging scores them.

use super::{Kind, LearnError};
use crate::hits::{peak_db, HitClassifier};
use crate::onset::{onsets_of, Onsets};
use crate::resample::resample_mono;
use crate::session::window_starts;
use crate::{BackendChoice, Model, Session};
use std::sync::Arc;

/// One embedded piece of a recording: a framewise step (`start_s..end_s`) or a hit (both at
/// its onset).
#[derive(Clone, Debug)]
pub struct Embedded {
    pub start_s: f64,
    pub end_s: f64,
    /// Peak level of the piece (a hit: its first 50 ms), dBFS.
    pub level_db: f32,
    pub vector: Vec<f32>,
}

/// Below this peak level a piece is silence: it is never a positive example.
pub const SILENCE_DB: f32 = -60.0;

/// Turns recordings into embeddings with the model a kind of tag reads.
pub enum Embedder {
    Sustained(Session),
    Percussive {
        hits: HitClassifier,
        sensitivity: f32,
    },
}

impl Embedder {
    /// Sustained tags read `tagger`'s frame embeddings (it must have the token-semantic head).
    pub fn sustained(
        tagger: Arc<Model>,
        threads: usize,
        choice: BackendChoice,
    ) -> Result<Self, LearnError> {
        if tagger.graph().out.steps == 0 {
            return Err(LearnError::Model(format!(
                "{} has no framewise output: sustained tags need a tagger with the token-semantic head",
                tagger.config().name
            )));
        }
        Ok(Self::Sustained(Session::new(tagger, threads, choice, 8)?))
    }

    /// Percussive tags read the hit model's embedding of each onset.
    pub fn percussive(
        hit_model: Arc<Model>,
        threads: usize,
        choice: BackendChoice,
    ) -> Result<Self, LearnError> {
        Ok(Self::Percussive {
            hits: HitClassifier::new(hit_model, threads, choice)?,
            sensitivity: 0.5,
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Self::Sustained(_) => Kind::Sustained,
            Self::Percussive { .. } => Kind::Percussive,
        }
    }

    pub fn model(&self) -> &Arc<Model> {
        match self {
            Self::Sustained(s) => s.model(),
            Self::Percussive { hits, .. } => hits.model(),
        }
    }

    /// Length of one framewise step in seconds (sustained), or 0.
    pub fn step_seconds(&self) -> f64 {
        match self {
            Self::Sustained(s) => {
                let cfg = s.model().config();
                cfg.clip_seconds() / s.model().graph().out.steps as f64
            }
            Self::Percussive { .. } => 0.0,
        }
    }

    /// Every piece of `samples` (mono at `rate`; non-finite samples are silence).
    pub fn embed(&mut self, samples: &[f32], rate: u32) -> Result<Vec<Embedded>, LearnError> {
        match self {
            Self::Sustained(session) => frames(session, samples, rate),
            Self::Percussive { hits, sensitivity } => {
                let model_rate = hits.rate();
                let audio = resample_mono(samples, rate, model_rate)?;
                let mut out = Vec::new();
                for o in onsets_of(samples, rate, *sensitivity, Onsets::default()) {
                    let m = (o as f64 * model_rate as f64 / rate as f64).round() as usize;
                    let t = o as f64 / rate as f64;
                    let scores = hits.classify(&audio, m)?;
                    out.push(Embedded {
                        start_s: t,
                        end_s: t,
                        level_db: scores.level_db,
                        vector: scores.embedding.to_vec(),
                    });
                }
                Ok(out)
            }
        }
    }
}

/// The frame embeddings of windows laid end to end (the last one ends at the recording's end;
/// its steps already covered by the one before are left out).
fn frames(session: &mut Session, samples: &[f32], rate: u32) -> Result<Vec<Embedded>, LearnError> {
    let cfg = session.model().config().clone();
    let sr = cfg.sample_rate();
    let audio: Vec<f32> = resample_mono(samples, rate, sr)?
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 0.0 })
        .collect();
    let win = cfg.clip_samples();
    let starts = window_starts(audio.len(), win, win);
    let waves: Vec<&[f32]> = starts
        .iter()
        .map(|&s| &audio[s..(s + win).min(audio.len())])
        .collect();
    let steps = session.model().graph().out.steps;
    let step = win / steps;
    let mut out: Vec<Embedded> = Vec::new();
    session.run_batch(&waves, &mut |i, p| {
        let emb = p.frame_embeddings.expect("checked: a framewise model");
        for (j, v) in emb.chunks_exact(p.dim).enumerate() {
            let a = starts[i] + j * step;
            let covered = out.last().map_or(0.0, |e| e.end_s);
            let (t0, t1) = (a as f64 / sr as f64, (a + step) as f64 / sr as f64);
            if a >= audio.len() || t0 + 1e-9 < covered {
                continue;
            }
            out.push(Embedded {
                start_s: t0,
                end_s: t1,
                level_db: peak_db(&audio[a..(a + step).min(audio.len())]),
                vector: v.to_vec(),
            });
        }
    })?;
    Ok(out)
}
