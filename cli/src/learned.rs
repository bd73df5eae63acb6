//! `amtag learn` and `amtag tag --learned`: a producer's own sound learned from marked examples
//! and reported beside the model's tags (docs/learned-tags.md).

use amtag::audio;
use anyhow::{anyhow, bail, Context, Result};
use audio_mamba_engine::learn::{self, Embedder, Kind, LearnedTag, Material, Span};
use audio_mamba_engine::{BackendChoice, Model};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An example: a file (or every audio file of a directory) as a whole, or `FILE@START-END`, a
/// span in seconds.
#[derive(Clone, Debug)]
pub struct Example {
    pub path: PathBuf,
    pub span: Option<Span>,
}

impl std::str::FromStr for Example {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some((path, range)) = s.rsplit_once('@') {
            let nums = range
                .split_once('-')
                .map(|(a, b)| (a.trim().parse::<f64>(), b.trim().parse::<f64>()));
            match nums {
                Some((Ok(a), Ok(b))) if a.is_finite() && b.is_finite() && 0.0 <= a && a < b => {
                    return Ok(Self {
                        path: path.into(),
                        span: Some(Span {
                            start_s: a,
                            end_s: b,
                        }),
                    })
                }
                Some((Ok(_), Ok(_))) => {
                    return Err(format!(
                        "`{s}`: a span is FILE@START-END in seconds, 0 <= START < END"
                    ))
                }
                // a file name with an @ in it
                _ => {}
            }
        }
        Ok(Self {
            path: s.into(),
            span: None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// Percussive when every positive example lasts at most a second, else sustained.
    Auto,
    Percussive,
    Sustained,
}

pub struct LearnArgs<'a> {
    pub name: &'a str,
    pub positives: &'a [Example],
    pub negatives: &'a [Example],
    pub kind: KindArg,
    pub out: &'a Path,
    pub model: Option<&'a Path>,
    pub hit_model: Option<&'a Path>,
    pub threads: usize,
}

/// The marked spans of one file.
#[derive(Default)]
struct Marks {
    positives: Vec<Span>,
    negatives: Vec<Span>,
    /// Some example of this file is a span (not the whole file).
    partial: bool,
}

pub fn run_learn(a: &LearnArgs) -> Result<()> {
    if a.name.trim().is_empty() {
        bail!("the tag needs a name");
    }
    let mut files: BTreeMap<PathBuf, Marks> = BTreeMap::new();
    for (examples, positive) in [(a.positives, true), (a.negatives, false)] {
        for e in examples {
            let paths = if e.path.is_dir() {
                let found = crate::collect_inputs(std::slice::from_ref(&e.path));
                if found.is_empty() {
                    bail!("no audio files found in {}", e.path.display());
                }
                found
            } else {
                vec![e.path.clone()]
            };
            for p in paths {
                let m = files.entry(p).or_default();
                let span = e.span.unwrap_or(Span {
                    start_s: 0.0,
                    end_s: f64::INFINITY,
                });
                m.partial |= e.span.is_some();
                if positive {
                    m.positives.push(span);
                } else {
                    m.negatives.push(span);
                }
            }
        }
    }
    let mut decoded = Vec::new();
    for (path, marks) in files {
        let d = audio::decode_mono(&path).with_context(|| format!("{}", path.display()))?;
        let end = d.samples.len() as f64 / d.sample_rate as f64;
        for s in marks.positives.iter().chain(&marks.negatives) {
            if s.start_s >= end {
                bail!(
                    "{}: the span {:.2}-{:.2} s starts after the file's end ({end:.2} s)",
                    path.display(),
                    s.start_s,
                    s.end_s
                );
            }
        }
        decoded.push((path, marks, d, end));
    }
    let clipped: Vec<Span> = decoded
        .iter()
        .flat_map(|(_, m, _, end)| m.positives.iter().map(move |s| clip(*s, *end)))
        .collect();
    let kind = match a.kind {
        KindArg::Percussive => Kind::Percussive,
        KindArg::Sustained => Kind::Sustained,
        KindArg::Auto => learn::kind_for(&clipped),
    };
    let mut embedder = embedder(kind, a.model, a.hit_model, a.threads)?;
    let no_negatives = a.negatives.is_empty();
    let materials: Vec<Material> = decoded
        .iter()
        .map(|(path, m, d, end)| Material {
            name: path.display().to_string(),
            samples: &d.samples,
            rate: d.sample_rate,
            positives: m.positives.iter().map(|s| clip(*s, *end)).collect(),
            negatives: m.negatives.iter().map(|s| clip(*s, *end)).collect(),
            // with no negatives given, what is left of the positives' own files
            rest_is_negative: no_negatives && m.partial,
        })
        .collect();
    let tag = learn::learn(a.name, &mut embedder, learn::method_for(kind), &materials)?;
    std::fs::write(a.out, tag.to_json())
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    let h = &tag.held_out;
    eprintln!(
        "amtag: learned `{}` ({}, {} positives, {} negatives) on {}: held out, AP {:.3}, {} of {} positives found, {} negatives firing; threshold {:.3}; wrote {}",
        tag.name,
        tag.kind,
        tag.examples.positives,
        tag.examples.negatives,
        tag.model,
        h.average_precision,
        h.positives_found,
        tag.examples.positives,
        h.negatives_firing,
        tag.threshold,
        a.out.display()
    );
    Ok(())
}

fn clip(s: Span, end: f64) -> Span {
    Span {
        start_s: s.start_s,
        end_s: s.end_s.min(end),
    }
}

fn embedder(
    kind: Kind,
    model: Option<&Path>,
    hit_model: Option<&Path>,
    threads: usize,
) -> Result<Embedder> {
    Ok(match kind {
        Kind::Percussive => Embedder::percussive(
            Arc::new(crate::load_hit_model(hit_model)?),
            threads,
            BackendChoice::Cpu,
        )?,
        Kind::Sustained => Embedder::sustained(
            Arc::new(crate::load_model(model)?),
            threads,
            BackendChoice::Cpu,
        )?,
    })
}

/// Learned tags ready to score files: sustained ones read the tagger's frame embeddings of the
/// tagging run itself, percussive ones the hit model's embedding of each onset.
pub struct LearnedSet {
    pub tags: Vec<LearnedTag>,
    hits: Option<Embedder>,
}

/// What a learned tag found in one file.
#[derive(Serialize)]
pub struct LearnedResult {
    pub name: String,
    pub kind: Kind,
    /// The highest score anywhere in the file.
    pub probability: f32,
    pub threshold: f32,
    pub fires: bool,
    /// Percussive: the hits at or above the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<Vec<LearnedHit>>,
    /// Sustained: framewise steps at or above the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps_firing: Option<usize>,
    /// One score per framewise row of the tagging run.
    #[serde(skip)]
    pub frames: Vec<f32>,
}

#[derive(Serialize)]
pub struct LearnedHit {
    pub time_s: f64,
    pub score: f32,
}

impl LearnedSet {
    /// Loads `paths`; a tag that cannot be used (unreadable, corrupt, from a newer build, for
    /// another model) is left out with its reason in the second list, and the rest still work.
    pub fn load(
        paths: &[PathBuf],
        tagger: &Model,
        hit_model: Option<&Path>,
    ) -> Result<(Self, Vec<String>)> {
        let mut set = LearnedSet {
            tags: Vec::new(),
            hits: None,
        };
        let mut problems = Vec::new();
        for p in paths {
            let loaded = std::fs::read_to_string(p)
                .map_err(|e| anyhow!("cannot read it: {e}"))
                .and_then(|text| Ok(LearnedTag::from_json(&text)?));
            let tag = match loaded {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{}: {e:#}", p.display()));
                    continue;
                }
            };
            let fits = match tag.kind {
                Kind::Sustained => tag.check_model(tagger).map_err(anyhow::Error::from),
                Kind::Percussive => {
                    if set.hits.is_none() {
                        set.hits = Some(embedder(Kind::Percussive, None, hit_model, 1)?);
                    }
                    let model = set.hits.as_ref().expect("just made").model();
                    tag.check_model(model).map_err(anyhow::Error::from)
                }
            };
            match fits {
                Ok(()) => set.tags.push(tag),
                Err(e) => problems.push(format!("{}: {e:#}", p.display())),
            }
        }
        Ok((set, problems))
    }

