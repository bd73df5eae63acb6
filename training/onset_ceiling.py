#!/usr/bin/env python3
"""How far the onset detector lets drum transcription go (issue 17): the share of true kick,
snare and hi-hat onsets that have a detected onset within 20 ms, and the F-measure a perfect
classifier of the detected onsets would reach (precision 1, that recall).

Two views: a split's kit renders, drums alone and with accompaniment (eval_hits.py's setting,
the Python mirror of the plugin's detector), and with --manifest the shipped path on a split's
10 s clips (`amtag hits`: the Rust detector, with the tagger's veto at --veto when given).

    python onset_ceiling.py --items ../data/items_test.jsonl
    python onset_ceiling.py --items ../data/items_validation.jsonl --bands   # a candidate detector
    python onset_ceiling.py --manifest ../data/manifest_validation.jsonl --hit-model ../weights/audio-mamba-hits.safetensors
"""
from __future__ import annotations

import argparse
import json


from calibrate_hits import f_measure, sweep_amtag
from data_pipeline.hits import HIT_CLASSES, banded_onsets, energy_onsets
from data_pipeline.online import load_items
from eval_hits import kit_patterns, match, true_onsets

MAIN = HIT_CLASSES[:3]


def ceiling(found: int, true: int) -> dict:
    return {"true": true, "found": found, "recall_ceiling": round(found / max(true, 1), 3),
            "F_ceiling": round(f_measure(found, found, true), 3)}


def kits(items_path: str, bands: bool = False) -> dict:
    acc: dict = {}
    for setting, x, sr, it in kit_patterns(load_items(items_path), 0):
        onsets = banded_onsets(x, sr) if bands else list(energy_onsets(x, sr))
        every = [t for c in HIT_CLASSES for t in true_onsets(it, c)]
        a = acc.setdefault(setting, {"onsets": 0, "stray": 0, "seconds": 0.0})
        a["onsets"] += len(onsets)
        a["stray"] += sum(1 for o in onsets if not any(abs(o - t) <= 0.02 for t in every))
        a["seconds"] += len(x) / sr
        for c in MAIN:
            truth = true_onsets(it, c)
            v = a.setdefault(c, [0, 0])
            v[0] += match(onsets, truth)
            v[1] += len(truth)
    return {s: {**{c: ceiling(*d[c]) for c in MAIN},
                "onsets_per_s": round(d["onsets"] / d["seconds"], 2),
                "onsets_near_no_hit_per_s": round(d["stray"] / d["seconds"], 2)} for s, d in acc.items()}


def clips(manifest: str, root: str, amtag: str, hit_model: str, veto: float, onsets: str) -> dict:
    cl = sweep_amtag(manifest, root, amtag, hit_model, veto, onsets=onsets)
    return {c: ceiling(sum(match(x["times"], x["truth"][c]) for x in cl), sum(len(x["truth"][c]) for x in cl))
            for c in MAIN}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", help="a split's items: its kit renders, alone and under accompaniment")
    ap.add_argument("--manifest", help="a split's clips, through amtag")
    ap.add_argument("--root", default="../data")
    ap.add_argument("--amtag", default="../target/release/amtag")
    ap.add_argument("--hit-model", default="../weights/audio-mamba-hits.safetensors")
    ap.add_argument("--veto", type=float, default=0.0)
    ap.add_argument("--bands", action="store_true", help="kit renders with the banded detector's Python rule")
    ap.add_argument("--onsets", default="banded", choices=["banded", "broadband"], help="amtag's detector (--manifest)")
    a = ap.parse_args()
    if a.items:
        print(json.dumps({"kit renders": kits(a.items, a.bands), "detector": "banded" if a.bands else "shipped"}, indent=1))
    if a.manifest:
        print(json.dumps({"clips": clips(a.manifest, a.root, a.amtag, a.hit_model, a.veto, a.onsets)}, indent=1))


if __name__ == "__main__":
    main()
