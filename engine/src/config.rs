//! The model configuration: pure data stored in the weights file (see docs/weights.md), plus the
//! geometry derived from it. Unknown keys are rejected so a typo cannot silently change a model.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Highest `format_version` this build reads.
pub const FORMAT_VERSION: u32 = 1;
/// Metadata key holding the JSON config inside the safetensors header.
pub const CONFIG_KEY: &str = "audio_mamba_config";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub format: String,
    pub format_version: u32,
    pub name: String,
    pub version: String,
    pub frontend: FrontendConfig,
    pub backbone: BackboneConfig,
    pub head: HeadConfig,
    pub labels: Vec<Label>,
    /// Present on models of one drum hit (`weights/audio-mamba-hits.safetensors`): where the
    /// window sits around the onset it classifies. Tagging models have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<OnsetConfig>,
}

/// The window of a hit model starts `pre_seconds` before the onset (training's `HitSampler`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OnsetConfig {
    pub pre_seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub name: String,
    pub mid: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum FrontendConfig {
    Htsat(HtsatConfig),
    Kaldi(KaldiConfig),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HtsatConfig {
    pub sample_rate: u32,
    pub clip_samples: usize,
    pub n_fft: usize,
    pub hop_length: usize,
    pub n_mels: usize,
    pub fmin: f64,
    pub fmax: f64,
    pub target_frames: usize,
    pub freq_ratio: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KaldiConfig {
    pub sample_rate: u32,
    pub clip_samples: usize,
    pub n_mels: usize,
    pub target_frames: usize,
    pub norm_mean: f32,
    pub norm_std: f32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PatchEmbed {
    V1,
    V2,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// VMamba v0: `in_proj` yields x and z, output multiplied by SiLU(z).
    Z,
    /// VMamba v2 "noz": no gate.
    None,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Downsample {
    Merge,
    Conv,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum DtRank {
    Fixed(usize),
    Auto(AutoTag),
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AutoTag {
    Auto,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackboneConfig {
    pub patch_embed: PatchEmbed,
    pub patch_size: usize,
    pub dims: usize,
    pub depths: Vec<usize>,
    pub d_state: usize,
    pub ssm_ratio: f64,
    pub dt_rank: DtRank,
    pub gate: Gate,
    pub conv_bias: bool,
    pub mlp_ratio: f64,
    pub downsample: Downsample,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum HeadConfig {
    /// HTS-AT token-semantic head: clip and framewise logits.
    Tscam,
    /// VMamba classifier: pooled tokens, clip logits only.
    Linear,
}

/// Shapes of one stage, derived from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageGeometry {
    pub height: usize,
    pub width: usize,
    pub dim: usize,
    pub inner: usize,
    pub dt_rank: usize,
    pub mlp_hidden: usize,
    pub depth: usize,
}

impl ModelConfig {
    pub fn from_json(json: &str) -> Result<Self> {
        // Read the version first so a future file gets the version error, not a schema error.
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u32>,
        }
        if let Ok(Version {
            format_version: Some(v),
        }) = serde_json::from_str::<Version>(json)
        {
            if v > FORMAT_VERSION {
                return Err(Error::FutureFormat {
                    found: v,
                    supported: FORMAT_VERSION,
                });
            }
        }
        let cfg: ModelConfig =
            serde_json::from_str(json).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serialises")
    }

    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    pub fn sample_rate(&self) -> u32 {
        match &self.frontend {
            FrontendConfig::Htsat(h) => h.sample_rate,
            FrontendConfig::Kaldi(k) => k.sample_rate,
        }
    }

    /// Samples in one analysis window at the model rate.
    pub fn clip_samples(&self) -> usize {
        match &self.frontend {
            FrontendConfig::Htsat(h) => h.clip_samples,
            FrontendConfig::Kaldi(k) => k.clip_samples,
        }
    }

    pub fn clip_seconds(&self) -> f64 {
        self.clip_samples() as f64 / self.sample_rate() as f64
    }

    /// Time windows stacked along frequency by the front end (1 for Kaldi).
    pub fn freq_ratio(&self) -> usize {
        match &self.frontend {
            FrontendConfig::Htsat(h) => h.freq_ratio,
            FrontendConfig::Kaldi(_) => 1,
        }
    }

    /// (rows, cols) of the image the backbone sees.
    pub fn image_size(&self) -> (usize, usize) {
        match &self.frontend {
            FrontendConfig::Htsat(h) => (h.n_mels * h.freq_ratio, h.target_frames / h.freq_ratio),
            FrontendConfig::Kaldi(k) => (k.n_mels, k.target_frames),
        }
    }

    pub fn stages(&self) -> Vec<StageGeometry> {
        let b = &self.backbone;
        let (rows, cols) = self.image_size();
        let (mut h, mut w) = (rows / b.patch_size, cols / b.patch_size);
        let mut out = Vec::with_capacity(b.depths.len());
        for (i, &depth) in b.depths.iter().enumerate() {
            let dim = b.dims << i;
            let dt_rank = match b.dt_rank {
                DtRank::Fixed(r) => r,
                DtRank::Auto(_) => dim.div_ceil(16),
            };
            out.push(StageGeometry {
                height: h,
                width: w,
                dim,
                inner: (b.ssm_ratio * dim as f64) as usize,
                dt_rank,
                mlp_hidden: (b.mlp_ratio * dim as f64) as usize,
                depth,
            });
            h /= 2;
            w /= 2;
        }
        out
    }

    /// Framewise output steps of the token-semantic head (None for the linear head).
    pub fn frame_steps(&self) -> Option<usize> {
        match self.head {
            HeadConfig::Tscam => {
                let last = *self.stages().last()?;
                Some(last.width * self.freq_ratio())
            }
            HeadConfig::Linear => None,
        }
    }

    /// Seconds covered by one framewise step.
    pub fn frame_seconds(&self) -> Option<f64> {
        self.frame_steps().map(|t| self.clip_seconds() / t as f64)
    }

    /// The same model with a window of `seconds`: clip length and image width scale together
    /// (width rounded to what the backbone can divide), so the time resolution is kept.
    pub fn with_clip_seconds(&self, seconds: f64) -> Result<Self> {
        let mut cfg = self.clone();
        let quantum =
            (self.backbone.patch_size << (self.backbone.depths.len() - 1)) * self.freq_ratio();
        let scale = |samples: &mut usize, frames: &mut usize, rate: u32| {
            let new = (seconds * rate as f64).round() as usize;
            let f = *frames as f64 * new as f64 / *samples as f64;
            *frames = ((f / quantum as f64).round() as usize).max(1) * quantum;
            *samples = new;
        };
        match &mut cfg.frontend {
            FrontendConfig::Htsat(h) => {
                scale(&mut h.clip_samples, &mut h.target_frames, h.sample_rate)
            }
            FrontendConfig::Kaldi(k) => {
                scale(&mut k.clip_samples, &mut k.target_frames, k.sample_rate)
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Multiply-accumulates of one window through backbone and head (front end excluded); the
    /// selective scan counts 3 per channel x state x token x direction (decay, input, output).
    pub fn macs(&self) -> u64 {
        let b = &self.backbone;
        let (rows, cols) = self.image_size();
        let c0 = b.dims as u64;
        let px = (rows * cols) as u64;
        let mut total = match b.patch_embed {
            PatchEmbed::V1 => px * c0,
            PatchEmbed::V2 => px / 4 * 9 * (c0 / 2) + px / 16 * 9 * (c0 / 2) * c0,
        };
        let stages = self.stages();
        for (i, s) in stages.iter().enumerate() {
            let (l, c, e) = ((s.height * s.width) as u64, s.dim as u64, s.inner as u64);
            let (n, r, h) = (b.d_state as u64, s.dt_rank as u64, s.mlp_hidden as u64);
            let in_proj = if b.gate == Gate::Z { 2 * e } else { e };
            let block = l * c * in_proj
                + l * e * 9
                + l * e * 4 * (r + 2 * n)
                + 4 * l * r * e
                + 4 * l * e * n * 3
                + l * e * c
                + 2 * l * c * h;
            total += block * s.depth as u64;
            if i + 1 < stages.len() {
                total += match b.downsample {
                    Downsample::Merge => l / 4 * 4 * c * 2 * c,
                    Downsample::Conv => l / 4 * 9 * c * 2 * c,
                };
            }
        }
        let last = stages.last().expect("validated");
        let tokens = (last.height * last.width) as u64;
        total
            + match self.head {
                HeadConfig::Tscam => tokens * last.dim as u64 * 3 * self.num_classes() as u64,
                HeadConfig::Linear => last.dim as u64 * self.num_classes() as u64,
            }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.format != "audio-mamba" {
            return bad(format!(
                "`format` is {:?}, expected \"audio-mamba\"",
                self.format
            ));
        }
        if self.labels.is_empty() {
            return bad("no labels".into());
        }
        if let Some(o) = self.onset {
            if !(o.pre_seconds >= 0.0 && o.pre_seconds < self.clip_seconds()) {
                return bad(format!(
                    "onset.pre_seconds {} must lie in [0, {}) (the window)",
                    o.pre_seconds,
                    self.clip_seconds()
                ));
            }
        }
        let b = &self.backbone;
        if b.depths.is_empty() || b.dims == 0 || b.d_state == 0 || b.ssm_ratio <= 0.0 {
            return bad(
                "backbone needs dims, d_state, ssm_ratio > 0 and at least one stage".into(),
            );
        }
        if b.mlp_ratio < 0.0 {
            return bad("mlp_ratio must be >= 0".into());
        }
        if b.patch_embed == PatchEmbed::V2 && (b.patch_size != 4 || !b.dims.is_multiple_of(2)) {
            return bad("patch_embed v2 needs patch_size 4 and even dims".into());
        }
        if b.patch_size == 0 {
            return bad("patch_size must be > 0".into());
        }
        if let DtRank::Fixed(0) = b.dt_rank {
            return bad("dt_rank must be > 0".into());
        }
        match &self.frontend {
            FrontendConfig::Htsat(h) => {
                if h.sample_rate == 0 || h.clip_samples == 0 || h.n_fft < 2 || h.hop_length == 0 {
                    return bad("htsat front end needs positive sample_rate, clip_samples, n_fft, hop_length".into());
                }
                if h.n_mels == 0 || !(h.fmin >= 0.0 && h.fmax > h.fmin) {
                    return bad("htsat front end needs n_mels > 0 and 0 <= fmin < fmax".into());
                }
                if h.freq_ratio == 0 || h.target_frames % h.freq_ratio != 0 {
                    return bad("target_frames must be a multiple of freq_ratio".into());
                }
                if h.clip_samples <= h.n_fft / 2 {
                    return bad("clip_samples must exceed n_fft/2 (reflect padding)".into());
                }
            }
            FrontendConfig::Kaldi(k) => {
                if k.sample_rate < 1000 || k.n_mels == 0 || k.target_frames == 0 {
                    return bad(
                        "kaldi front end needs sample_rate >= 1000, n_mels > 0, target_frames > 0"
                            .into(),
                    );
                }
                if k.norm_std == 0.0 {
                    return bad("norm_std must not be 0".into());
                }
                if k.clip_samples < k.sample_rate as usize / 40 {
                    return bad("clip_samples shorter than one 25 ms frame".into());
                }
            }
        }
        let (rows, cols) = self.image_size();
        let downsamples = b.depths.len() - 1;
        let factor = b.patch_size << downsamples;
        if rows % factor != 0 || cols % factor != 0 {
            return bad(format!(
                "image {rows}x{cols} is not divisible by patch_size * 2^(stages-1) = {factor}"
            ));
        }
        if let HeadConfig::Tscam = self.head {
            let last = *self.stages().last().expect("stages exist");
            if !last.height.is_multiple_of(self.freq_ratio()) {
                return bad(format!(
                    "token-semantic head: final grid height {} is not divisible by freq_ratio {}",
                    last.height,
                    self.freq_ratio()
                ));
            }
        }
        for s in self.stages() {
            if s.inner == 0 {
                return bad("ssm_ratio * dims rounds to 0".into());
            }
        }
        Ok(())
    }
}
