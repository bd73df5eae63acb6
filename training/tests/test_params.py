"""Parameter counts of the shipped configs (printed; run pytest -s to see them)."""

import os

import pytest

from audiomamba.config import Config
from audiomamba.model import AudioMamba, count_parameters

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")

TARGETS = {"tiny": 40.0e6, "micro": 12.3e6, "nano": 5.2e6, "dass-small": 30.0e6}


@pytest.mark.parametrize("name", list(TARGETS))
def test_parameter_count(name):
    cfg = Config.load(os.path.join(CONFIGS, f"{name}.json"))
    n = count_parameters(AudioMamba(cfg))
    print(f"\n{name}: {n:,} parameters ({n / 1e6:.2f}M, target ~{TARGETS[name] / 1e6:.1f}M)")
    assert abs(n - TARGETS[name]) / TARGETS[name] < 0.02
