//! Streaming conversion of the analysis signal to the model rate (rubato's sinc resampler, which
//! takes any pair of rates), with its start-up delay removed so output sample j lies at input
//! time j * from / to.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

pub struct Stream {
    inner: Option<Inner>,
}

struct Inner {
    rs: Async<f32>,
    input: Vec<f32>,
    filled: usize,
    output: Vec<f32>,
    /// Output samples still to discard (the resampler's delay).
    skip: usize,
}

impl Stream {
    pub fn new(from: u32, to: u32) -> Result<Self, String> {
        if from == to {
            return Ok(Self { inner: None });
        }
        let chunk = Self::chunk_for(from);
        let params = SincInterpolationParameters {
            sinc_len: 128,
            f_cutoff: None,
            oversampling_factor: 128,
            interpolation: SincInterpolationType::Linear,
            window: WindowFunction::BlackmanHarris2,
        };
        let rs = Async::<f32>::new_sinc(
            to as f64 / from as f64,
            1.0,
            &params,
            chunk,
            1,
            FixedAsync::Input,
        )
        .map_err(|e| format!("resampler {from} -> {to} Hz: {e}"))?;
        let output = vec![0.0; rs.output_frames_max()];
        let skip = rs.output_delay();
        Ok(Self {
            inner: Some(Inner {
                rs,
                input: vec![0.0; chunk],
                filled: 0,
                output,
                skip,
            }),
        })
    }

    /// Input samples per resampler call (~10 ms): output appears in steps of this.
    pub fn chunk_for(from: u32) -> usize {
        (from as usize / 100).max(64)
    }

    /// Converts `x`, handing each output sample to `out` in order.
    pub fn push(&mut self, x: &[f32], out: &mut impl FnMut(f32)) {
        let Some(s) = self.inner.as_mut() else {
            x.iter().for_each(|&v| out(v));
            return;
        };
        let mut rest = x;
        while !rest.is_empty() {
            let take = (s.input.len() - s.filled).min(rest.len());
            s.input[s.filled..s.filled + take].copy_from_slice(&rest[..take]);
            s.filled += take;
            rest = &rest[take..];
            if s.filled < s.input.len() {
                break;
            }
            s.filled = 0;
            let n_in = s.input.len();
            let n_out = s.output.len();
            let inp = InterleavedSlice::new(&s.input[..], 1, n_in).expect("sized");
            let mut outp = InterleavedSlice::new_mut(&mut s.output[..], 1, n_out).expect("sized");
            let Ok((_, produced)) = s.rs.process_into_buffer(&inp, &mut outp, None) else {
                continue;
            };
            let skip = s.skip.min(produced);
            s.skip -= skip;
            s.output[skip..produced].iter().for_each(|&v| out(v));
        }
    }

    /// Input samples that must follow a sample before its output appears (chunking plus the
    /// filter's delay).
    pub fn latency_in(&self) -> usize {
        match &self.inner {
            None => 0,
            Some(s) => {
                let ratio = s.rs.resample_ratio();
                s.input.len() + (s.rs.output_delay() as f64 / ratio).ceil() as usize
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_keeps_its_time_at_the_model_rate() {
        for from in [8_000u32, 22_050, 44_100, 48_000, 96_000, 384_000] {
            let to = 32_000u32;
            let at = from as usize / 3;
            let mut x = vec![0.0f32; from as usize];
            x[at] = 1.0;
            let mut s = Stream::new(from, to).unwrap();
            let mut y = Vec::new();
            for block in x.chunks(333) {
                s.push(block, &mut |v| y.push(v));
            }
            let peak = y
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap()
                .0;
            let expect = at as f64 * to as f64 / from as f64;
            assert!(
                (peak as f64 - expect).abs() <= 2.0,
                "{from}: peak {peak}, expected {expect}"
            );
        }
    }
}
