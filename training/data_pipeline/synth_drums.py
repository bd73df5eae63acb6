"""Synthesised drum kits for the hit classifier (issue 17): every kit a new one.

The training split holds four kit families (hydrogen and avldrums kits by author, the two
soundfonts' GM kits); a hit model trained on them learns those timbres, and held-out kits lose
it recall. Here each pattern gets a kit drawn from wide ranges of the parameters that make a drum
what it is (a kick's pitch sweep and click, a snare's body and wire noise, a hat's metallic
partials and choke, a tom's pitch, a cymbal's wash), so that the classifier learns the kind of
drum rather than a recording of one. The models are the textbook analogue-drum voices (the
TR-808/909 circuits' sine sweeps, six detuned square waves for metal, filtered noise) or, for a
share of the kicks, snares, hats, cymbals and toms (`acoustic_p`, hits-v6), acoustic models (a membrane's modes,
beater and stick transients, cymbal partials as noise bands, a ride's bell), with velocity
layers and a room.

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


def _modes(t: np.ndarray, f0: float, ratios, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A struck membrane or shell: decaying sines at `ratios` of `f0` (a circular membrane's are
    1, 1.59, 2.14, 2.30, 2.65, ...), random strengths, the higher ones dying sooner."""
    x = np.zeros(len(t))
    for k, r in enumerate(ratios):
        f = f0 * r * rng.uniform(0.98, 1.02)
        if f >= SR / 2 * 0.9:
            continue
        a = rng.uniform(0.2, 1.0) / (1 + 0.5 * k)
        x += a * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t * (1 + 0.7 * k) / decay)
    return x


def _bands(t: np.ndarray, centres, q: float, rng: np.random.Generator) -> np.ndarray:
    """Noise through narrow band-passes: the dense clusters of a real cymbal's partials."""
    noise = rng.standard_normal(len(t))
    return sum(_filt(noise, "bandpass", [c / (1 + 1 / q), c * (1 + 1 / q)]) for c in centres)


MEMBRANE = (1.0, 1.59, 2.14, 2.30, 2.65, 2.92, 3.16)


