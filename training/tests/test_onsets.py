"""The onset rules the hit model's data and evaluation use (data_pipeline/hits.py)."""
import numpy as np
from scipy.signal import butter, sosfilt

from data_pipeline.config import SR
from data_pipeline.hits import banded_onsets, energy_onsets


def test_the_banded_detector_finds_a_kick_under_a_hiss_the_plain_rule_misses():
    """A low thump under steady, louder high-band noise: the full-band energy barely rises, the
    150 Hz band's does (training/README, issue 17's candidate detector)."""
    rng = np.random.default_rng(0)
    x = sosfilt(butter(4, 3000, btype="highpass", fs=SR, output="sos"), rng.standard_normal(SR)) * 0.3
    t = np.arange(int(0.3 * SR)) / SR
    s = int(0.5 * SR)
    x[s:s + len(t)] += 0.3 * np.sin(2 * np.pi * 60 * t) * np.exp(-t / 0.1)
    assert not any(abs(o - 0.5) < 0.02 for o in energy_onsets(x))
    assert any(abs(o - 0.5) < 0.02 for o in banded_onsets(x))
