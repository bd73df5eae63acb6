"""Examples for the per-hit drum classifier: a short window around an onset, labelled with every
drum class struck at that onset (issue 17).

A window starts `pre_s` before the onset and lasts `window_s`. Positives come from fresh online
mixtures (`OnlineMixer`, so kits sit under other instruments, in rooms, band-limited, as the
tagger's crops do): one drum hit of the crop is chosen and every drum class with an onset within
`tol_s` of it is on (kick + hat together is two labels). Negatives are onsets of crops with no
drum hit near them: speech consonants, plucked and struck notes, door knocks, keys and steps,
found by an energy-rise detector like the plugin's, labelled all-zero ("not a drum hit").
The onset the plugin hands the classifier is refined to within a millisecond; a small jitter
keeps the classifier from depending on the exact sample. Half the windows are retuned by up to
two semitones, as drums are tuned: the training side has only four kit families. With `synth_p`,
that share of crops is a synthesised kit's groove (`synth_drums`, a new kit every time), most of
them over one of the mixer's crops (accompaniment, speech, other kits).
"""
from __future__ import annotations

from fractions import Fraction
from typing import List

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from .config import SR
from .labels import mid
from .synth_drums import synth_crop

HIT_CLASSES = ["Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Drum", "Rimshot", "Clapping", "Cowbell", "Tambourine"]


def energy_onsets(x: np.ndarray, sr: int = SR, frame_s: float = 0.0015, ratio: float = 8.0,
                  min_gap_s: float = 0.03) -> List[float]:
    """Onset times (s): a ~1.5 ms frame whose energy, of the signal or of its first difference,
    rises `ratio`-fold above the frames 3-9 earlier and above a floor (the plugin's rule)."""
    f = max(8, int(round(sr * frame_s)))
    n = len(x) // f
    if n < 12:
        return []
    fr = x[: n * f].reshape(n, f).astype(np.float64)
    d = np.diff(x[: n * f], prepend=x[:1]).reshape(n, f).astype(np.float64)
    out = []
    for e in (np.mean(fr ** 2, axis=1), np.mean(d ** 2, axis=1)):
        ref = np.full(n, np.inf)
        ref[9:] = np.lib.stride_tricks.sliding_window_view(e, 7)[: n - 9].max(axis=1)  # e[i-9 .. i-3]
        out.extend(np.nonzero((e > ratio * ref) & (e > 1e-7))[0] * f / sr)
    onsets, last = [], -1e9
    for t in sorted(out):
        if t - last >= min_gap_s:
            onsets.append(float(t))
            last = t
    return onsets


# The banded detector (issue 17, training/README): the rule also on a high band (hats) and a
# low band (kicks) at a lower rise, the onsets merged `merge_s` apart. The plugin's form
# (engine/src/onset.rs) also counts a band's rise only where the band holds a share of the whole
# signal's frame energy (low 10%, high 1%), its whole-signal rule compares with the mean of
# the reference frames, not their loudest, and it hears a stream as starting after silence (a rise
# in the first 9 frames counts; here it does not).
BANDS = (("highpass", 6000.0, 6.0), ("lowpass", 150.0, 6.0))


def banded_onsets(x: np.ndarray, sr: int = SR, merge_s: float = 0.03) -> List[float]:
    found = list(energy_onsets(x, sr))
    for kind, f, ratio in BANDS:
        found += energy_onsets(sosfilt(butter(4, f, btype=kind, fs=sr, output="sos"), x), sr, ratio=ratio)
    out, last = [], -1e9
    for t in sorted(found):
        if t - last >= merge_s:
            out.append(t)
            last = t
    return out


DETECTORS = {"energy": energy_onsets, "banded": banded_onsets}