    /// Scores one file: `frames` are the tagging run's framewise rows with their embeddings.
    pub fn score(
        &mut self,
        samples: &[f32],
        rate: u32,
        frames: &[(f64, f64, Vec<f32>)],
        embeddings: &[Vec<f32>],
    ) -> Result<Vec<LearnedResult>> {
        let hits = match (
            &mut self.hits,
            self.tags.iter().any(|t| t.kind == Kind::Percussive),
        ) {
            (Some(e), true) => e.embed(samples, rate)?,
            _ => Vec::new(),
        };
        Ok(self
            .tags
            .iter()
            .map(|t| {
                let (frame_scores, found) = match t.kind {
                    Kind::Sustained => (
                        embeddings.iter().map(|e| t.score(e)).collect::<Vec<f32>>(),
                        None,
                    ),
                    Kind::Percussive => {
                        let scored: Vec<(f64, f32)> = hits
                            .iter()
                            .map(|h| (h.start_s, t.score(&h.vector)))
                            .collect();
                        let per_frame = frames
                            .iter()
                            .map(|(a, b, _)| {
                                scored
                                    .iter()
                                    .filter(|(s, _)| a <= s && s < b)
                                    .fold(0.0f32, |m, x| m.max(x.1))
                            })
                            .collect();
                        (per_frame, Some(scored))
                    }
                };
                let probability = match &found {
                    Some(s) => s.iter().fold(0.0f32, |m, x| m.max(x.1)),
                    None => frame_scores.iter().copied().fold(0.0f32, f32::max),
                };
                LearnedResult {
                    name: t.name.clone(),
                    kind: t.kind,
                    probability,
                    threshold: t.threshold,
                    fires: probability >= t.threshold,
                    hits: found.map(|s| {
                        s.into_iter()
                            .filter(|x| x.1 >= t.threshold)
                            .map(|(time_s, score)| LearnedHit { time_s, score })
                            .collect()
                    }),
                    steps_firing: (t.kind == Kind::Sustained)
                        .then(|| frame_scores.iter().filter(|&&s| s >= t.threshold).count()),
                    frames: frame_scores,
                }
            })
            .collect())
    }
}

impl LearnedResult {
    /// One line of the text report.
    pub fn describe(&self) -> String {
        let what = match (&self.hits, self.steps_firing) {
            (Some(h), _) => format!("{} hits", h.len()),
            (None, Some(n)) => format!("{n} steps"),
            _ => String::new(),
        };
        if self.fires {
            format!(
                "{:.3}  {} (learned, {}: fires on {what})",
                self.probability, self.name, self.kind
            )
        } else {
            format!(
                "{:.3}  {} (learned, {}: below its threshold {:.3})",
                self.probability, self.name, self.kind, self.threshold
            )
        }
    }
}