def _metal(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    freqs = METAL * rng.uniform(0.7, 1.5) * rng.uniform(0.97, 1.03, len(METAL))
    ph = rng.uniform(0, 1, len(freqs))
    return np.sign(np.sin(2 * np.pi * (freqs[:, None] * t[None, :] + ph[:, None]))).sum(0) / len(freqs)


class SynthKit:
    """One kit: each voice's parameters drawn once, so a pattern's snares sound alike."""

    def __init__(self, rng: np.random.Generator, acoustic_p: float = 0.0):
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
        # With acoustic_p, that share of the voices is modelled as acoustic drums instead (modes
        # of a struck membrane, a beater or stick transient, cymbal partials as noise bands), so
        # that the classifier meets more than one way of making each drum. At 0 nothing more is
        # drawn from rng: the kits are hits-v3's.
        self.acoustic = {}
        if acoustic_p <= 0:
            return
        self.acoustic = {c: bool(rng.random() < acoustic_p)
                         for c in ("Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Drum")}
        self.acoustic_kick = dict(f0=u(45, 95), decay=u(0.12, 0.5), beater=u(0.2, 1.0), beater_fc=u(1500, 5000),
                                  drop=u(0.0, 0.2))
        self.acoustic_snare = dict(f0=u(150, 300), decay=u(0.06, 0.2), wires=u(0.3, 0.9), wire_decay=u(0.08, 0.3),
                                   wire_fc=u(2000, 6000), stick=u(0.1, 0.6))
        self.acoustic_hat = dict(centres=np.sort(u(5000, 14000, int(rng.integers(3, 7)))), q=u(4, 20),
                                 closed=u(0.02, 0.1), open=u(0.25, 0.9), tick=u(0.1, 0.5))
        self.ride = dict(bell=u(0.0, 0.8), bell_f=u(500, 1200), centres=np.sort(u(3000, 11000, int(rng.integers(3, 7)))),
                         q=u(3, 12), decay=u(0.8, 3.0), swell=u(0.0005, 0.03))
        self.acoustic_tom = dict(decay=u(0.15, 0.6), stick=u(0.05, 0.4))

    def _acoustic_hit(self, cls: str, rng: np.random.Generator) -> np.ndarray:
        """The acoustic model of `cls` (one of the five in `self.acoustic`)."""
        u = rng.uniform
        if cls == "Bass drum":
            p = self.acoustic_kick
            t = _t(min(1.0, 4 * p["decay"]))
            f0 = p["f0"] * (1 + p["drop"] * np.exp(-t / 0.03))
            body = np.sin(2 * np.pi * np.cumsum(f0) / SR) * np.exp(-t / p["decay"])
            body += 0.3 * _modes(t, p["f0"], MEMBRANE[1:4], 0.5 * p["decay"], rng)
            beater = _filt(rng.standard_normal(len(t)), "bandpass", [p["beater_fc"] * 0.5, p["beater_fc"] * 2])
            return body + p["beater"] * beater * np.exp(-t / 0.004)
        if cls == "Snare drum":
            p = self.acoustic_snare
            t = _t(min(1.0, 4 * max(p["decay"], p["wire_decay"])))
            head = _modes(t, p["f0"], MEMBRANE, p["decay"], rng)
            wires = _filt(rng.standard_normal(len(t)), "bandpass", [p["wire_fc"] * 0.4, p["wire_fc"] * 2.5])
            stick = _filt(rng.standard_normal(len(t)), "highpass", 3000) * np.exp(-t / 0.0015)
            return head + p["wires"] * 2.0 * wires * _env(t, 0.002, p["wire_decay"]) + p["stick"] * stick
        if cls == "Hi-hat":
            p = self.acoustic_hat
            decay = p["closed"] if rng.random() < 0.7 else p["open"]
            t = _t(min(1.2, 5 * decay))
            tick = _filt(rng.standard_normal(len(t)), "highpass", 2000) * np.exp(-t / 0.001)
            return _bands(t, p["centres"], p["q"], rng) * _env(t, 0.0005, decay) + p["tick"] * tick
        if cls == "Cymbal":
            p = self.ride
            t = _t(min(2.56, 3 * p["decay"]))
            wash = _bands(t, p["centres"], p["q"], rng) * _env(t, p["swell"], p["decay"])
            bell = _modes(t, p["bell_f"], (1.0, 2.03, 2.74, 3.9), 0.6 * p["decay"], rng)
            return wash / (np.abs(wash).max() + 1e-9) + p["bell"] * bell / (np.abs(bell).max() + 1e-9)
        p = self.acoustic_tom
        f0 = self.tom["f0"] * u(0.8, 1.25)
        t = _t(min(1.5, 4 * p["decay"]))
        f = f0 * (1 - 0.1 * (1 - np.exp(-t / 0.05)))
        x = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.exp(-t / p["decay"])
        x += 0.4 * _modes(t, f0, MEMBRANE[1:], 0.6 * p["decay"], rng)
        return x + p["stick"] * _filt(rng.standard_normal(len(t)), "highpass", 2500) * np.exp(-t / 0.002)

    def hit(self, cls: str, rng: np.random.Generator, velocity: float) -> np.ndarray:
        """One hit of `cls` (a HIT_CLASSES name, "Hi-hat" closed or open at random)."""
        u = rng.uniform
        if self.acoustic.get(cls):
            x = self._acoustic_hit(cls, rng)
        elif cls == "Bass drum":
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


def synth_pattern(rng: np.random.Generator, seconds: float,
                  acoustic_p: float = 0.0) -> Tuple[np.ndarray, List[Tuple[str, float]]]:
    """A groove of one new kit: audio (float32, SR) and its hits as [(class name, onset s)]."""
    kit = SynthKit(rng, acoustic_p)
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


def synth_crop(rng: np.random.Generator, seconds: float, acoustic_p: float = 0.0) -> Tuple[np.ndarray, Dict]:
    """`synth_pattern` as an online mixer's crop: audio and a record with `onsets` [(mid, s)]."""
    x, hits = synth_pattern(rng, seconds, acoustic_p)
    return x, {"onsets": [(mid(c), t) for c, t in hits], "kind": "synth"}
