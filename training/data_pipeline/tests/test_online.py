"""Online mixing: crops of the model's length, labels consistent with the sources, the fixed
shares of single-source, no-music and hard-negative crops, lazy reads, determinism."""
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from scipy.signal import resample_poly

from data_pipeline.audio import resample, write_wav
from data_pipeline.config import SR
from data_pipeline.labels import expand, mid
from data_pipeline.online import DRUM_CLASSES, LazyWav, OnlineMixer, Shares, load_items

from test_mix import _item

CROP_S = 2.56


def _items(tmp):
    hits = [{"mid": mid("Snare drum"), "onset_s": t, "offset_s": t + 0.1} for t in (0.5, 1.0, 1.5, 4.0)]
    return [
        _item(tmp, "speech", [mid("Speech")], 3.0, kind="speech", group="lang:xx"),
        _item(tmp, "speech2", [mid("Speech")], 1.5, kind="speech", group="lang:yy"),
        _item(tmp, "snare", [mid("Snare drum")], 5.0, events=hits, group="kit:a"),
        _item(tmp, "piano", [mid("Piano")], 20.0, group="sf:fluid"),
        _item(tmp, "clap", [mid("Clapping")], 0.3, kind="oneshot", group="author:b"),
        _item(tmp, "door", [], 0.4, kind="background", events=[], group="game:z"),
    ]


def test_crops_and_labels(tmp_path):
    mixer = OnlineMixer(_items(str(tmp_path)), CROP_S)
    rng = np.random.default_rng(0)
    n = int(round(CROP_S * SR))
    for _ in range(60):
        audio, rec = mixer.sample(rng)
        assert audio.shape == (n,) and audio.dtype == np.float32
        assert np.isfinite(audio).all() and np.abs(audio).max() <= 0.9
        strong = {e["mid"] for e in rec["events"]}
        assert set(rec["labels"]) == set(expand(strong | set(rec.get("weak", []))))
        for e in rec["events"]:
            assert 0 <= e["onset_s"] < e["offset_s"] <= CROP_S + 1e-6
        if mid("Snare drum") in rec["labels"]:
            assert "snare" in rec["sources"]


def test_shares_and_kinds(tmp_path):
    mixer = OnlineMixer(_items(str(tmp_path)), CROP_S, Shares(single=0.3, nonmusic=0.2, hardneg=0.2))
    rng = np.random.default_rng(1)
    kinds = Counter()
    drums = {mid(c) for c in DRUM_CLASSES}
    for _ in range(400):
        kind, chosen = mixer.choose(rng)
        kinds[kind] += 1
        labels = set(expand([m for it in chosen for m in it["labels"]]))
        if kind == "single":
            assert len(chosen) == 1 and chosen[0]["labels"]
        if kind in ("nonmusic", "hardneg"):
            assert mid("Music") not in labels
        if kind == "hardneg":
            assert not labels & drums
            assert {it["id"] for it in chosen} <= {"speech", "speech2", "clap", "door"}
    for kind, share in (("single", 0.3), ("nonmusic", 0.2), ("hardneg", 0.2), ("mixture", 0.3)):
        assert abs(kinds[kind] / 400 - share) < 0.07, kinds


def test_fresh_and_deterministic(tmp_path):
    items = _items(str(tmp_path))
    a = [OnlineMixer(items, CROP_S).sample(np.random.default_rng(5))[0] for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])  # same seed, same crop
    mixer = OnlineMixer(items, CROP_S)
    rng = np.random.default_rng(5)
    crops = [mixer.sample(rng)[0] for _ in range(20)]
    # no two crops of one stream are the same mixture
    assert len({c.tobytes() for c in crops}) == 20


def test_lazy_wav_reads_slices(tmp_path):
    x = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    p = str(tmp_path / "x.wav")
    write_wav(p, x, SR)
    w = LazyWav(p)
    full = w[0:len(w)]
    assert len(w) == SR and len(full) == SR
    np.testing.assert_array_equal(w[100:300], full[100:300])
    assert len(w[SR - 10: SR + 50]) == 10 and len(w[500:400]) == 0
    with pytest.raises(ValueError):
        w[0:100:2]
    write_wav(str(tmp_path / "y.wav"), x, 16000)
    with pytest.raises(ValueError):
        LazyWav(str(tmp_path / "y.wav"))


def test_load_items_relocates_paths(tmp_path):
    import json
    d = tmp_path / "data"
    (d / "items" / "real").mkdir(parents=True)
    write_wav(str(d / "items" / "real" / "a.wav"), np.zeros(100, np.float32) + 0.1, SR)
    it = {"id": "a", "path": "/elsewhere/data/items/real/a.wav", "labels": [], "events": [], "group": "g",
          "kind": "background", "sources": ["a"]}
    (d / "items_train.jsonl").write_text(json.dumps(it) + "\n")
    got = load_items(str(d / "items_train.jsonl"))
    assert got[0]["path"] == str(d / "items" / "real" / "a.wav")


