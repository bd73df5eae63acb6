import os
import shutil

import numpy as np
import pytest

from data_pipeline import render as R
from data_pipeline.audio import energy_onset
from data_pipeline.config import SR
from data_pipeline.labels import LABEL_NAMES, audioset_table, mid

FLUID = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def test_sample_sequencer_onsets_exact():
    rng = np.random.default_rng(0)
    hit = (np.exp(-np.arange(3000) / 400) * rng.standard_normal(3000)).astype(np.float32)
    for t in (0.25, 1.2345, 3.3):
        buf = np.zeros(4 * SR, np.float32)
        s = int(round(t * SR))
        R.place(buf, hit, s)
        assert abs(energy_onset(buf, SR, -30, hop=16) - s / SR) < 0.002


def test_drum_pattern_and_phrase_generators():
    rng = np.random.default_rng(1)
    hits = R.gen_drum_pattern(rng, list(R.DRUM_KEYS), 10.0, sparse=False)
    assert hits and all(0 <= t < 10.0 for t, _, _ in hits)
    assert {"Bass drum", "Snare drum"} <= {c for _, c, _ in hits}
    for cls in R.MELODIC:
        notes = R.gen_phrase(rng, cls, 8.0)
        lo, hi = R.MELODIC[cls][1]
        assert notes and all(lo <= k <= hi and 0 <= a < b <= 8.0 for a, b, k, _ in notes)


def test_notes_to_events_drum_map():
    q = [(0.5, 0.6, 9, 38, 100), (1.0, 1.1, 9, 42, 100), (2.0, 3.0, 0, 60, 90)]
    ev = R.notes_to_events(q, {0: "Piano"}, dur_s=10)
    assert [(e["mid"], e["onset_s"]) for e in ev] == [(mid("Snare drum"), 0.5), (mid("Hi-hat"), 1.0), (mid("Piano"), 2.0)]
    assert ev[0]["offset_s"] == pytest.approx(0.5 + R.DRUM_HIT_S)


@pytest.mark.skipif(not os.path.exists(FLUID), reason="fluid-soundfont-gm not installed")
def test_fluidsynth_onsets_match_energy():
    pytest.importorskip("fluidsynth")
    fl = R.Fluid([FLUID])
    for chan, bank, prog, key in [(9, 128, 0, 38), (9, 128, 0, 36), (0, 0, 0, 60)]:
        for on in (0.5, 1.2345):
            x, q = fl.render(FLUID, {chan: (bank, prog)}, [(on, on + 0.3, chan, key, 100)], 2.0)
            assert abs(q[0][0] - on) <= 32 / SR + 1e-9          # quantised to the 64-sample block
            assert abs(energy_onset(x, SR, -30) - q[0][0]) < 0.005


@pytest.mark.skipif(shutil.which("timidity") is None or not os.path.exists("/etc/timidity/freepats.cfg"),
                    reason="timidity/freepats not installed")
def test_timidity_onsets_match_energy():
    pytest.importorskip("mido")
    x, q = R.timidity_render({9: (0, 0)}, [(0.75, 0.9, 9, 38, 100)], 2.0)
    assert abs(energy_onset(x, SR, -30) - 0.75) < 0.005


def test_label_set():
    t = audioset_table()
    assert len(LABEL_NAMES) >= 25 and len(set(LABEL_NAMES)) == len(LABEL_NAMES)
    assert all(n in t for n in LABEL_NAMES)
    here = os.path.join(os.path.dirname(__file__), "..", "labels.csv")
    rows = open(here).read().strip().splitlines()[1:]
    assert len(rows) == len(LABEL_NAMES)
    assert rows[0].startswith("0,/m/09x0r,Speech")
