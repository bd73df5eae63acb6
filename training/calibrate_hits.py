#!/usr/bin/env python3
"""Per-class thresholds for the hit classifier, chosen on the validation split (issue 17).

A hit model trained on four kit families is not calibrated on other kits: on the validation
kits it gives true kicks a mean probability of 0.3, so the plugin's fixed 0.5 drops most of them.
This scores drum transcription (eval_hits.py: the detector's onsets, 20 ms, one to one) on the
validation split's kit renders, drums alone and with accompaniment, for thresholds 0.05-0.95, and
picks per class the one with the best mean F of the two settings. With --out it writes the
checkpoint with each class's head bias lowered by logit(threshold), so that the plugin's and
amtag's 0.5 is the chosen threshold: the same decisions, no new setting to ship.

    python calibrate_hits.py --checkpoint runs/hits/best.pt --items ../data/items_validation.jsonl \
        --json runs/hits/calibration.json --out runs/hits/calibrated.pt

Only validation items may be given here (the test split is never used for a choice).
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

from data_pipeline.hits import HIT_CLASSES
from data_pipeline.online import load_items
from eval_hits import kit_patterns, load_model, match, onset_probs, true_onsets

GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def f_measure(tp, npred, ntrue):
    p = tp / npred if npred else 0.0
    r = tp / ntrue if ntrue else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def sweep(model, items, seed=0):
    """counts[setting][class] = array [len(GRID), 3] of (tp, predicted, true) per threshold."""
    counts = {}
    for setting, x, sr, it in kit_patterns(items, seed):
        onsets, p = onset_probs(model, x, sr)
        per = counts.setdefault(setting, {c: np.zeros((len(GRID), 3), np.int64) for c in HIT_CLASSES})
        for k, cls in enumerate(HIT_CLASSES):
            truth = true_onsets(it, cls)
            for g, t in enumerate(GRID):
                pred = [o for o, pk in zip(onsets, p[:, k]) if pk >= t]
                per[cls][g] += (match(pred, truth), len(pred), len(truth))
    return counts


def choose(counts):
    """Per class: the threshold with the best mean F over the settings, and the F's at it and at 0.5."""
    out = {}
    half = int(np.argmin(np.abs(GRID - 0.5)))
    for cls in HIT_CLASSES:
        f = np.mean([[f_measure(*row) for row in counts[s][cls]] for s in counts], axis=0)
        g = int(np.argmax(f))
        out[cls] = {"threshold": float(GRID[g]), "mean_F": round(float(f[g]), 4), "mean_F_at_0.5": round(float(f[half]), 4),
                    **{f"F_{s}": round(f_measure(*counts[s][cls][g]), 4) for s in counts}}
    return out


def calibrated_state(state, thresholds):
    """The state dict with head bias b_k - logit(t_k): p >= t_k before iff p' >= 0.5 after."""
    state = {k: v.clone() for k, v in state.items()}
    shift = torch.tensor([math.log(t / (1 - t)) for t in thresholds], dtype=state["classifier.head.bias"].dtype)
    state["classifier.head.bias"] -= shift
    return state


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--items", required=True, help="the validation split's items")
    ap.add_argument("--json", required=True)
    ap.add_argument("--out", default=None, help="write the calibrated checkpoint here")
    ap.add_argument("--config", default="configs/hits.json")
    a = ap.parse_args()
    if "test" in a.items.rsplit("/", 1)[-1]:
        raise SystemExit("thresholds are chosen on validation, never on the test split")
    torch.set_num_threads(1)
    model = load_model(a.checkpoint, a.config)
    res = choose(sweep(model, load_items(a.items)))
    for cls, r in res.items():
        print(f"  {cls:12s} threshold {r['threshold']:.2f}  mean F {r['mean_F']:.3f} (at 0.5: {r['mean_F_at_0.5']:.3f})")
    main3 = ("Bass drum", "Snare drum", "Hi-hat")
    summary = {"main_mean_F": round(float(np.mean([res[c]["mean_F"] for c in main3])), 4),
               "main_mean_F_at_0.5": round(float(np.mean([res[c]["mean_F_at_0.5"] for c in main3])), 4)}
    print(f"bass drum, snare, hi-hat: mean F {summary['main_mean_F']:.4f} (at 0.5: {summary['main_mean_F_at_0.5']:.4f})")
    json.dump({"checkpoint": a.checkpoint, "items": a.items, "classes": res, **summary}, open(a.json, "w"), indent=1)
    if a.out:
        ck = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
        ck["model"] = calibrated_state(ck["model"], [res[c]["threshold"] for c in HIT_CLASSES])
        ck["calibration"] = {c: res[c]["threshold"] for c in HIT_CLASSES}
        if ck["config"].get("onset") is None:
            ck["config"] = model.config.to_dict()
        torch.save(ck, a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
