//! Fitting a learned tag's classifier on embeddings, and choosing its threshold from held-out
//! scores: leave-one-out over the positives, five folds over the negatives (the fit sees
//! neither the example it scores nor its fold).
//!
//! Hand-written: a few hundred vectors of a few hundred values need no linear-algebra crate,
//! and plain f64 loops with a fixed iteration count give the same bytes on every run and
//! machine, which a tag file saved into a project needs.

use serde::{Deserialize, Serialize};

/// Which classifier: chosen by measurement (docs/learned-tags.md), kept selectable so that the
/// measurement can be rerun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// L2-regularised logistic regression, the two classes weighted equally.
    Logistic,
    /// Distance to the positives' mean, calibrated so that 0.5 is as far as the farthest
    /// held-out positive was: fires on what is as close to the examples as they are to each
    /// other, which a direction learned against the negatives cannot promise.
    Prototype,
}

/// A fitted classifier: `score(e)` in 0..1 of an embedding `e`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    pub method: Method,
    /// Standardisation: `z = (e - mean) / scale`, over every example.
    pub mean: Vec<f32>,
    pub scale: Vec<f32>,
    /// Logistic: the weights over `z`. Prototype: the positives' mean `z`.
    pub weights: Vec<f32>,
    /// Logistic: the bias of `w . z`.
    pub offset: f32,
    /// `score = sigmoid(slope * raw + bias)`, `raw` the method's own value.
    pub slope: f32,
    pub bias: f32,
}

/// What the held-out scores said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Average precision of the held-out scores.
    pub average_precision: f32,
    /// Held-out positives at or above the threshold, of all positives.
    pub positives_found: usize,
    /// Held-out negatives at or above the threshold.
    pub negatives_firing: usize,
}

pub struct Fit {
    pub classifier: Classifier,
    pub threshold: f32,
    pub held_out: HeldOut,
}

/// Regularisation strengths the logistic fit chooses among by held-out AP (the strongest of
/// the best): the examples decide how far to trust themselves.
const L2_CHOICES: [f64; 2] = [1e-2, 1e-3];
const ITERATIONS: usize = 400;
const NEGATIVE_FOLDS: usize = 5;
/// A logistic fit stops early once no gradient component is above this.
const GRADIENT_TOLERANCE: f64 = 1e-5;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

impl Classifier {
    fn z(&self, e: &[f32]) -> Vec<f64> {
        self.standardised(e).collect()
    }

    fn standardised<'a>(&'a self, e: &'a [f32]) -> impl Iterator<Item = f64> + 'a {
        e.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((&v, &m), &s)| (v as f64 - m as f64) / s as f64)
    }

    /// Logistic: the logit. Prototype: minus the RMS distance to the prototype. Allocates
    /// nothing: the plugin's worker scores every hit and step with it.
    fn raw(&self, e: &[f32]) -> f64 {
        let z = self.standardised(e);
        let w = self.weights.iter().map(|&v| v as f64);
        match self.method {
            Method::Logistic => w.zip(z).map(|(a, b)| a * b).sum::<f64>() + self.offset as f64,
            Method::Prototype => {
                let sq: f64 = w.zip(z).map(|(a, b)| (a - b).powi(2)).sum();
                -(sq / e.len().min(self.mean.len()) as f64).sqrt()
            }
        }
    }

    /// The score of embedding `e` (its length is the classifier's; checked where tags load).
    pub fn score(&self, e: &[f32]) -> f32 {
        sigmoid(self.slope as f64 * self.raw(e) + self.bias as f64) as f32
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }
}

