#!/usr/bin/env python3
"""Train the per-hit drum classifier (issue 17): a small Audio Mamba (configs/hits.json: 0.256 s
window from 20 ms before an onset, linear head over the drum classes, all-zero = not a drum hit)
on windows cut from fresh online mixtures (data_pipeline/hits.py).

    python train_hits.py --config configs/hits.json \
        --train-items ../data/items_train.jsonl,../data/items_train_renders.jsonl \
        --val-items ../data/items_validation.jsonl --out runs/hits --steps 6000 --workers 1

Validation is a fixed set of windows from the validation split's items (other kits, fonts and
languages than training), made once with a fixed seed and kept in OUT/val.npz. Per class it
reports precision, recall and F at 0.5, and the share of non-drum onsets that fire any class.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from audiomamba.checkpoint import restore
from audiomamba.config import Config
from audiomamba.model import AudioMamba, count_parameters
from data_pipeline.hits import HIT_CLASSES, HitSampler
from data_pipeline.online import OnlineMixer, load_items
from hit_augment import augment


def make_sampler(paths: str, cfg: Config, max_semitones: float = 2.0, synth_p: float = 0.0,
                 synth_acoustic_p: float = 0.0, detector: str = "energy") -> HitSampler:
    items = [it for p in paths.split(",") for it in load_items(p)]
    if cfg.onset_pre_seconds is None:
        raise SystemExit("the hit model's config needs onset.pre_seconds (where its window starts)")
    return HitSampler(OnlineMixer(items, 2.56), window_s=cfg.clip_samples / cfg.sample_rate,
                      pre_s=cfg.onset_pre_seconds, max_semitones=max_semitones, synth_p=synth_p,
                      synth_acoustic_p=synth_acoustic_p, detector=detector)


class _Windows(torch.utils.data.IterableDataset):
    """Batches of fresh windows (workers > 0), or of a pool of `pool` windows made once and drawn
    with replacement (the CPU: mixing costs ~15 ms a window, training ~1 ms)."""

    def __init__(self, paths, cfg, batch, seed, pool=0, max_semitones=2.0, synth_p=0.0, synth_acoustic_p=0.0,
                 detector="energy"):
        super().__init__()
        self.paths, self.cfg, self.batch, self.seed, self.pool = paths, cfg, batch, seed, pool
        self.max_semitones, self.synth_p, self.synth_acoustic_p = max_semitones, synth_p, synth_acoustic_p
        self.detector = detector

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng(self.seed + 100 * (info.id if info else 0))
        stream = make_sampler(self.paths, self.cfg, self.max_semitones, self.synth_p, self.synth_acoustic_p,
                              self.detector).stream(rng)
        if self.pool:
            ex = [next(stream) for _ in range(self.pool)]
            x = torch.from_numpy(np.stack([e[0] for e in ex]))
            y = torch.from_numpy(np.stack([e[1] for e in ex]))
            while True:
                i = torch.from_numpy(rng.integers(0, self.pool, self.batch))
                yield x[i], y[i]
        while True:
            ex = [next(stream) for _ in range(self.batch)]
            yield torch.from_numpy(np.stack([e[0] for e in ex])), torch.from_numpy(np.stack([e[1] for e in ex]))


def validation_set(path: str, items: str, cfg: Config, n: int):
    if os.path.exists(path):
        d = np.load(path)
        return d["x"], d["y"]
    stream = make_sampler(items, cfg).stream(np.random.default_rng(12345))
    ex = [next(stream) for _ in range(n)]
    x, y = np.stack([e[0] for e in ex]), np.stack([e[1] for e in ex])
    np.savez_compressed(path, x=x, y=y)
    return x, y


@torch.no_grad()
def evaluate(model, x, y, batch=256):
    model.eval()
    p = np.concatenate([torch.sigmoid(model(torch.from_numpy(x[i:i + batch]))["clip_logits"]).numpy()
                        for i in range(0, len(x), batch)])
    model.train()
    on = p >= 0.5
    res = {}
    for k, c in enumerate(HIT_CLASSES):
        tp = int((on[:, k] & (y[:, k] > 0)).sum())
        fp = int((on[:, k] & (y[:, k] == 0)).sum())
        fn = int((~on[:, k] & (y[:, k] > 0)).sum())
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        res[c] = {"P": prec, "R": rec, "F": 2 * prec * rec / (prec + rec) if prec + rec else 0.0, "n": int(y[:, k].sum())}
    nohit = y.sum(axis=1) == 0
    res["nohit_fire_rate"] = float(on[nohit].any(axis=1).mean()) if nohit.any() else 0.0
    res["main_F"] = float(np.mean([res[c]["F"] for c in ("Bass drum", "Snare drum", "Hi-hat")]))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/hits.json")
    ap.add_argument("--train-items", required=True)
    ap.add_argument("--val-items", required=True)
    ap.add_argument("--val-n", type=int, default=3000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pool", type=int, default=0, help="train on a pool of this many windows made once (0: fresh)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--augment", action="store_true", help="kit randomisation per window (hit_augment.py)")
    ap.add_argument("--max-semitones", type=float, default=2.0, help="retuning range of half the windows")
    ap.add_argument("--synth-p", type=float, default=0.0,
                    help="share of crops that are a synthesised kit's groove (data_pipeline/synth_drums.py)")
    ap.add_argument("--synth-acoustic-p", type=float, default=0.0,
                    help="share of a synthesised kit's voices modelled as acoustic drums (hits-v6: 0.5)")
    ap.add_argument("--detector", choices=["energy", "banded"], default="energy",
                    help="the onset detector whose other onsets are the no-hit examples")
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = Config.load(a.config)
    if [l.name for l in cfg.labels] != HIT_CLASSES:
        raise SystemExit(f"{a.config}: labels must be {HIT_CLASSES}")
    os.makedirs(a.out, exist_ok=True)
    log = open(os.path.join(a.out, "train.log"), "a")

    def say(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    model = AudioMamba(cfg, scan_impl="fused")
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd, fused=True)
    step, best, warm_from = 0, -1.0, 0
    last = os.path.join(a.out, "last.pt")
    if a.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        step, best = ck["step"], ck["best"]
        say(f"resumed at step {step} (best main F {best:.4f})")
        if not restore(ck, model, opt):
            warm_from = step
            say(f"no optimizer state: fresh AdamW moments, learning rate re-warmed over {a.warmup} steps")
    xv, yv = validation_set(os.path.join(a.out, "val.npz"), a.val_items, cfg, a.val_n)
    say(f"{cfg.name}: {count_parameters(model):,} parameters; {len(xv)} validation windows; args {vars(a)}")
    loader = torch.utils.data.DataLoader(_Windows(a.train_items, cfg, a.batch, a.seed + 7919 * step, a.pool, a.max_semitones, a.synth_p,
                                                  a.synth_acoustic_p, a.detector), batch_size=None,
                                         num_workers=a.workers, persistent_workers=a.workers > 0)
    batches = iter(loader)
    gen = torch.Generator().manual_seed(a.seed + 7919 * step)
    onset = int(round(cfg.onset_pre_seconds * cfg.sample_rate))
    t0 = time.time()
    while step < a.steps:
        lr = a.lr * min(1.0, (step - warm_from + 1) / a.warmup) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = next(batches)
        if a.augment:
            x, y = augment(x, y, cfg.sample_rate, onset, gen)
        x = x * (10 ** (torch.empty(len(x), 1).uniform_(-6, 6) / 20))  # gain augmentation
        loss = F.binary_cross_entropy_with_logits(model(x)["clip_logits"], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 20 == 0:
            say(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {(time.time() - t0) / 60:.1f} min")
        if step % a.eval_every == 0 or step == a.steps:
            r = evaluate(model, xv, yv)
            say(f"step {step} val " + " ".join(f"{c} F {r[c]['F']:.3f}" for c in HIT_CLASSES)
                + f" | no-hit fires {r['nohit_fire_rate']:.3f} | main F {r['main_F']:.4f}")
            if r["main_F"] > best:
                best = r["main_F"]
                torch.save({"model": model.state_dict(), "step": step, "val": r, "config": cfg.to_dict()},
                           os.path.join(a.out, "best.pt"))
                json.dump(r, open(os.path.join(a.out, "best_val.json"), "w"), indent=1)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                        "config": cfg.to_dict()}, last + ".tmp")
            os.replace(last + ".tmp", last)
    say(f"done: step {step}, best main F {best:.4f}")


if __name__ == "__main__":
    main()
