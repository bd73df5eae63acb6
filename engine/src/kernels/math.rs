//! Branch-free elementwise math that the compiler vectorises. `std`'s `exp`/`ln` are scalar
//! library calls, which would make the selective scan (one exp per channel x state x token)
//! an order of magnitude slower; these trade a stated, tested error bound for SIMD.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2: f32 = std::f32::consts::LN_2;

/// How `a * b + c` is evaluated: one fused instruction where the caller is compiled with FMA
/// (`f32::mul_add` is a slow library call elsewhere), two rounded operations otherwise.
pub trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

pub struct Fused;
pub struct Separate;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// e^x with relative error below 3e-7 for x in [-87, 88]; inputs are clamped to that range
/// (so very negative x gives ~1e-38 instead of a denormal, and large x saturates near 1.6e38).
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    fast_exp_with::<Separate>(x)
}

#[inline(always)]
pub fn fast_exp_with<M: MulAdd>(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round x/ln2 to nearest with the 1.5 * 2^23 trick: the integer lands in the mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let r = M::mul_add(x, LOG2E, MAGIC);
    let n = r - MAGIC;
    let ni = (r.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    // Cody-Waite: ln2 split in a part exact in f32 and a remainder, so f = x - n ln2 is exact
    // enough even for |n| near 127. |f| <= ln2 / 2.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let f = M::mul_add(-n, LN2_LO, M::mul_add(-n, LN2_HI, x));
    // e^f by its Taylor series to degree 6: truncation error 0.347^7 / 7! < 1.3e-7.
    let mut p = 1.0 / 720.0;
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = M::mul_add(p, f, c);
    }
    p * f32::from_bits(((ni + 127) as u32) << 23)
}

/// ln(x) for finite x > 0 with absolute error below 2e-7 (relative to max(1, |ln x|)).
#[inline(always)]
pub fn fast_ln(x: f32) -> f32 {
    fast_ln_with::<Separate>(x)
}

#[inline(always)]
pub fn fast_ln_with<M: MulAdd>(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    // Mantissa in [1, 2), moved into [sqrt(1/2), sqrt(2)) so the atanh series converges fast.
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let s = (m - 1.0) / (m + 1.0); // |s| < 0.172
    let s2 = s * s;
    // ln(m) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + s^9/9 + ...); dropped terms < 1e-9.
    let mut q = 2.0 / 9.0;
    for c in [2.0 / 7.0, 2.0 / 5.0, 2.0 / 3.0, 2.0] {
        q = M::mul_add(q, s2, c);
    }
    M::mul_add(e as f32, LN2, s * q)
}

/// softplus(x) = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|), which never overflows.
/// Absolute error below 3e-7 * max(1, |x|). Only the absolute error matters for delta, so the
/// rounding of 1 + e^-|x| (at most 6e-8) is accepted rather than paying ln1p's extra division.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    softplus_with::<Separate>(x)
}

#[inline(always)]
pub fn softplus_with<M: MulAdd>(x: f32) -> f32 {
    x.max(0.0) + fast_ln_with::<M>(1.0 + fast_exp_with::<M>(-x.abs()))
}

/// x * sigmoid(x).
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + fast_exp(-x))
}

/// erf(x), Abramowitz & Stegun 7.1.26: absolute error below 1.5e-7 (plus fast_exp's).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let r = 1.0 - poly * fast_exp(-a * a);
    r.copysign(x)
}

/// Exact (erf-based) GELU, as torch.nn.GELU() with approximate='none'.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn exp_relative_error_bound() {
        for exp in [fast_exp as fn(f32) -> f32, fast_exp_with::<Fused>] {
            let worst = sweep(-87.0, 88.0, 200_000)
                .map(|x| {
                    let exact = (x as f64).exp();
                    ((exp(x) as f64 - exact) / exact).abs()
                })
                .fold(0.0, f64::max);
            assert!(worst < 3e-7, "worst relative error {worst}");
        }
        assert!(fast_exp(-1000.0) >= 0.0 && fast_exp(-1000.0) < 1e-37);
        assert!(fast_exp(1000.0).is_finite());
    }

    #[test]
    fn ln_error_bound() {
        for x in sweep(1e-6, 1e4, 100_000) {
            let err = (fast_ln(x) as f64 - (x as f64).ln()).abs();
            assert!(
                err < 2e-7 * (x as f64).ln().abs().max(1.0),
                "ln({x}) err {err:e}"
            );
        }
    }

    #[test]
    fn softplus_matches_definition_and_never_overflows() {
        for x in sweep(-100.0, 100.0, 100_000) {
            let x64 = x as f64;
            let exact = if x64 > 30.0 { x64 } else { x64.exp().ln_1p() };
            for sp in [softplus as fn(f32) -> f32, softplus_with::<Fused>] {
                let err = (sp(x) as f64 - exact).abs();
                assert!(err < 3e-7 * x64.abs().max(1.0), "softplus({x}) err {err}");
            }
        }
        assert_eq!(softplus(1e30), 1e30);
    }

    #[test]
    fn gelu_and_silu_match_reference() {
        for x in sweep(-10.0, 10.0, 20_000) {
            let x64 = x as f64;
            let silu_ref = x64 / (1.0 + (-x64).exp());
            assert!((silu(x) as f64 - silu_ref).abs() < 1e-6 * x64.abs().max(1.0));
            let erf_ref = libm_erf(x64 / std::f64::consts::SQRT_2);
            let gelu_ref = 0.5 * x64 * (1.0 + erf_ref);
            assert!(
                (gelu(x) as f64 - gelu_ref).abs() < 2e-6 * x64.abs().max(1.0),
                "gelu({x})"
            );
        }
    }

    /// Independent f64 erf (series for small |x|, continued fraction for large), the reference
    /// for the A&S approximation above.
    fn libm_erf(x: f64) -> f64 {
        let a = x.abs();
        let r = if a < 3.0 {
            // Maclaurin series: erf(a) = 2/sqrt(pi) * sum (-1)^n a^(2n+1) / (n! (2n+1))
            let mut sum = 0.0;
            let mut term = a;
            let mut n = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -a * a / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc continued fraction (Lentz), ample for a >= 3.
            let mut f = a;
            for k in (1..60).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            1.0 - (-a * a).exp() / (f * std::f64::consts::PI.sqrt())
        };
        r.copysign(x)
    }
}
