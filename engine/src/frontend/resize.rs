//! Bicubic resize along one axis, as torch.nn.functional.interpolate(mode="bicubic",
//! align_corners=True): Keys kernel with A = -0.75, source indices clamped at the borders.

const A: f32 = -0.75;

fn cubic1(x: f32) -> f32 {
    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
}

fn cubic2(x: f32) -> f32 {
    ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
}

/// For each output index: the first of four source indices (before clamping) and their weights.
pub fn bicubic_taps(n_in: usize, n_out: usize) -> Vec<(isize, [f32; 4])> {
    // torch computes the scale and source position in f32 for f32 tensors.
    let scale = if n_out > 1 {
        (n_in as f32 - 1.0) / (n_out as f32 - 1.0)
    } else {
        0.0
    };
    (0..n_out)
        .map(|i| {
            let src = scale * i as f32;
            let x0 = src.floor();
            let t = src - x0;
            (
                x0 as isize - 1,
                [cubic2(t + 1.0), cubic1(t), cubic1(1.0 - t), cubic2(2.0 - t)],
            )
        })
        .collect()
}

/// Resamples rows of `input` (`n_in` rows of `width` values) to `n_out` rows.
pub fn resize_rows(
    taps: &[(isize, [f32; 4])],
    input: &[f32],
    n_in: usize,
    width: usize,
    out: &mut [f32],
) {
    for (i, &(first, w)) in taps.iter().enumerate() {
        let dst = &mut out[i * width..(i + 1) * width];
        dst.fill(0.0);
        for (j, &wj) in w.iter().enumerate() {
            let src = (first + j as isize).clamp(0, n_in as isize - 1) as usize;
            for (d, &s) in dst.iter_mut().zip(&input[src * width..(src + 1) * width]) {
                *d += wj * s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_when_sizes_match_and_exact_on_linear_ramps() {
        let taps = bicubic_taps(7, 7);
        let x: Vec<f32> = (0..7).map(|v| (v * v) as f32).collect();
        let mut out = vec![0.0; 7];
        resize_rows(&taps, &x, 7, 1, &mut out);
        assert_eq!(out, x);
        // Cubic convolution reproduces linear functions away from the clamped borders.
        let ramp: Vec<f32> = (0..20).map(|v| 3.0 * v as f32 + 1.0).collect();
        let taps = bicubic_taps(20, 39);
        let mut out = vec![0.0; 39];
        resize_rows(&taps, &ramp, 20, 1, &mut out);
        for (i, &v) in out.iter().enumerate().skip(3).take(33) {
            let src = i as f32 * 19.0 / 38.0;
            assert!((v - (3.0 * src + 1.0)).abs() < 1e-4, "{i}: {v}");
        }
        assert_eq!(out[0], 1.0);
        assert!((out[38] - 58.0).abs() < 1e-4);
    }
}
