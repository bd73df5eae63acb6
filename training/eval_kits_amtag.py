#!/usr/bin/env python3
"""Drum transcription of a split's kit renders through the shipped path (issue 17): the renders
of eval_hits.py (drums alone, and under one or two melodic renders), written to WAV and run
through `amtag hits --no-veto` (the Rust onset detector, the hit model at its 0.5), scored per
class as eval_hits.py scores (20 ms, each true hit matched once). Where eval_hits.py finds the
onsets by a Python rule, this is what the plugin and `amtag` do on the same audio.

    python eval_kits_amtag.py --items ../data/items_validation.jsonl \\
        --hit-model ../weights/audio-mamba-hits.safetensors --onsets banded --json runs/kits.json
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np
import soundfile as sf

from calibrate_hits import GRID, counts_at, f_measure
from data_pipeline.hits import HIT_CLASSES
from data_pipeline.online import load_items
from eval_hits import kit_patterns, match, true_onsets
from eval_hits_amtag import run_json_lines


def amtag_kit_hits(items, amtag: str, hit_model: str, onsets: str, threshold: float):
    """Each kit render (setting, item) and its hits from `amtag hits --no-veto` at `threshold`."""
    with tempfile.TemporaryDirectory() as tmp:
        renders = []
        for k, (setting, x, sr, it) in enumerate(kit_patterns(items, 0)):
            path = os.path.join(tmp, f"{k:04d}.wav")
            sf.write(path, x, sr, subtype="FLOAT")
            renders.append((setting, path, it))
        cmd = [amtag, "hits", "--json", "--no-veto", "--onsets", onsets, "--model", hit_model,
               "--threshold", str(threshold)]
        found = {os.path.abspath(d["file"]): d for d in run_json_lines(cmd + [p for _, p, _ in renders])}
    return [(setting, it, found[os.path.abspath(path)]["hits"]) for setting, path, it in renders]


def kit_sweep(items, amtag: str, hit_model: str, onsets: str) -> dict:
    """counts[setting][class] = array [len(GRID), 3] of (tp, predicted, true) per threshold, as
    calibrate_hits.sweep gives, through the shipped path."""
    counts: dict = {}
    for setting, it, hits in amtag_kit_hits(items, amtag, hit_model, onsets, float(GRID[0])):
        per = counts.setdefault(setting, {c: np.zeros((len(GRID), 3), np.int64) for c in HIT_CLASSES})
        times = [h["time_s"] for h in hits]
        for c in HIT_CLASSES:
            probs = [next((k["probability"] for k in h["classes"] if k["label"] == c), 0.0) for h in hits]
            truth = true_onsets(it, c)
            for g, t in enumerate(GRID):
                per[c][g] += counts_at(times, probs, truth, t)
    return counts


def score(items, amtag: str, hit_model: str, onsets: str) -> dict:
    counts: dict = {}
    renders = amtag_kit_hits(items, amtag, hit_model, onsets, 0.5)
    patterns = sum(1 for setting, _, _ in renders if setting == "drums alone")
    for setting, it, hits in renders:
        per = counts.setdefault(setting, {c: [0, 0, 0] for c in HIT_CLASSES})
        for c in HIT_CLASSES:
            pred = [h["time_s"] for h in hits if any(k["label"] == c for k in h["classes"])]
            truth = true_onsets(it, c)
            per[c][0] += match(pred, truth)
            per[c][1] += len(pred)
            per[c][2] += len(truth)
    return {"patterns": patterns, **{s: {c: {"F": round(f_measure(*v), 4), "P": round(v[0] / max(v[1], 1), 4), "R": round(v[0] / max(v[2], 1), 4),
                    "true": v[2], "predicted": v[1]} for c, v in per.items() if v[2] or v[1]}
            for s, per in counts.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", required=True)
    ap.add_argument("--amtag", default="../target/release/amtag")
    ap.add_argument("--hit-model", required=True)
    ap.add_argument("--onsets", default="banded", choices=["banded", "broadband"])
    ap.add_argument("--json")
    a = ap.parse_args()
    report = score(load_items(a.items), a.amtag, a.hit_model, a.onsets)
    for setting, rows in report.items():
        if setting == "patterns":
            continue
        print(setting)
        for c in HIT_CLASSES[:3]:
            r = rows[c]
            print(f"  {c:12s} F {r['F']:.3f}  P {r['P']:.3f}  R {r['R']:.3f}")
    if a.json:
        json.dump({"items": a.items, "hit_model": a.hit_model, "onsets": a.onsets, **report}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
