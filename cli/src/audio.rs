//! Decoding any file symphonia reads (WAV, FLAC, OGG/Vorbis, MP3, ...) to mono f32.

use anyhow::{anyhow, bail, Context, Result};
use std::fs::File;
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

pub const EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "ogg", "oga", "mp3", "aif", "aiff", "caf", "m4a", "mka",
];

pub struct Decoded {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

/// Decodes the default audio track and averages its channels.
pub fn decode_mono(path: &Path) -> Result<Decoded> {
    let file = File::open(path).with_context(|| "cannot open".to_string())?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| anyhow!("not a readable audio file ({e})"))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| anyhow!("no audio track"))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| anyhow!("no audio codec parameters"))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| anyhow!("unsupported codec ({e})"))?;
    let mut mono = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    let mut spec: Option<(u32, usize)> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => bail!("read error ({e})"),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let rate = buf.spec().rate();
                let ch = buf.spec().channels().count().max(1);
                spec.get_or_insert((rate, ch));
                interleaved.resize(buf.samples_interleaved(), 0.0);
                buf.copy_to_slice_interleaved(&mut interleaved);
                mono.extend(
                    interleaved
                        .chunks_exact(ch)
                        .map(|f| f.iter().sum::<f32>() / ch as f32),
                );
            }
            // A corrupt packet is skipped, as players do.
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => bail!("decode error ({e})"),
        }
    }
    let (sample_rate, _) = spec.ok_or_else(|| anyhow!("no audio decoded"))?;
    if mono.is_empty() {
        bail!("no audio decoded");
    }
    Ok(Decoded {
        samples: mono,
        sample_rate,
    })
}
