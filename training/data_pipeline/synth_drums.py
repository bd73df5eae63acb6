"""Synthesised drum kits for the hit classifier (issue 17): every kit a new one.

The training split holds four kit families (hydrogen and avldrums kits by author, the two
soundfonts' GM kits); a hit model trained on them learns those timbres, and held-out kits lose
it recall. Here each pattern gets a kit drawn from wide ranges of the parameters that make a drum
what it is (a kick's pitch sweep and click, a snare's body and wire noise, a hat's metallic
partials and choke, a tom's pitch, a cymbal's wash), so that the classifier learns the kind of
drum rather than a recording of one. The models are the textbook analogue-drum voices (the
TR-808/909 circuits' sine sweeps, six detuned square waves for metal, filtered noise), each
with acoustic variants (noisier bodies, softer attacks), velocity layers and a room.

`synth_pattern` gives a crop of a random groove at a random tempo with each hit's class and
onset, in the online mixer's record format (`onsets`: [(mid, seconds)]).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from .config import SR
from .labels import mid

# The six square-wave frequencies of the TR-808's cymbal and hat circuit (Hz).
METAL = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR)) / SR


def _env(t: np.ndarray, attack: float, decay: float) -> np.ndarray:
    a = np.clip(t / max(attack, 1e-4), 0.0, 1.0)
    return a * np.exp(-t / decay)


def _filt(x: np.ndarray, kind: str, f, order: int = 2) -> np.ndarray:
    f = np.clip(np.asarray(f, dtype=float), 20.0, SR / 2 * 0.95)
    return sosfilt(butter(order, f, btype=kind, fs=SR, output="sos"), x)


def _metal(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    freqs = METAL * rng.uniform(0.7, 1.5) * rng.uniform(0.97, 1.03, len(METAL))
    ph = rng.uniform(0, 1, len(freqs))
    return np.sign(np.sin(2 * np.pi * (freqs[:, None] * t[None, :] + ph[:, None]))).sum(0) / len(freqs)


class SynthKit:
    """One kit: each voice's parameters drawn once, so a pattern's snares sound alike."""

    def __init__(self, rng: np.random.Generator):
        u = rng.uniform
        self.kick = dict(f0=u(90, 260), f1=u(38, 75), sweep=u(0.008, 0.05), decay=u(0.08, 0.6),
                         click=u(0.0, 0.6), noise=u(0.0, 0.3), drive=u(1.0, 4.0))
        self.snare = dict(f0=u(140, 280), decay_tone=u(0.04, 0.18), decay_noise=u(0.08, 0.35),
                          noise=u(0.35, 0.9), hp=u(300, 2500), lp=u(5000, 12000))
        self.hat = dict(hp=u(4000, 9000), noise=u(0.1, 0.9), closed=u(0.015, 0.09), open=u(0.2, 0.7),
                        metal_seed=int(rng.integers(1 << 30)))
        self.cymbal = dict(hp=u(2500, 6500), noise=u(0.2, 0.9), decay=u(0.6, 2.5), attack=u(0.0005, 0.006),
                           metal_seed=int(rng.integers(1 << 30)))
        self.tom = dict(f0=u(70, 320), drop=u(0.05, 0.35), decay=u(0.12, 0.55), noise=u(0.0, 0.3))
        self.rim = dict(f0=u(350, 1000), f1=u(1300, 2600), decay=u(0.008, 0.04))
        self.clap = dict(bursts=int(rng.integers(2, 6)), gap=u(0.006, 0.016), tail=u(0.05, 0.2), fc=u(700, 2200))
        self.cowbell = dict(f0=u(430, 650), ratio=u(1.4, 1.6), decay=u(0.08, 0.35), fc=u(600, 1500))
        self.tamb = dict(hp=u(5000, 10000), decay=u(0.08, 0.3), jingles=int(rng.integers(2, 7)))

    def hit(self, cls: str, rng: np.random.Generator, velocity: float) -> np.ndarray:
        """One hit of `cls` (a HIT_CLASSES name, "Hi-hat" closed or open at random)."""
        u = rng.uniform
        if cls == "Bass drum":
            p = self.kick
            t = _t(min(1.0, 4 * p["decay"]))
            f = p["f1"] + (p["f0"] - p["f1"]) * np.exp(-t / p["sweep"])
            x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / p["decay"])
            click = _filt(rng.standard_normal(len(t)), "highpass", u(1500, 5000)) * np.exp(-t / 0.002)
            body = _filt(rng.standard_normal(len(t)), "lowpass", 300) * np.exp(-t / (0.3 * p["decay"]))
            x = x + p["click"] * click + p["noise"] * body
            x = np.tanh(p["drive"] * x) / np.tanh(p["drive"])
        elif cls == "Snare drum":
            p = self.snare
            t = _t(min(1.0, 4 * p["decay_noise"]))
            tone = (np.sin(2 * np.pi * p["f0"] * t) + 0.5 * np.sin(2 * np.pi * 1.6 * p["f0"] * t)) * np.exp(-t / p["decay_tone"])
            wires = _filt(rng.standard_normal(len(t)), "bandpass", [p["hp"], p["lp"]]) * np.exp(-t / p["decay_noise"])
            x = (1 - p["noise"]) * tone + p["noise"] * 2.0 * wires
        elif cls == "Hi-hat":
            p = self.hat
            decay = p["closed"] if rng.random() < 0.7 else p["open"]
            t = _t(min(1.2, 5 * decay))
            metal = _metal(t, np.random.default_rng(p["metal_seed"]))
            x = _filt((1 - p["noise"]) * metal + p["noise"] * rng.standard_normal(len(t)), "highpass", p["hp"])
            x = x * _env(t, 0.0005, decay)
        elif cls == "Cymbal":
            p = self.cymbal
            t = _t(min(2.56, 3 * p["decay"]))
            metal = _metal(t, np.random.default_rng(p["metal_seed"]))
            x = _filt((1 - p["noise"]) * metal + p["noise"] * rng.standard_normal(len(t)), "highpass", p["hp"])
            x = x * _env(t, p["attack"], p["decay"])
        elif cls == "Drum":
            p = self.tom
            f0 = p["f0"] * u(0.8, 1.25)  # a kit has several toms
            t = _t(min(1.5, 4 * p["decay"]))
            f = f0 * (1 - p["drop"] * (1 - np.exp(-t / 0.08)))
            x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / p["decay"])
            x = x + p["noise"] * _filt(rng.standard_normal(len(t)), "bandpass", [f0, 6 * f0]) * np.exp(-t / 0.03)
        elif cls == "Rimshot":
            p = self.rim
            t = _t(0.25)
            x = (np.sin(2 * np.pi * p["f0"] * t) + 0.6 * np.sin(2 * np.pi * p["f1"] * t)) * np.exp(-t / p["decay"])
            x = x + 0.5 * _filt(rng.standard_normal(len(t)), "highpass", 2000) * np.exp(-t / 0.003)
        elif cls == "Clapping":
            p = self.clap
            t = _t(0.6)
            x = np.zeros(len(t))
            for k in range(p["bursts"]):
                s = int(k * p["gap"] * u(0.8, 1.2) * SR)
                x[s:] += np.exp(-t[: len(t) - s] / 0.004) * (0.7 if k < p["bursts"] - 1 else 1.0)
            last = int((p["bursts"] - 1) * p["gap"] * SR)
            x[last:] += 0.6 * np.exp(-t[: len(t) - last] / p["tail"])
            x = _filt(x * rng.standard_normal(len(t)), "bandpass", [p["fc"] * 0.6, p["fc"] * 2.5])
        elif cls == "Cowbell":
            p = self.cowbell
            t = _t(min(1.0, 4 * p["decay"]))
            sq = np.sign(np.sin(2 * np.pi * p["f0"] * t)) + np.sign(np.sin(2 * np.pi * p["f0"] * p["ratio"] * t))
            x = _filt(sq, "bandpass", [p["fc"] * 0.7, p["fc"] * 3]) * _env(t, 0.0005, p["decay"])
        elif cls == "Tambourine":
            p = self.tamb
            t = _t(0.5)
            env = np.zeros(len(t))
            for k in range(p["jingles"]):
                s = int(u(0, 0.02) * SR) if k else 0
                env[s:] += np.exp(-t[: len(t) - s] / (p["decay"] * u(0.5, 1.0)))
            x = _filt(rng.standard_normal(len(t)) * env + 0.5 * _metal(t, rng) * env, "highpass", p["hp"])
        else:
            raise ValueError(f"no synthesised voice for {cls!r}")
        x = x / (np.abs(x).max() + 1e-9)
        return (velocity * x).astype(np.float32)


# Per 16th-note step, how likely each voice plays (beats and off-beats), and how often a groove
# uses it at all: kick, snare and hat in most, the rest now and then.
_USE = {"Bass drum": 0.9, "Snare drum": 0.85, "Hi-hat": 0.85, "Cymbal": 0.3, "Drum": 0.3, "Rimshot": 0.2,
        "Clapping": 0.2, "Cowbell": 0.12, "Tambourine": 0.15}
_DENSITY = {"Bass drum": 0.3, "Snare drum": 0.2, "Hi-hat": 0.6, "Cymbal": 0.06, "Drum": 0.15, "Rimshot": 0.15,
            "Clapping": 0.15, "Cowbell": 0.2, "Tambourine": 0.3}


def _room(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small room: exponentially decaying noise as the impulse response, mixed in wet."""
    rt = rng.uniform(0.1, 0.8)
    t = _t(rt)
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt)
    ir = _filt(ir, "lowpass", rng.uniform(3000, 12000))
    wet = fftconvolve(x, ir)[: len(x)]
    wet *= np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(wet ** 2)) + 1e-12)
    return x + rng.uniform(0.1, 0.6) * wet