class HitSampler:
    def __init__(self, mixer, window_s: float = 0.256, pre_s: float = 0.02, tol_s: float = 0.015,
                 jitter_s: float = 0.002, max_semitones: float = 2.0, p_pitch: float = 0.5,
                 synth_p: float = 0.0, synth_bed_p: float = 0.6, synth_acoustic_p: float = 0.0,
                 detector: str = "energy"):
        self.mixer, self.window_s, self.pre_s, self.tol_s = mixer, window_s, pre_s, tol_s
        self.synth_p, self.synth_bed_p, self.synth_acoustic_p = synth_p, synth_bed_p, synth_acoustic_p
        # Where the "no hit" examples come from: the onsets this detector finds away from hits.
        self.detector = DETECTORS[detector]
        self.jitter_s, self.max_semitones, self.p_pitch = jitter_s, max_semitones, p_pitch
        self.mids = [mid(c) for c in HIT_CLASSES]
        self.index = {m: i for i, m in enumerate(self.mids)}
        self.n = int(round(window_s * SR))

    def _window(self, audio: np.ndarray, t: float, rng=None) -> np.ndarray:
        """The window at onset t; with rng, retuned by up to +-max_semitones (p = p_pitch)."""
        factor = 1.0
        if rng is not None and self.max_semitones > 0 and rng.random() < self.p_pitch:
            factor = 2.0 ** (float(rng.uniform(-self.max_semitones, self.max_semitones)) / 12)
        need = int(np.ceil(self.n * factor)) + 2
        s = int(round((t - self.pre_s * factor) * SR))
        w = np.zeros(need, np.float32)
        a, b = max(0, s), min(len(audio), s + need)
        if b > a:
            w[a - s:b - s] = audio[a:b]
        if factor != 1.0:
            # reading `factor` times more samples into the window raises the pitch: a kit tuned
            # up or down, the pre-roll kept at pre_s
            fr = Fraction(factor).limit_denominator(64)
            w = resample_poly(w, fr.denominator, fr.numerator).astype(np.float32)
        return w[: self.n] if len(w) >= self.n else np.pad(w, (0, self.n - len(w)))

    def _crop(self, rng: np.random.Generator):
        if not (self.synth_p and rng.random() < self.synth_p):
            return self.mixer.sample(rng, onsets=True)
        audio, rec = synth_crop(rng, self.mixer.crop_s, self.synth_acoustic_p)
        if rng.random() < self.synth_bed_p:
            bed, brec = self.mixer.sample(rng, onsets=True)
            rms = lambda v: float(np.sqrt(np.mean(v ** 2))) + 1e-9  # noqa: E731
            audio = audio + 10 ** (rng.uniform(-15, 0) / 20) * rms(audio) / rms(bed) * bed[: len(audio)]
            audio = (audio / max(1.0, np.abs(audio).max() / 0.95)).astype(np.float32)
            rec = {**rec, "onsets": rec["onsets"] + list(brec.get("onsets", []))}
        return audio, rec

    def from_crop(self, rng: np.random.Generator, max_hits: int = 6, max_negatives: int = 3):
        """Examples of one fresh crop: up to max_hits of its drum hits and up to max_negatives of
        its other onsets, as [(window, labels, 'hit' | 'nohit')]."""
        audio, rec = self._crop(rng)
        dur = len(audio) / SR
        hits = [(m, t) for m, t in rec["onsets"] if m in self.index and t < dur - 0.05]
        out = []
        times = sorted({t for _, t in hits})
        for t0 in rng.permutation(times)[:max_hits] if times else []:
            y = np.zeros(len(self.mids), np.float32)
            for m, t in hits:
                if abs(t - t0) <= self.tol_s:
                    y[self.index[m]] = 1.0
            t = float(t0) + float(rng.uniform(-self.jitter_s, self.jitter_s))
            out.append((self._window(audio, t, rng), y, "hit"))
        cand = [t for t in self.detector(audio) if t < dur - 0.05 and all(abs(t - th) > 0.05 for th in times)]
        for t in rng.permutation(cand)[:max_negatives] if cand else []:
            out.append((self._window(audio, float(t), rng), np.zeros(len(self.mids), np.float32), "nohit"))
        return out

    def stream(self, rng: np.random.Generator, buffer: int = 256):
        """Endless examples, shuffled through a buffer so that the windows of one crop are spread
        apart (a crop gives up to 6 hits and 3 other onsets, about 30% negatives)."""
        pool: list = []
        while True:
            while len(pool) < buffer:
                pool.extend(self.from_crop(rng))
            yield pool.pop(int(rng.integers(len(pool))))
