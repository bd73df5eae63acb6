//! The latency-compensation delay: each channel is delayed by exactly the latency reported to the
//! host, in buffers sized at activation. Non-finite input leaves as silence.

pub struct Delay {
    lines: Vec<Vec<f32>>,
    at: usize,
}

impl Delay {
    pub fn new(channels: usize, samples: usize) -> Self {
        Self {
            lines: vec![vec![0.0; samples]; channels],
            at: 0,
        }
    }

    pub fn clear(&mut self) {
        self.lines.iter_mut().for_each(|l| l.fill(0.0));
    }

    /// Delays `channels` in place (no allocation). One pass: each sample is cleaned on its way
    /// into the ring, so what comes out is clean too.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let len = self.lines.first().map_or(0, Vec::len);
        if len == 0 {
            channels.iter_mut().for_each(|ch| clean(ch));
            return;
        }
        let n = channels.first().map_or(0, |c| c.len());
        for (ch, line) in channels.iter_mut().zip(&mut self.lines) {
            let (mut done, mut at) = (0, self.at);
            while done < n {
                let k = (len - at).min(n - done);
                swap_clean(&mut ch[done..done + k], &mut line[at..at + k]);
                done += k;
                at += k;
                if at == len {
                    at = 0;
                }
            }
        }
        self.at = (self.at + n) % len;
    }
}

/// Samples at or below this magnitude count as silence (-120 dBFS, below any 24-bit dither):
/// for the host's sleep and for the analysis's reuse of silent windows.
pub(crate) const SILENCE: f32 = 1e-6;

/// What the plugin makes of a sample it passes on or analyses: NaN and Inf become silence.
// Inlined so that each multiversioned caller vectorises it for its own target.
#[inline(always)]
pub(crate) fn finite_or_zero(v: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

// Both loops are also compiled for AVX2 and chosen at run time (see `feed::mix_into`): 3x faster
// than the SSE2 baseline on the development VM.
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn clean(x: &mut [f32]) {
    for v in x {
        *v = finite_or_zero(*v);
    }
}

/// Sends `x` (cleaned) into the delay line and the line's old contents out through `x`.
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn swap_clean(x: &mut [f32], line: &mut [f32]) {
    for (x, d) in x.iter_mut().zip(line) {
        let v = finite_or_zero(*x);
        *x = *d;
        *d = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_exactly_and_cleans_non_finite_samples() {
        let mut d = Delay::new(2, 5);
        let input: Vec<f32> = (1..=23).map(|i| i as f32).collect();
        let mut out = [Vec::new(), Vec::new()];
        for block in input.chunks(3) {
            let mut a = block.to_vec();
            let mut b: Vec<f32> = block.iter().map(|v| -v).collect();
            d.process(&mut [&mut a[..], &mut b[..]]);
            out[0].extend(a);
            out[1].extend(b);
        }
        assert_eq!(&out[0][..5], &[0.0; 5]);
        assert_eq!(&out[0][5..], &input[..18]);
        assert_eq!(out[1][5], -1.0);
        let mut z = Delay::new(1, 0);
        let mut x = [1.0, f32::NAN, f32::INFINITY];
        z.process(&mut [&mut x[..]]);
        assert_eq!(x, [1.0, 0.0, 0.0]);
    }
}
