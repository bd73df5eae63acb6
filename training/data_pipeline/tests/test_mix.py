import os

import numpy as np

from data_pipeline.audio import write_wav
from data_pipeline.config import SR
from data_pipeline.labels import expand, mid
from data_pipeline.mix import make_clip, merge_events, read_item


def _item(tmp, name, mids, dur, kind="render", events=None, weak=(), group="g"):
    x = (np.random.default_rng(len(name)).standard_normal(int(dur * SR)) * 0.1).astype(np.float32)
    p = os.path.join(tmp, name + ".wav")
    write_wav(p, x, SR)
    if events is None:
        events = [{"mid": m, "onset_s": 0.1, "offset_s": dur - 0.1} for m in mids]
    return {"id": name, "path": p, "kind": kind, "dur": dur, "labels": mids, "events": events,
            "weak": list(weak), "sources": [name], "group": group}


def test_labels_events_consistent_with_sources(tmp_path):
    tmp = str(tmp_path)
    hits = [{"mid": mid("Snare drum"), "onset_s": t, "offset_s": t + 0.1} for t in (0.5, 1.0, 1.5)]
    items = [
        _item(tmp, "speech", [mid("Speech")], 3.0, kind="speech", group="lang:xx"),
        _item(tmp, "snare", [mid("Snare drum")], 2.0, events=hits, group="kit:a"),
        _item(tmp, "loop", [mid("Drum kit")], 12.0, kind="loop", weak=[mid("Bass drum")], group="pkg:l"),
        _item(tmp, "bg", [], 1.0, kind="background", events=[], group="game:z"),
    ]
    for seed in range(10):
        rng = np.random.default_rng(seed)
        audio, rec = make_clip(items, rng, 10.0)
        assert audio.shape == (int(10.0 * SR),)
        assert np.abs(audio).max() <= 0.9
        ev_mids = {e["mid"] for e in rec["events"]}
        assert set(rec["labels"]) == set(expand(ev_mids | set(rec.get("weak", []))))
        for e in rec["events"]:
            assert 0 <= e["onset_s"] < e["offset_s"] <= 10.0 + 1e-6
        # direct source classes are present (all placed inside the clip), ancestors added
        assert mid("Speech") in rec["labels"] and mid("Snare drum") in rec["labels"]
        assert mid("Drum") in rec["labels"] and mid("Music") in rec["labels"]  # ancestors of Snare drum
        assert mid("Bass drum") in rec.get("weak", [])
        assert set(rec["groups"]) == {"lang:xx", "kit:a", "pkg:l", "game:z"}
        assert set(rec["sources"]) == {"speech", "snare", "loop", "bg"}
        assert not set(rec.get("weak", [])) & ev_mids


def test_snare_onsets_survive_placement(tmp_path):
    tmp = str(tmp_path)
    hits = [{"mid": mid("Snare drum"), "onset_s": t, "offset_s": t + 0.1} for t in (0.5, 1.0)]
    it = _item(tmp, "snare", [mid("Snare drum")], 10.0, events=hits)
    audio, rec = make_clip([it], np.random.default_rng(0), 10.0, p_bandlimit=0, p_reverb=0, p_noise=0)
    on = sorted(e["onset_s"] for e in rec["events"] if e["mid"] == mid("Snare drum"))
    assert on == [0.5, 1.0]  # a 10 s item in a 10 s clip is placed at 0


def test_merge_events():
    m = mid("Piano")
    ev = merge_events([{"mid": m, "onset_s": 0, "offset_s": 1}, {"mid": m, "onset_s": 0.5, "offset_s": 2},
                       {"mid": m, "onset_s": 3, "offset_s": 4}])
    assert [(e["onset_s"], e["offset_s"]) for e in ev] == [(0, 2), (3, 4)]


def test_read_item_roundtrip(tmp_path):
    it = _item(str(tmp_path), "x", [], 0.5)
    assert len(read_item(it["path"])) == int(0.5 * SR)


def test_choose_items_stays_in_split_and_nonmusic_clips(tmp_path):
    from data_pipeline.mix import choose_items
    tmp = str(tmp_path)
    split_items = [_item(tmp, f"p{i}", [mid("Piano")], 2.0, group=f"sf:{i % 2}") for i in range(4)]
    split_items += [_item(tmp, f"s{i}", [mid("Speech")], 2.0, kind="speech", group="lang:xx") for i in range(3)]
    bg = [_item(tmp, "bg", [], 1.0, kind="background", events=[], group="game:z")]
    items = split_items + bg
    by = {}
    for it in items:
        for m in it["labels"]:
            by.setdefault(m, {}).setdefault(it["group"], []).append(it)
    nonmusic = [it for it in items if mid("Piano") not in it["labels"]]
    rng = np.random.default_rng(0)
    ids = {it["id"] for it in items}
    n_nonmusic = 0
    for _ in range(300):
        ch = choose_items(by, items, rng, bg, nonmusic, 0.3, [it for it in items if mid("Speech") in it["labels"]])
        assert ch and {it["id"] for it in ch} <= ids
        n_nonmusic += all(mid("Piano") not in it["labels"] for it in ch)
    assert n_nonmusic >= 60
