"""Evaluate a trained Audio Mamba on a manifest split (model.md section 5 metrics), and export it.

    python evaluate.py --checkpoint runs/plugin29/best.pt --manifest ../data/manifest_test.jsonl \
        --root ../data --export ../weights/audio-mamba.safetensors --json runs/plugin29/test_torch.json
    python evaluate.py --weights ../weights/audio-mamba.safetensors --manifest ... --amtag ../target/release/amtag

Files are tagged as amtag does: windows of the model length, the last one ending at the file end,
file probability = max over windows. With --amtag, the Rust CLI tags the same files and its mAP is
reported next to PyTorch's (they should agree within 0.005).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import torch

from audiomamba.config import Config
from audiomamba.export import export, load
from audiomamba.metrics import tagging_metrics
from audiomamba.model import AudioMamba, count_parameters
from sklearn.metrics import average_precision_score
from train import Targets, load_items, predict_file


def per_class_ap(Y, P):
    out = []
    for k in range(Y.shape[1]):
        out.append(float(average_precision_score(Y[:, k], P[:, k])) if 0 < Y[:, k].sum() < len(Y) else None)
    return out


def amtag_scores(binary, weights, paths, cfg):
    mids = {l.mid: i for i, l in enumerate(cfg.labels)}
    P = np.zeros((len(paths), cfg.num_classes), np.float32)
    chunk = 50
    for s in range(0, len(paths), chunk):
        cmd = [binary, "tag", *paths[s : s + chunk], "--model", weights, "--json", "--top", str(cfg.num_classes)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        docs = [json.loads(l) for l in out.splitlines() if l.strip()]
        if len(docs) == 1 and isinstance(docs[0], list):
            docs = docs[0]
        for j, d in enumerate(docs):
            for t in d.get("tags", []):
                k = mids.get(t["mid"])
                if k is not None:
                    P[s + j, k] = t["probability"]
    return P


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", help="train.py checkpoint (best.pt)")
    ap.add_argument("--weights", help="safetensors weights file")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--root", default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--export", help="write f16 safetensors here")
    ap.add_argument("--json", help="write metrics JSON here")
    ap.add_argument("--amtag", help="path to the amtag binary (needs --weights or --export)")
    a = ap.parse_args()
    if a.checkpoint:
        ck = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
        cfg = Config.from_dict(ck["config"])
        model = AudioMamba(cfg)
        model.load_state_dict(ck["model"])
    else:
        model = load(a.weights)
        cfg = model.config
    model.eval()
    if a.export:
        export(model, cfg, a.export, "f16")
        print(f"wrote {a.export}", file=sys.stderr)
        model = load(a.export)  # evaluate what ships (f16 weights)
        model.eval()
    items = load_items(a.manifest, a.root)
    if a.limit:
        items = items[: a.limit]
    tg = Targets(cfg)
    Y = np.stack([tg.clip(it) for it in items])
    P = np.stack([predict_file(model, it["path"]) for it in items])
    m = tagging_metrics(Y, P)
    res = {"model": cfg.name, "parameters": count_parameters(model), "clips": len(items),
           "torch": {"mAP": m.mAP, "mAUC": m.mAUC, "d_prime": m.d_prime, "per_class_AP": per_class_ap(Y, P)},
           "labels": [l.name for l in cfg.labels], "files": [it["path"] for it in items],
           "targets": Y.tolist(), "scores": P.tolist()}
    print(f"PyTorch: mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f} ({m.classes_used} classes)")
    if a.amtag:
        w = a.export or a.weights
        R = amtag_scores(a.amtag, w, [it["path"] for it in items], cfg)
        r = tagging_metrics(Y, R)
        res["amtag"] = {"mAP": r.mAP, "mAUC": r.mAUC, "d_prime": r.d_prime, "max_abs_prob_diff": float(np.abs(R - P).max())}
        print(f"amtag:   mAP {r.mAP:.4f} mAUC {r.mAUC:.4f} d' {r.d_prime:.3f}; |mAP diff| {abs(r.mAP - m.mAP):.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
