#!/usr/bin/env python3
"""Where a hit model's errors on a split's kit renders come from, through `amtag hits` (issue 17).

Two reports on the renders of eval_hits.py (drums alone and under accompaniment), read at the
hit model's 0.5 (the shipped thresholds, baked into its head):

- errors: per class, each false hit put in one bin (20-60 ms from a true hit of its class, on
  another drum's hit, or near no hit at all) and each missed hit in one (no onset within 20 ms,
  or an onset the model scored below 0.5, with what else was struck there);
- families: whether a linear map of the nine class logits (it would fold into the linear head)
  fitted on all but one kit family and scored on the one left out beats the model as it is,
  each with thresholds chosen on the fitted families. A map that only helps on the families it
  was fitted on means the confusions are kit coverage, not calibration.

    python diagnose_hits.py --items ../data/items_validation.jsonl \\
        --hit-model ../weights/audio-mamba-hits.safetensors --json runs/hits-diagnosis.json

Only validation items belong here: it is for choosing what to work on.
"""
from __future__ import annotations

import collections
import json

import numpy as np
from sklearn.linear_model import LogisticRegression

from calibrate_hits import GRID, amtag_kit_hits, counts_at, f_measure
from data_pipeline.hits import HIT_CLASSES
from data_pipeline.labels import mid
from data_pipeline.online import load_items
from eval_hits import TOL_S, true_onsets
from eval_kits_amtag import kit_args

MAIN = HIT_CLASSES[:3]
NAME = {mid(c): c for c in HIT_CLASSES}


def probabilities(hits) -> np.ndarray:
    """[hits, classes] from `amtag hits` JSON (a class below its --threshold is 0)."""
    rows = [{k["label"]: k["probability"] for k in h["classes"]} for h in hits]
    return np.array([[r.get(c, 0.0) for c in HIT_CLASSES] for r in rows], np.float64).reshape(-1, len(HIT_CLASSES))


def error_bins(renders, setting: str) -> dict:
    out = {}
    for c in MAIN:
        false, missed = collections.Counter(), collections.Counter()
        for s, it, hits in renders:
            if s != setting:
                continue
            events = [(e["onset_s"], NAME.get(e["mid"], e["mid"])) for e in it["events"]]
            truth = true_onsets(it, c)
            times = np.array([h["time_s"] for h in hits])
            p = probabilities(hits)[:, HIT_CLASSES.index(c)] if hits else np.zeros(0)
            pred = times[p >= 0.5]
            for t in pred:
                d = min((abs(t - x) for x in truth), default=9.0)
                if d <= TOL_S:
                    continue
                near = sorted({n for x, n in events if abs(t - x) <= TOL_S})
                false["20-60 ms from one" if d <= 0.06 else ("on " + "+".join(near)) if near else "near no hit"] += 1
            for x in truth:
                if any(abs(x - t) <= TOL_S for t in pred):
                    continue
                if not len(times) or np.min(np.abs(times - x)) > TOL_S:
                    missed["no onset"] += 1
                    continue
                others = sorted({n for y, n in events if abs(y - x) <= TOL_S and n != c})
                missed["scored below 0.5" + (" with " + "+".join(others) if others else "")] += 1
        out[c] = {"false": dict(false.most_common()), "missed": dict(missed.most_common())}
    return out


def family_of(it) -> str:
    return it["group"]


def logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-5, 1 - 1e-5)
    return np.log(p / (1 - p))


def best_threshold(rows, cls: str) -> float:
    """The threshold with the best F over these renders (item, hit times, the class's scores),
    both settings pooled."""
    tot = sum(np.array([counts_at(times, q, true_onsets(it, cls), t) for t in GRID]) for it, times, q in rows)
    return float(GRID[int(np.argmax([f_measure(*r) for r in tot]))])


def held_out_families(renders) -> dict:
    """Per class and setting: F on each left-out family, summed, as (as is, with the fitted map)."""
    data = [(s, it, np.array([h["time_s"] for h in hits]), probabilities(hits)) for s, it, hits in renders]
    sums: dict = {}
    for held in sorted({family_of(it) for _, it, _, _ in data}):
        fit = [d for d in data if family_of(d[1]) != held]
        test = [d for d in data if family_of(d[1]) == held]
        x = np.concatenate([logits(p) for _, _, _, p in fit])
        for k, c in enumerate(MAIN):
            y = np.concatenate([[min(abs(t - u) for u in true_onsets(it, c)) <= TOL_S if true_onsets(it, c) else False
                                 for t in times] for _, it, times, _ in fit])
            lr = LogisticRegression(C=0.1, max_iter=2000).fit(x, y)
            scorers = (("as is", lambda p: p[:, k]), ("fitted map", lambda p: lr.predict_proba(logits(p))[:, 1]))
            for name, score in scorers:
                t = best_threshold([(it, times, score(p)) for _, it, times, p in fit], c)
                acc = sums.setdefault(c, {})
                for s, it, times, p in test:
                    acc.setdefault(s, {}).setdefault(name, np.zeros(3))
                    acc[s][name] += counts_at(times, score(p), true_onsets(it, c), t)
    return {c: {s: {n: round(f_measure(*v), 3) for n, v in per.items()} for s, per in cs.items()}
            for c, cs in sums.items()}


def main():
    a = kit_args(__doc__)
    # Every probability, however small: the map reads all nine logits.
    renders = amtag_kit_hits(load_items(a.items), a.amtag, a.hit_model, a.onsets, threshold=1e-5)
    report = {"errors": {s: error_bins(renders, s) for s in ("drums alone", "with accompaniment")},
              "held-out families": held_out_families(renders)}
    print(json.dumps(report, indent=1))
    if a.json:
        json.dump({"items": a.items, "hit_model": a.hit_model, "onsets": a.onsets, **report}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