/// Mean and scale per dimension over every example; a dimension that barely varies gets the
/// typical scale, so it cannot dominate.
fn standardisation(all: &[&[f32]]) -> (Vec<f64>, Vec<f64>) {
    let d = all[0].len();
    let n = all.len() as f64;
    let mut mean = vec![0.0; d];
    for e in all {
        for (m, &v) in mean.iter_mut().zip(e.iter()) {
            *m += v as f64 / n;
        }
    }
    let mut sd = vec![0.0; d];
    for e in all {
        for ((s, &v), m) in sd.iter_mut().zip(e.iter()).zip(&mean) {
            *s += (v as f64 - m).powi(2) / n;
        }
    }
    let sd: Vec<f64> = sd.into_iter().map(f64::sqrt).collect();
    let typical = sd.iter().sum::<f64>() / d as f64;
    let floor = (0.1 * typical).max(1e-6);
    (mean, sd.into_iter().map(|s| s.max(floor)).collect())
}

/// Fits `method` on `pos` and `neg` (non-empty, equal lengths: the caller checks).
/// One fit; a logistic one starts from `warm` (a fit on nearly the same examples) when given.
fn fit_once(
    method: Method,
    l2: f64,
    pos: &[&[f32]],
    neg: &[&[f32]],
    warm: Option<&Classifier>,
) -> Classifier {
    let all: Vec<&[f32]> = pos.iter().chain(neg).copied().collect();
    let (mean, scale) = standardisation(&all);
    let d = mean.len();
    let mut c = Classifier {
        method,
        mean: mean.iter().map(|&v| v as f32).collect(),
        scale: scale.iter().map(|&v| v as f32).collect(),
        weights: Vec::new(),
        offset: 0.0,
        slope: 1.0,
        bias: 0.0,
    };
    let zs = |set: &[&[f32]]| -> Vec<Vec<f64>> { set.iter().map(|e| c.z(e)).collect() };
    let (zp, zn) = (zs(pos), zs(neg));
    match method {
        Method::Logistic => {
            // z / sqrt(d) has unit mean square norm, so one step size fits every model width
            let k = 1.0 / (d as f64).sqrt();
            let rows: Vec<(Vec<f64>, f64, f64)> = zp
                .iter()
                .map(|z| (z, 1.0, 0.5 / zp.len() as f64))
                .chain(zn.iter().map(|z| (z, -1.0, 0.5 / zn.len() as f64)))
                .map(|(z, y, wt)| (z.iter().map(|v| v * k).collect(), y, wt))
                .collect();
            let lip = 0.25 * rows.iter().map(|(x, _, _)| dot(x, x)).fold(0.0, f64::max) + l2;
            let step = 1.0 / lip;
            // Nesterov-accelerated gradient descent on the weighted logistic loss
            let (mut w, mut b) = match warm {
                Some(c) => (
                    c.weights.iter().map(|&v| v as f64 / k).collect(),
                    c.offset as f64,
                ),
                None => (vec![0.0; d], 0.0),
            };
            let (mut w_prev, mut b_prev) = (w.clone(), b);
            for it in 0..ITERATIONS {
                let mom = it as f64 / (it as f64 + 3.0);
                let yw: Vec<f64> = w
                    .iter()
                    .zip(&w_prev)
                    .map(|(a, p)| a + mom * (a - p))
                    .collect();
                let yb = b + mom * (b - b_prev);
                let mut gw: Vec<f64> = yw.iter().map(|v| l2 * v).collect();
                let mut gb = 0.0;
                for (x, y, wt) in &rows {
                    let g = -y * wt * sigmoid(-y * (dot(&yw, x) + yb));
                    for (gi, xi) in gw.iter_mut().zip(x) {
                        *gi += g * xi;
                    }
                    gb += g;
                }
                if gw.iter().chain([&gb]).all(|g| g.abs() < GRADIENT_TOLERANCE) {
                    break;
                }
                w_prev = std::mem::replace(
                    &mut w,
                    yw.iter().zip(&gw).map(|(a, g)| a - step * g).collect(),
                );
                b_prev = std::mem::replace(&mut b, yb - step * gb);
            }
            c.weights = w.iter().map(|v| (v * k) as f32).collect();
            c.offset = b as f32;
        }
        Method::Prototype => {
            let mut p = vec![0.0; d];
            for z in &zp {
                for (pi, v) in p.iter_mut().zip(z) {
                    *pi += v / zp.len() as f64;
                }
            }
            c.weights = p.iter().map(|&v| v as f32).collect();
            let _ = zn;
        }
    }
    c
}

