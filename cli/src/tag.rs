//! Tagging a whole recording: windows at the model rate, per-window and per-file tags, and
//! framewise tables.

use anyhow::Result;
use audio_mamba_engine::session::window_starts;
use audio_mamba_engine::{resample::resample_mono, Label, Session};
use serde::Serialize;

#[derive(Serialize, Clone)]
pub struct Tag {
    pub label: String,
    pub mid: String,
    pub probability: f32,
}

#[derive(Serialize)]
pub struct Window {
    pub start_s: f64,
    pub end_s: f64,
    pub tags: Vec<Tag>,
}

/// Everything computed for one file.
pub struct FileResult {
    pub duration_s: f64,
    /// Per class: the highest window probability (a sound present anywhere tags the file).
    pub file_probs: Vec<f32>,
    pub windows: Vec<(f64, f64, Vec<f32>)>,
    /// Framewise rows `(start_s, end_s, probs)`; window rows for models without framewise output.
    pub frames: Vec<(f64, f64, Vec<f32>)>,
    /// The embedding of each row of `frames`, when asked for (learned sustained tags read them).
    pub frame_embeddings: Vec<Vec<f32>>,
}

pub fn top_tags(probs: &[f32], labels: &[Label], k: usize) -> Vec<Tag> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    idx.into_iter()
        .take(k)
        .map(|i| Tag {
            label: labels[i].name.clone(),
            mid: labels[i].mid.clone(),
            probability: probs[i],
        })
        .collect()
}

/// Runs the model over `samples` (mono, at `rate`) in windows `hop_s` apart; the windows go to
/// the backend as one batch (the GPU takes several per submission). With `embeddings`, each
/// framewise row keeps its embedding.
pub fn tag_samples(
    session: &mut Session,
    samples: &[f32],
    rate: u32,
    hop_s: Option<f64>,
    embeddings: bool,
) -> Result<FileResult> {
    let cfg = session.model().config().clone();
    let sr = cfg.sample_rate();
    let audio = resample_mono(samples, rate, sr)?;
    let win = cfg.clip_samples();
    let hop = hop_s.map_or(win, |h| ((h * sr as f64).round() as usize).clamp(1, win));
    let starts = window_starts(audio.len(), win, hop);
    let m = cfg.num_classes();
    let mut res = FileResult {
        duration_s: audio.len() as f64 / sr as f64,
        file_probs: vec![0.0; m],
        windows: Vec::new(),
        frames: Vec::new(),
        frame_embeddings: Vec::new(),
    };
    let waves: Vec<&[f32]> = starts
        .iter()
        .map(|&s| &audio[s..(s + win).min(audio.len())])
        .collect();
    session.run_batch(&waves, &mut |i, p| {
        let (s, end) = (starts[i], (starts[i] + win).min(audio.len()));
        let (t0, t1) = (s as f64 / sr as f64, end as f64 / sr as f64);
        for (f, &v) in res.file_probs.iter_mut().zip(p.clip_probs) {
            *f = f.max(v);
        }
        res.windows.push((t0, t1, p.clip_probs.to_vec()));
        match (p.frame_probs, p.frame_embeddings) {
            (Some(fp), Some(fe)) => {
                let step = cfg.clip_seconds() / p.steps as f64;
                for (j, (row, emb)) in fp.chunks_exact(m).zip(fe.chunks_exact(p.dim)).enumerate() {
                    let a = t0 + j as f64 * step;
                    if a < res.duration_s {
                        res.frames
                            .push((a, (a + step).min(res.duration_s), row.to_vec()));
                        if embeddings {
                            res.frame_embeddings.push(emb.to_vec());
                        }
                    }
                }
            }
            _ => {
                res.frames.push((t0, t1, p.clip_probs.to_vec()));
                if embeddings {
                    res.frame_embeddings.push(p.clip_embedding.to_vec());
                }
            }
        }
    })?;
    Ok(res)
}
