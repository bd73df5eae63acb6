//! `amtag hits`: every onset of a recording classified by the hit model (which drums were
//! struck), and the hits as a Standard MIDI File on General MIDI drum notes.

use anyhow::{Context, Result};
use audio_mamba_engine::hits::{gm_drum_note, hit_velocity, says_drums, HitClassifier, DRUM_VETO};
use audio_mamba_engine::onset::{onsets_of, Onsets};
use audio_mamba_engine::resample::resample_mono;
use audio_mamba_engine::{Label, Session};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{
    Format, Header, MetaMessage, MidiMessage, Smf, Timing, Track, TrackEvent, TrackEventKind,
};
use serde::Serialize;
use std::path::Path;

#[derive(Serialize, Clone, Debug)]
pub struct HitClass {
    pub label: String,
    pub probability: f32,
    /// General MIDI drum key, if the class has one.
    pub note: Option<u8>,
}

#[derive(Serialize, Clone, Debug)]
pub struct Hit {
    pub time_s: f64,
    pub level_db: f32,
    /// Classes at or above the threshold, most likely first.
    pub classes: Vec<HitClass>,
}

/// The hits of one recording.
pub struct FileHits {
    pub duration_s: f64,
    /// Onsets found, classified as a drum or not.
    pub onsets: usize,
    /// Onsets with at least one class at or above the threshold.
    pub hits: Vec<Hit>,
    /// Hits dropped because the tagger heard no drums there.
    pub vetoed: usize,
}

/// Onsets of `samples` (mono, at `rate`), each classified. `detector` is the onset detector's
/// sensitivity (0..1, 0.5 neutral) and kind, `threshold` the class probability that counts. With a
/// `tagger`, hits where its frame says no drums (the plugin's rule, `DRUM_VETO`) are dropped.
pub fn find_hits(
    clf: &mut HitClassifier,
    tagger: Option<&mut Session>,
    samples: &[f32],
    rate: u32,
    (sensitivity, detector): (f32, Onsets),
    threshold: f32,
) -> Result<FileHits> {
    let drum_frames = match tagger {
        Some(t) => Some(drum_frames(t, samples, rate)?),
        None => None,
    };
    let model_rate = clf.rate();
    let audio = resample_mono(samples, rate, model_rate)?;
    let onsets = onsets_of(samples, rate, sensitivity, detector);
    let labels: Vec<Label> = clf.model().config().labels.clone();
    let mut hits = Vec::new();
    let mut vetoed = 0;
    for &o in &onsets {
        let m = (o as f64 * model_rate as f64 / rate as f64).round() as usize;
        let scores = clf
            .classify(&audio, m)
            .context("hit classification failed")?;
        let mut classes: Vec<HitClass> = scores
            .probs
            .iter()
            .zip(&labels)
            .filter(|(&p, _)| p >= threshold)
            .map(|(&p, l)| HitClass {
                label: l.name.clone(),
                probability: p,
                note: gm_drum_note(l),
            })
            .collect();
        classes.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        if classes.is_empty() {
            continue;
        }
        let t = o as f64 / rate as f64;
        let drums_here = drum_frames
            .as_ref()
            .is_none_or(|f| f.iter().any(|&(a, b, p)| a <= t && t < b && p >= DRUM_VETO));
        if drums_here {
            hits.push(Hit {
                time_s: t,
                level_db: scores.level_db,
                classes,
            });
        } else {
            vetoed += 1;
        }
    }
    Ok(FileHits {
        duration_s: samples.len() as f64 / rate as f64,
        onsets: onsets.len(),
        hits,
        vetoed,
    })
}

/// The tagger's framewise view: (start s, end s, highest probability of a drum tag).
fn drum_frames(tagger: &mut Session, samples: &[f32], rate: u32) -> Result<Vec<(f64, f64, f32)>> {
    let labels = tagger.model().config().labels.clone();
    let drumish: Vec<usize> = (0..labels.len())
        .filter(|&i| says_drums(&labels[i]))
        .collect();
    let res =
        crate::tag::tag_samples(tagger, samples, rate, None, false).context("tagging failed")?;
    Ok(res
        .frames
        .iter()
        .map(|(a, b, p)| (*a, *b, drumish.iter().map(|&i| p[i]).fold(0.0f32, f32::max)))
        .collect())
}

/// Ticks per quarter note, and the tempo the file declares (120 bpm): a tick is 1/960 s, so
/// hits keep their exact times whatever the loop's own tempo.
const PPQ: u16 = 480;
const TICKS_PER_SECOND: f64 = 960.0;
/// Length of a drum note, and the General MIDI percussion channel (10, zero-based 9).
const NOTE_SECONDS: f64 = 0.05;
const DRUM_CHANNEL: u8 = 9;

/// The hits as a format-0 Standard MIDI File: one note per classified class with a GM key.
pub fn midi_bytes(hits: &[Hit], threshold: f32, name: &str) -> Result<Vec<u8>> {
    let tick = |s: f64| (s * TICKS_PER_SECOND).round() as u64;
    // (tick, order, message): note-offs sort before note-ons at the same tick.
    let mut timed: Vec<(u64, u8, MidiMessage)> = Vec::new();
    for h in hits {
        for c in &h.classes {
            let Some(key) = c.note else { continue };
            let vel = (hit_velocity(h.level_db, c.probability, threshold) * 127.0).round() as u8;
            let on = tick(h.time_s);
            let mut off = tick(h.time_s + NOTE_SECONDS);
            // A note ends before the next hit of the same key starts.
            if let Some(next) = hits
                .iter()
                .find(|n| n.time_s > h.time_s && n.classes.iter().any(|k| k.note == Some(key)))
            {
                off = off.min(tick(next.time_s)).max(on + 1);
            }
            let key = u7::new(key);
            timed.push((
                on,
                1,
                MidiMessage::NoteOn {
                    key,
                    vel: u7::new(vel.max(1)),
                },
            ));
            timed.push((
                off,
                0,
                MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                },
            ));
        }
    }
    timed.sort_by_key(|&(t, order, _)| (t, order));
    let mut track: Track = vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TrackName(name.as_bytes())),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(500_000))),
        },
    ];
    let mut last = 0u64;
    for (t, _, message) in timed {
        let delta = u32::try_from(t - last)
            .ok()
            .and_then(u28::try_from)
            .context("a gap between hits too long for a MIDI delta time")?;
        track.push(TrackEvent {
            delta,
            kind: TrackEventKind::Midi {
                channel: u4::new(DRUM_CHANNEL),
                message,
            },
        });
        last = t;
    }
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(PPQ))),
        tracks: vec![track],
    };
    let mut out = Vec::new();
    smf.write_std(&mut out)
        .context("cannot encode the MIDI file")?;
    Ok(out)
}

pub fn write_midi(path: &Path, hits: &[Hit], threshold: f32, name: &str) -> Result<()> {
    let bytes = midi_bytes(hits, threshold, name)?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