def test_bad_shares_rejected(tmp_path):
    with pytest.raises(ValueError):
        OnlineMixer(_items(str(tmp_path)), CROP_S, Shares(single=0.6, nonmusic=0.3, hardneg=0.2))


@pytest.mark.parametrize("rates", [(32000, 8000), (8000, 32000), (32000, 11025), (44100, 32000)])
def test_cached_resampling_filter_is_scipys_default(rates):
    a, b = rates
    x = np.random.default_rng(a).standard_normal(4000).astype(np.float32)
    fr = Fraction(b, a).limit_denominator(1000)
    expect = resample_poly(x, fr.numerator, fr.denominator).astype(np.float32)
    np.testing.assert_array_equal(resample(x, a, b), expect)


def test_extra_speech_never_drops_a_build_row():
    from data_pipeline.extra_speech import new_duplicates
    # 3 build rows (0-2), new rows 3-5: build-build pairs are ignored, a new copy of a build row
    # goes whichever side the fingerprint pass kept, new-new keeps the first
    assert new_duplicates([(0, 1), (2, 3), (4, 0), (3, 5)], 3) == {0, 1, 2}
    assert new_duplicates([], 3) == set()


def test_every_gm_program_has_a_label_rule():
    from data_pipeline.extra_renders import program_class
    assert program_class(0) == "Piano" and program_class(81) == "Synthesizer"
    assert program_class(65) == "Saxophone" and program_class(73) == "Flute"
    assert program_class(6) == "Music" and program_class(71) == "Music"  # harpsichord, clarinet
    assert program_class(117) == "Drum"
    assert all(program_class(p) is None for p in range(120, 128))  # sound effects: no Music
    assert sum(program_class(p) == "Music" for p in range(128)) > 40


def test_hit_windows_are_labelled_by_coinciding_hits(tmp_path):
    from data_pipeline.hits import HIT_CLASSES, HitSampler, energy_onsets
    tmp = str(tmp_path)
    # a kit item: kick at 0.5 s together with a hat, a snare at 1.0 s
    kit = _item(tmp, "kit", [mid("Bass drum"), mid("Hi-hat"), mid("Snare drum")], 2.0, group="kit:a", events=[
        {"mid": mid("Bass drum"), "onset_s": 0.5, "offset_s": 0.6}, {"mid": mid("Hi-hat"), "onset_s": 0.505, "offset_s": 0.6},
        {"mid": mid("Snare drum"), "onset_s": 1.0, "offset_s": 1.1}])
    speech = _item(tmp, "speech", [mid("Speech")], 2.0, kind="speech", group="lang:xx")
    mixer = OnlineMixer([kit, speech], CROP_S, Shares(single=1.0, nonmusic=0.0, hardneg=0.0))
    hs = HitSampler(mixer, jitter_s=0.0)
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(30):
        for w, y, kind in hs.from_crop(rng):
            assert w.shape == (int(0.256 * SR),) and np.isfinite(w).all()
            on = {HIT_CLASSES[i] for i in np.nonzero(y)[0]}
            if kind == "hit":
                assert on in ({"Bass drum", "Hi-hat"}, {"Snare drum"})
                seen.add(frozenset(on))
            else:
                assert not on
    assert len(seen) == 2
    # the energy-rise detector finds a click in silence and nothing in silence alone
    x = np.zeros(SR, np.float32)
    x[16000:16040] = 0.5
    t = energy_onsets(x)
    assert len(t) == 1 and abs(t[0] - 0.5) < 0.003
    assert energy_onsets(np.zeros(SR, np.float32)) == []


def test_hit_windows_are_retuned_within_two_semitones(tmp_path):
    from data_pipeline.hits import HitSampler
    hs = HitSampler(None, max_semitones=2.0, p_pitch=1.0)
    tone = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR).astype(np.float32)
    rng = np.random.default_rng(0)
    peaks = []
    for _ in range(20):
        w = hs._window(tone, 0.5, rng)
        assert w.shape == (hs.n,)
        spec = np.abs(np.fft.rfft(w * np.hanning(len(w))))
        peaks.append(np.argmax(spec) * SR / len(w))
    lo, hi = 1000 * 2 ** (-2 / 12) - 8, 1000 * 2 ** (2 / 12) + 8
    assert all(lo <= f <= hi for f in peaks) and np.ptp(peaks) > 100
    assert np.argmax(np.abs(np.fft.rfft(hs._window(tone, 0.5) * np.hanning(hs.n)))) * SR / hs.n == pytest.approx(1000, abs=8)
