#!/usr/bin/env python3
"""Hit models against onset detectors on a split's kit renders (issue 17): per pair of
checkpoint and detector (`energy`: the plugin's rule; `banded`: the candidate,
`data_pipeline.hits.banded_onsets`), the F of kick, snare and hi-hat drums alone and with
accompaniment, at 0.5 and at per-class thresholds chosen on those renders (calibrate_hits.py's
rule: the best mean F of the two settings), and the mean of the three at those thresholds.

    python compare_detectors.py --items ../data/items_validation.jsonl \\
        checkpoints/hits-v3-best.pt:energy checkpoints/hits-v3-best.pt:banded checkpoints/hits-v7-best.pt:banded
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import eval_hits
from calibrate_hits import GRID, choose, f_measure, sweep
from data_pipeline.hits import DETECTORS
from data_pipeline.online import load_items

MAIN = ("Bass drum", "Snare drum", "Hi-hat")


def compare(items, checkpoint: str, detector: str) -> dict:
    counts = sweep(eval_hits.load_model(checkpoint), items, detector=DETECTORS[detector])
    chosen = choose(counts)
    half = int(np.argmin(np.abs(GRID - 0.5)))
    out = {"checkpoint": checkpoint, "detector": detector,
           "main_mean_F": round(float(np.mean([chosen[c]["mean_F"] for c in MAIN])), 4)}
    for c in MAIN:
        g = int(np.argmin(np.abs(GRID - chosen[c]["threshold"])))
        out[c] = {"threshold": chosen[c]["threshold"],
                  **{s: {"F": round(f_measure(*counts[s][c][g]), 3), "F_at_0.5": round(f_measure(*counts[s][c][half]), 3)}
                     for s in counts}}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", required=True, help="validation items (choices are made on them)")
    ap.add_argument("pairs", nargs="+", help="CHECKPOINT:DETECTOR")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    items = load_items(a.items)
    print(json.dumps([compare(items, *p.rsplit(":", 1)) for p in a.pairs], indent=1))


if __name__ == "__main__":
    main()