def synth_pattern(rng: np.random.Generator, seconds: float) -> Tuple[np.ndarray, List[Tuple[str, float]]]:
    """A groove of one new kit: audio (float32, SR) and its hits as [(class name, onset s)]."""
    kit = SynthKit(rng)
    n = int(seconds * SR)
    step = 60.0 / rng.uniform(60, 190) / 4  # a 16th note
    voices = [c for c, p in _USE.items() if rng.random() < p] or ["Bass drum"]
    start = -rng.uniform(0, 4 * step)
    hits: List[Tuple[str, float]] = []
    k = 0
    while start + k * step < seconds - 0.05:
        t = start + k * step
        on_beat = k % 4 == 0
        for c in voices:
            p = _DENSITY[c] * (1.8 if on_beat and c in ("Bass drum", "Hi-hat", "Cymbal") else 1.0)
            if c == "Snare drum" and k % 8 == 4:
                p = 0.9  # backbeat
            if t >= 0 and rng.random() < p:
                hits.append((c, t + rng.normal(0, 0.004)))  # a human's timing
        k += 1
    x = np.zeros(n + SR, np.float32)
    for c, t in hits:
        s = max(0, int(round(t * SR)))
        h = kit.hit(c, rng, float(rng.uniform(0.25, 1.0)) ** 1.5 if c != "Bass drum" else float(rng.uniform(0.5, 1.0)))
        e = min(len(x), s + len(h))
        x[s:e] += h[: e - s]
    x = x[:n]
    if rng.random() < 0.5:
        x = _room(x, rng).astype(np.float32)
    x = x / (np.abs(x).max() + 1e-9) * float(rng.uniform(0.1, 0.9))
    return x, [(c, max(0.0, t)) for c, t in hits]


def synth_crop(rng: np.random.Generator, seconds: float) -> Tuple[np.ndarray, Dict]:
    """`synth_pattern` as an online mixer's crop: audio and a record with `onsets` [(mid, s)]."""
    x, hits = synth_pattern(rng, seconds)
    return x, {"onsets": [(mid(c), t) for c, t in hits], "kind": "synth"}
