"""The synthesised kits of the hit model's training data (data_pipeline/synth_drums.py)."""
import numpy as np

from data_pipeline.hits import HIT_CLASSES
from data_pipeline.synth_drums import SynthKit, synth_pattern


def test_every_class_renders_at_its_velocity_in_both_styles():
    styles = {c: set() for c in ("Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Drum")}
    for seed in range(16):
        rng = np.random.default_rng(seed)
        kit = SynthKit(rng, acoustic_p=0.5)
        for c, acoustic in kit.acoustic.items():
            styles[c].add(acoustic)
        for c in HIT_CLASSES:
            x = kit.hit(c, rng, 0.7)
            assert x.dtype == np.float32 and np.isfinite(x).all()
            assert abs(np.abs(x).max() - 0.7) < 1e-3, (seed, c)
    assert all(s == {True, False} for s in styles.values()), styles


def test_acoustic_and_analogue_voices_differ():
    """The two models of a snare are not the same sound (spectral centroids apart)."""
    def centroid(x):
        m = np.abs(np.fft.rfft(x, 8192))
        return float((np.arange(len(m)) * m).sum() / m.sum())

    rng = np.random.default_rng(1)
    kit = SynthKit(rng, acoustic_p=0.5)
    kit.acoustic["Snare drum"] = False
    analogue = np.mean([centroid(kit.hit("Snare drum", rng, 1.0)) for _ in range(4)])
    kit.acoustic["Snare drum"] = True
    acoustic = np.mean([centroid(kit.hit("Snare drum", rng, 1.0)) for _ in range(4)])
    assert abs(acoustic - analogue) / analogue > 0.05


def test_patterns_are_reproducible_and_their_onsets_inside():
    a, ha = synth_pattern(np.random.default_rng(5), 3.0)
    b, hb = synth_pattern(np.random.default_rng(5), 3.0)
    assert np.array_equal(a, b) and ha == hb
    assert ha and all(0.0 <= t < 3.0 and c in HIT_CLASSES for c, t in ha)


def test_without_acoustic_voices_the_kits_draw_what_they_drew_before():
    """acoustic_p 0 (the shipped hit model's recipe) draws nothing more from the generator."""
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    kit = SynthKit(a)
    assert kit.acoustic == {}
    SynthKit(b, acoustic_p=0.5)
    assert a.random() != b.random()