/// Average precision of scores with labels (positives first in `scores`, `n_pos` of them).
pub fn average_precision(scores: &[f32], n_pos: usize) -> f32 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    // ties broken against the positives: a score that cannot tell them apart earns nothing
    idx.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then((a < n_pos).cmp(&(b < n_pos)))
    });
    let (mut hits, mut sum) = (0usize, 0.0f64);
    for (rank, &i) in idx.iter().enumerate() {
        if i < n_pos {
            hits += 1;
            sum += hits as f64 / (rank + 1) as f64;
        }
    }
    (sum / n_pos.max(1) as f64) as f32
}

/// Raw held-out values: each positive from a fit without it, each negative from a fit without
/// its fold.
fn held_out(
    method: Method,
    l2: f64,
    pos: &[&[f32]],
    neg: &[&[f32]],
    full: &Classifier,
) -> (Vec<f64>, Vec<f64>) {
    let mut held_pos = Vec::with_capacity(pos.len());
    if pos.len() > 1 {
        for i in 0..pos.len() {
            let rest: Vec<&[f32]> = pos
                .iter()
                .enumerate()
                .filter_map(|(j, e)| (j != i).then_some(*e))
                .collect();
            held_pos.push(fit_once(method, l2, &rest, neg, Some(full)).raw(pos[i]));
        }
    }
    let folds = NEGATIVE_FOLDS.min(neg.len());
    let mut held_neg = vec![0.0f64; neg.len()];
    if neg.len() > 1 {
        for f in 0..folds {
            let rest: Vec<&[f32]> = neg
                .iter()
                .enumerate()
                .filter_map(|(j, e)| (j % folds != f).then_some(*e))
                .collect();
            let c = fit_once(method, l2, pos, &rest, Some(full));
            for (j, e) in neg.iter().enumerate().filter(|(j, _)| j % folds == f) {
                held_neg[j] = c.raw(e);
            }
        }
    }
    (held_pos, held_neg)
}

/// Fits the classifier on every example and chooses its threshold from held-out scores: the cut
/// with the best F1 among them, placed close to the lowest score it keeps (a tenth of the way
/// to the next one down), so that sounds between the examples and the negatives stay out.
pub fn fit(method: Method, pos: &[&[f32]], neg: &[&[f32]]) -> Fit {
    let choices: &[f64] = match method {
        Method::Logistic => &L2_CHOICES,
        Method::Prototype => &L2_CHOICES[..1],
    };
    let mut best: Option<(f32, Classifier, Vec<f64>, Vec<f64>)> = None;
    for &l2 in choices {
        let full = fit_once(method, l2, pos, neg, None);
        let (hp, hn) = held_out(method, l2, pos, neg, &full);
        let raws: Vec<f32> = hp.iter().chain(&hn).map(|&r| r as f32).collect();
        let ap = average_precision(&raws, hp.len());
        if best.as_ref().is_none_or(|b| ap > b.0) {
            best = Some((ap, full, hp, hn));
        }
    }
    let (_, mut classifier, mut held_pos, mut held_neg) = best.expect("at least one choice");
    if held_pos.is_empty() {
        // one positive: nothing to hold out; what the negatives score decides alone
        held_pos.push(classifier.raw(pos[0]));
    }
    if neg.len() == 1 {
        held_neg[0] = classifier.raw(neg[0]);
    }
    if method == Method::Prototype {
        // 0.5 where the farthest held-out positive was; the positives' spread sets the slope
        let lo = held_pos.iter().copied().fold(f64::MAX, f64::min);
        let hi = held_pos.iter().copied().fold(f64::MIN, f64::max);
        let spread = (hi - lo).max(0.05 * lo.abs()).max(1e-6);
        classifier.slope = (2.0 / spread) as f32;
        classifier.bias = (-2.0 * lo / spread) as f32;
    }
    let calibrated = |r: &f64| sigmoid(classifier.slope as f64 * r + classifier.bias as f64) as f32;
    let held_pos: Vec<f32> = held_pos.iter().map(calibrated).collect();
    let held_neg: Vec<f32> = held_neg.iter().map(calibrated).collect();
    let threshold = best_cut(&held_pos, &held_neg);
    let scores: Vec<f32> = held_pos.iter().chain(&held_neg).copied().collect();
    Fit {
        classifier,
        threshold,
        held_out: HeldOut {
            average_precision: average_precision(&scores, held_pos.len()),
            positives_found: held_pos.iter().filter(|&&s| s >= threshold).count(),
            negatives_firing: held_neg.iter().filter(|&&s| s >= threshold).count(),
        },
    }
}

