"""The built audio-mamba.vst3 in a third-party VST3 host (pedalboard, JUCE-based).

Needs AUDIO_MAMBA_BUNDLE_DIR (the folder holding audio-mamba.vst3) and a model in
AUDIO_MAMBA_MODEL; scripts/test-plugin.sh sets both. pedalboard compensates the reported latency,
so the audio that comes back must equal the input exactly.
"""

import os
import pathlib

import numpy as np
import pedalboard
import pytest

BUNDLE = pathlib.Path(os.environ["AUDIO_MAMBA_BUNDLE_DIR"]) / "audio-mamba.vst3"


@pytest.fixture(scope="module")
def plugin():
    # One load for the module: pedalboard reads every parameter when it loads a plugin, and the
    # 2,080 hidden MIDI CC parameters (VST3 CC input) make that take about half a minute.
    return pedalboard.load_plugin(str(BUNDLE))


def noise(channels, n, seed=0):
    return (np.random.RandomState(seed).randn(channels, n) * 0.1).astype(np.float32)


def test_loads_with_its_parameters(plugin):
    assert plugin.name == "Audio Mamba"
    names = set(plugin.parameters)
    for name in ["analysis_window_s", "analysis_hop_s", "sensitivity", "latency_compensation", "midi_channel"]:
        assert name in names
    # golden-a's labels name the first tag slots.
    assert "tag_1_speech_threshold" in names and "tag_5_rain_cc" in names


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_audio_passes_through(plugin, rate, channels):
    x = noise(channels, rate * 2)
    y = plugin(x, rate, buffer_size=333)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y, x)


def test_parameters_set_and_read_back(plugin):
    plugin.latency_compensation = False
    plugin.analysis_hop_s = 0.2
    plugin.sensitivity = 0.8
    plugin.midi_channel = 10
    plugin.tag_1_speech_threshold = 0.3
    assert not plugin.latency_compensation
    assert abs(plugin.analysis_hop_s - 0.2) < 0.011
    assert abs(plugin.sensitivity - 0.8) < 0.011
    assert plugin.midi_channel == 10
    assert abs(plugin.tag_1_speech_threshold - 0.3) < 0.011
    x = noise(2, 48000, seed=1)
    np.testing.assert_array_equal(plugin(x, 48000), x)
    # The fixture is shared: put back what the other tests expect.
    plugin.latency_compensation = True
    plugin.analysis_hop_s = 0.25
    plugin.sensitivity = 0.5
    plugin.midi_channel = 1
    plugin.tag_1_speech_threshold = 0.5


def test_non_finite_input_comes_out_as_silence(plugin):
    x = noise(2, 48000, seed=2)
    x[:, 1000:1100] = np.nan
    x[0, 2000] = np.inf
    y = plugin(x, 48000, buffer_size=512)
    assert np.isfinite(y).all()
    clean = np.where(np.isfinite(x), x, 0.0)
    np.testing.assert_array_equal(y, clean)
