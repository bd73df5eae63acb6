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

import numpy as np

from calibrate_hits import GRID, f_measure, kit_sweep
from data_pipeline.hits import HIT_CLASSES
from data_pipeline.online import load_items


def score(items, amtag: str, hit_model: str, onsets: str) -> dict:
    """Per setting and class: F, P, R, true and predicted hits at the hit model's 0.5."""
    counts, patterns = kit_sweep(items, amtag, hit_model, onsets)
    half = int(np.argmin(np.abs(GRID - 0.5)))
    row = lambda v: {"F": round(f_measure(*v), 4), "P": round(v[0] / max(v[1], 1), 4),  # noqa: E731
                     "R": round(v[0] / max(v[2], 1), 4), "true": int(v[2]), "predicted": int(v[1])}
    return {"patterns": patterns, **{s: {c: row(per[c][half]) for c in HIT_CLASSES if per[c][half][1] or per[c][half][2]}
                                     for s, per in counts.items()}}


def kit_args(doc: str) -> argparse.Namespace:
    """The command line of a report on a split's kit renders through `amtag hits`."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", required=True)
    ap.add_argument("--amtag", default="../target/release/amtag")
    ap.add_argument("--hit-model", required=True)
    ap.add_argument("--onsets", default="banded", choices=["banded", "broadband"])
    ap.add_argument("--json")
    return ap.parse_args()


def main():
    a = kit_args(__doc__)
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