/// The threshold with the best F1 over held-out scores, a tenth of the way from the lowest
/// score it keeps to the next one down; among equal F1s the one with the widest gap.
fn best_cut(pos: &[f32], neg: &[f32]) -> f32 {
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut best = (f64::MIN, f64::MIN, 0.5f32);
    for i in 0..all.len() {
        if all[i].1 {
            tp += 1;
        } else {
            fp += 1;
        }
        let below = all.get(i + 1).map_or(0.0, |n| n.0);
        let gap = (all[i].0 - below) as f64;
        let f1 = 2.0 * tp as f64 / (tp + fp + pos.len()) as f64;
        if (f1, gap) > (best.0, best.1) {
            best = (f1, gap, all[i].0 - 0.1 * (all[i].0 - below));
        }
    }
    best.2.clamp(0.01, 0.99)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(centre: &[f32], n: usize, spread: f32, seed: u32) -> Vec<Vec<f32>> {
        let mut s = seed;
        let mut next = move || {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        (0..n)
            .map(|_| centre.iter().map(|c| c + spread * next()).collect())
            .collect()
    }

    #[test]
    fn separates_two_clusters_and_is_deterministic() {
        let a: Vec<f32> = (0..24).map(|i| (i as f32 * 0.7).sin()).collect();
        let b: Vec<f32> = (0..24).map(|i| (i as f32 * 1.3).cos()).collect();
        let pos = cluster(&a, 6, 0.5, 1);
        let neg = cluster(&b, 20, 0.5, 2);
        let p: Vec<&[f32]> = pos.iter().map(|v| v.as_slice()).collect();
        let n: Vec<&[f32]> = neg.iter().map(|v| v.as_slice()).collect();
        for method in [Method::Logistic, Method::Prototype] {
            let f = fit(method, &p, &n);
            assert_eq!(f.held_out.average_precision, 1.0, "{method:?}");
            assert_eq!(f.held_out.positives_found, 6, "{method:?}");
            assert_eq!(f.held_out.negatives_firing, 0, "{method:?}");
            let fresh = cluster(&a, 5, 0.5, 3);
            let other = cluster(&b, 5, 0.5, 4);
            assert!(fresh.iter().all(|e| f.classifier.score(e) >= f.threshold));
            assert!(other.iter().all(|e| f.classifier.score(e) < f.threshold));
            let again = fit(method, &p, &n);
            assert_eq!(again.classifier, f.classifier);
            assert_eq!(again.threshold.to_bits(), f.threshold.to_bits());
        }
    }

    #[test]
    fn average_precision_counts_ties_against_positives() {
        assert_eq!(average_precision(&[0.9, 0.8, 0.1], 2), 1.0);
        assert!((average_precision(&[0.1, 0.9], 1) - 0.5).abs() < 1e-6);
        assert!((average_precision(&[0.5, 0.5], 1) - 0.5).abs() < 1e-6);
    }
}
