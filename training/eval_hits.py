#!/usr/bin/env python3
"""Drum transcription scores of the hit classifier on a split's kit renders (issue 17).

For each rendered pattern of the split's kits (every hit's class and onset known), alone and with
accompaniment (one or two of the split's melodic renders at 0 to -6 dB against the kit), onsets
are found by the energy-rise detector (data_pipeline/hits.py, the plugin's rule), each onset's
window is classified, and a predicted hit counts when a true hit of its class lies within 20 ms
(each true hit matched once), as drum-transcription benchmarks score. Per class: precision,
recall, F-measure. For reporting use the test split; never choose anything on it.

    python eval_hits.py --checkpoint runs/hits/best.pt --items ../data/items_test.jsonl --json runs/hits/test.json
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import soundfile as sf
import torch

from audiomamba.config import Config
from audiomamba.model import AudioMamba
from data_pipeline.hits import DETECTORS, HIT_CLASSES, HitSampler, energy_onsets
from data_pipeline.labels import mid
from data_pipeline.online import load_items

TOL_S = 0.02


def match(pred, truth, tol=TOL_S):
    """Greedy one-to-one matching of sorted onset lists; returns true positives."""
    truth = sorted(truth)
    used = [False] * len(truth)
    tp = 0
    for p in sorted(pred):
        best, bj = tol + 1e-9, -1
        for j, t in enumerate(truth):
            if not used[j] and abs(t - p) <= best:
                best, bj = abs(t - p), j
        if bj >= 0:
            used[bj] = True
            tp += 1
    return tp


@torch.no_grad()
def onset_probs(model, x, sr, detector=energy_onsets):
    """The detector's onsets in x and the model's class probabilities at each, [onsets, classes]."""
    cut = HitSampler(None, window_s=model.config.clip_samples / sr, pre_s=model.config.onset_pre_seconds)  # the training windows
    onsets = detector(x, sr)
    if not onsets:
        return onsets, np.zeros((0, len(HIT_CLASSES)), np.float32)
    wins = np.stack([cut._window(x, t) for t in onsets])
    return onsets, torch.sigmoid(model(torch.from_numpy(wins))["clip_logits"]).numpy()


def transcribe(model, x, sr, threshold=0.5, detector=energy_onsets):
    onsets, p = onset_probs(model, x, sr, detector)
    return {c: [t for t, pk in zip(onsets, p[:, k]) if pk >= threshold] for k, c in enumerate(HIT_CLASSES)}


def kit_patterns(items, seed=0):
    """Each kit render of a split, drums alone and with accompaniment (one or two of the split's
    melodic renders at 0 to -6 dB against the kit): yields (setting, audio, sr, item)."""
    hit_mids = {mid(c) for c in HIT_CLASSES}
    kits = [it for it in items if it["kind"] == "render" and any(e["mid"] in hit_mids for e in it["events"])]
    drums = hit_mids | {mid("Drum kit"), mid("Drum machine")}
    melodic = [it for it in items if it["kind"] == "render" and it["labels"] and not drums & set(it["labels"])]
    rng = np.random.default_rng(seed)
    for setting in ("drums alone", "with accompaniment"):
        for it in kits:
            x, sr = sf.read(it["path"], dtype="float32", always_2d=True)
            x = x.mean(1)
            if setting == "with accompaniment" and melodic:
                for _ in range(int(rng.integers(1, 3))):
                    m, _ = sf.read(melodic[int(rng.integers(len(melodic)))]["path"], dtype="float32", always_2d=True)
                    m = np.resize(m.mean(1), len(x))
                    g = 10 ** (float(rng.uniform(-6, 0)) / 20) * np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(m ** 2)) + 1e-9)
                    x = x + g * m
                x = x / max(1.0, np.abs(x).max() / 0.9)
            yield setting, x, sr, it


def true_onsets(it, cls):
    return [e["onset_s"] for e in it["events"] if e["mid"] == mid(cls)]


def load_model(path, config="configs/hits.json"):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = Config.from_dict(ck["config"])
    if cfg.onset_pre_seconds is None:
        # Checkpoints from before the config carried it (hits-v0, hits-v1): configs/hits.json's.
        cfg.onset_pre_seconds = Config.load(config).onset_pre_seconds
    model = AudioMamba(cfg, scan_impl="ref").eval()
    model.load_state_dict(ck["model"])
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--items", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--config", default="configs/hits.json", help="for checkpoints whose config lacks `onset`")
    ap.add_argument("--detector", choices=sorted(DETECTORS), default="energy",
                    help="the onsets' Python rule: energy (the whole signal) or banded (also a kick and a hat band, as the plugin's default)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(a.checkpoint, a.config)
    items = load_items(a.items)
    report, by_setting, n = {}, {}, 0
    for setting, x, sr, it in kit_patterns(items, a.seed):
        cnt = by_setting.setdefault(setting, {c: [0, 0, 0] for c in HIT_CLASSES})  # tp, predicted, true
        n += setting == "drums alone"
        pred = transcribe(model, x, sr, detector=DETECTORS[a.detector])
        for cls in HIT_CLASSES:
            truth = true_onsets(it, cls)
            cnt[cls][0] += match(pred[cls], truth)
            cnt[cls][1] += len(pred[cls])
            cnt[cls][2] += len(truth)
    for setting, counts in by_setting.items():
        rows = {}
        for c, (tp, npred, ntrue) in counts.items():
            if ntrue == 0 and npred == 0:
                continue
            prec = tp / npred if npred else 0.0
            rec = tp / ntrue if ntrue else 0.0
            rows[c] = {"P": round(prec, 4), "R": round(rec, 4),
                       "F": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0, "true": ntrue, "predicted": npred}
        report[setting] = rows
        print(f"{setting} ({n} patterns):")
        for c, r in rows.items():
            print(f"  {c:12s} P {r['P']:.3f} R {r['R']:.3f} F {r['F']:.3f}  ({r['true']} hits, {r['predicted']} predicted)")
    if a.json:
        json.dump({"checkpoint": a.checkpoint, "items": a.items, "detector": a.detector, "patterns": n, "tolerance_s": TOL_S,
                   **report}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
