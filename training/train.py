"""Train an Audio Mamba tagger from scratch (single process, or `torchrun` DDP).

Recipe (Audio Mamba / DASS / AST where it applies): class-balanced sampling, waveform mixup
(Beta(10,10), rate --mixup), SpecAugment (time + frequency masks on the log-mel image),
AdamW + warmup/cosine, BCE on clip logits, plus a frame-level BCE on the token-semantic
framewise logits where strong labels (onset/offset events) exist.

Data: our manifests (`data/manifest_{split}.jsonl`: path, labels [MIDs], events) or an
AudioSet-style CSV (`path,labels` with MIDs separated by ';'; paths relative to the CSV or --root).
Audio is read per batch with soundfile (random crop of --crop-len = model window).

    python train.py --config configs/plugin29.json --train ../data/manifest_train.jsonl \
        --val ../data/manifest_validation.jsonl --root ../data --out runs/plugin29 --max-minutes 45
    torchrun --nproc_per_node 2 train.py --backend gloo ...      # DDP (gloo on CPU, nccl on GPU)
    python train.py ... --resume                                  # continue from OUT/last.pt
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import time
from typing import Dict, List, Optional

import numpy as np
import soundfile as sf
import torch
import torch.distributed as dist
import torch.nn.functional as F

from audiomamba.config import Config
from audiomamba.metrics import tagging_metrics
from audiomamba.model import AudioMamba, count_parameters


# ----------------------------------------------------------------------------- data


def load_items(path: str, root: Optional[str]) -> List[Dict]:
    base = root if root is not None else os.path.dirname(os.path.abspath(path))
    items = []
    if path.endswith(".jsonl"):
        with open(path) as f:
            for line in f:
                if line.strip():
                    d = json.loads(line)
                    items.append({"path": os.path.join(base, d["path"]), "labels": d.get("labels", []),
                                  "events": d.get("events")})
    else:  # AudioSet-style CSV: path,labels (MIDs separated by ';')
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                mids = [m.strip() for m in r["labels"].replace(",", ";").split(";") if m.strip()]
                items.append({"path": os.path.join(base, r["path"]), "labels": mids, "events": None})
    return items


def read_crop(path: str, sr: int, n: int, start: Optional[int]) -> (np.ndarray, int, int):
    """Returns (audio [n] float32, start sample, total samples). start=None: random crop."""
    info = sf.info(path)
    if info.samplerate != sr:
        raise ValueError(f"{path}: {info.samplerate} Hz, model needs {sr} Hz (resample the data first)")
    total = info.frames
    if start is None:
        start = random.randint(0, max(0, total - n))
    x, _ = sf.read(path, start=start, frames=n, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    return x, start, total


class Targets:
    def __init__(self, config: Config):
        self.mid_index = {l.mid: i for i, l in enumerate(config.labels)}
        self.M = config.num_classes
        self.steps = config.frame_steps

    def clip(self, item) -> np.ndarray:
        y = np.zeros(self.M, np.float32)
        for m in item["labels"]:
            if m in self.mid_index:
                y[self.mid_index[m]] = 1.0
        return y

    def frames(self, item, start_s: float, dur_s: float):
        """Frame targets [T, M] and a mask [M] (1 where the class's strong labels are known)."""
        T = self.steps
        y = np.zeros((T, self.M), np.float32)
        mask = np.zeros(self.M, np.float32)
        if not item.get("events") or T is None:
            return y, mask
        step = dur_s / T
        for ev in item["events"]:
            k = self.mid_index.get(ev["mid"])
            if k is None:
                continue
            mask[k] = 1.0
            a = (ev["onset_s"] - start_s) / step
            b = (ev["offset_s"] - start_s) / step
            lo, hi = max(0, int(math.floor(a))), min(T, int(math.ceil(b)))
            if hi > lo:
                y[lo:hi, k] = 1.0
        # classes with events known: the clip's labels without events are weak only
        return y, mask


def balanced_weights(items, targets: Targets) -> np.ndarray:
    Y = np.stack([targets.clip(it) for it in items])
    freq = Y.sum(0) + 1.0
    w = (Y / freq).sum(1)
    w[w == 0] = w[w > 0].min() if (w > 0).any() else 1.0
    return w / w.sum()


# ----------------------------------------------------------------------------- model pieces


def spec_augment(img: torch.Tensor, freq_ratio: int, n_mels: int, time_w: int, freq_w: int, n: int = 2):
    """Masks on the stacked HTS-AT image [B, rows, cols] (rows = freq_ratio windows of n_mels)."""
    B, R, C = img.shape
    out = img.clone()
    for b in range(B):
        for _ in range(n):
            w = random.randint(0, freq_w)
            f0 = random.randint(0, max(0, n_mels - w))
            for r in range(freq_ratio):  # same mel bins in every stacked window
                out[b, r * n_mels + f0 : r * n_mels + f0 + w, :] = 0.0
            w = random.randint(0, time_w)
            r = random.randrange(freq_ratio)
            t0 = random.randint(0, max(0, C - w))
            out[b, r * n_mels : (r + 1) * n_mels, t0 : t0 + w] = 0.0
    return out


def window_starts(total: int, n: int) -> List[int]:
    """Windows of the model length, the last one ending at the file end (as amtag tags files)."""
    if total <= n:
        return [0]
    starts = list(range(0, total - n, n))
    starts.append(total - n)
    return starts


@torch.no_grad()
def predict_file(model: AudioMamba, path: str, batch: int = 16) -> np.ndarray:
    cfg = model.config
    n = cfg.clip_samples
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    starts = window_starts(len(x), n)
    wins = []
    for s in starts:
        w = x[s : s + n]
        if len(w) < n:
            w = np.pad(w, (0, n - len(w)))
        wins.append(w)
    probs = []
    for i in range(0, len(wins), batch):
        out = model(torch.from_numpy(np.stack(wins[i : i + batch])))
        probs.append(torch.sigmoid(out["clip_logits"]))
    return torch.cat(probs).max(dim=0).values.numpy()


def evaluate_items(model, items, targets: Targets):
    model.eval()
    P = np.stack([predict_file(model, it["path"]) for it in items])
    Y = np.stack([targets.clip(it) for it in items])
    model.train()
    return tagging_metrics(Y, P), P, Y


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--train", required=True, help="manifest .jsonl or AudioSet-style .csv")
    ap.add_argument("--val", default=None)
    ap.add_argument("--val-limit", type=int, default=400, help="validation clips per evaluation")
    ap.add_argument("--root", default=None, help="base directory of the audio paths")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=32, help="per process")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20000, help="schedule length (cosine)")
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall time (0: none)")
    ap.add_argument("--mixup", type=float, default=0.5, help="fraction of batches mixed")
    ap.add_argument("--frame-weight", type=float, default=0.5)
    ap.add_argument("--no-balance", action="store_true")
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--backend", default=None, help="torch.distributed backend (gloo/nccl)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world = 0, 1
    if distributed:
        backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    random.seed(args.seed + rank)
    np.random.seed(args.seed + rank)
    torch.manual_seed(args.seed)  # same init on every rank

    cfg = Config.load(args.config)
    model = AudioMamba(cfg).to(dev)
    targets = Targets(cfg)
    items = load_items(args.train, args.root)
    val_items = load_items(args.val, args.root)[: args.val_limit] if args.val else []
    probs = None if args.no_balance else balanced_weights(items, targets)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train.log"), "a") if rank == 0 else None

    def say(msg):
        if rank == 0:
            line = f"{time.strftime('%H:%M:%S')} {msg}"
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd, betas=(0.9, 0.999))
    step, best, elapsed0 = 0, -1.0, 0.0
    last = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best, elapsed0 = ck["step"], ck["best"], ck.get("elapsed", 0.0)
        say(f"resumed from {last} at step {step} (best val mAP {best:.4f})")
        # A resumed run must not replay the batches (and mixup draws) of its first steps.
        random.seed(args.seed + rank + 7919 * step)
        np.random.seed(args.seed + rank + 7919 * step)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    if rank == 0:
        cfg.save(os.path.join(args.out, "config.json"))
    say(f"{cfg.name}: {count_parameters(model):,} parameters, {len(items)} train clips, world {world}, "
        f"batch {args.batch}/process, args {vars(args)}")

    n = cfg.clip_samples
    sr = cfg.sample_rate
    dur = n / sr
    fe = cfg.frontend
    t_start = time.time()

    def save(path):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "elapsed": elapsed0 + time.time() - t_start, "config": cfg.to_dict()}, path + ".tmp")
        os.replace(path + ".tmp", path)

    model.train()
    while step < args.steps:
        if args.max_minutes and (elapsed0 + time.time() - t_start) / 60 > args.max_minutes:
            say("time budget reached")
            break
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = (np.random.choice(len(items), args.batch, p=probs) if probs is not None
               else np.random.randint(0, len(items), args.batch))
        wav, yc, yf, fm = [], [], [], []
        for i in idx:
            it = items[i]
            x, s, _ = read_crop(it["path"], sr, n, None)
            x = x * (10 ** (random.uniform(-6, 6) / 20))  # gain augmentation
            wav.append(x)
            fy, mk = targets.frames(it, s / sr, dur)
            # clip target of a crop: strong classes absent from the crop are negative
            c = targets.clip(it)
            c = np.where(mk > 0, fy.max(axis=0), c)
            yc.append(c)
            yf.append(fy)
            fm.append(mk)
        wav = torch.from_numpy(np.stack(wav)).to(dev)
        yc = torch.from_numpy(np.stack(yc)).to(dev)
        yf = torch.from_numpy(np.stack(yf)).to(dev)
        fm = torch.from_numpy(np.stack(fm)).to(dev)
        if random.random() < args.mixup:
            lam = float(np.random.beta(10, 10))
            perm = torch.randperm(wav.shape[0], device=dev)
            wav = lam * wav + (1 - lam) * wav[perm]
            yc = lam * yc + (1 - lam) * yc[perm]
            yf = lam * yf + (1 - lam) * yf[perm]
            fm = fm * fm[perm]  # frame loss only where both clips are strongly labelled
        img = model.features(wav)
        if fe.kind == "htsat":
            img = spec_augment(img, cfg.freq_ratio, fe.n_mels, time_w=img.shape[2] // 8, freq_w=fe.n_mels // 8)
        clip, frame = (ddp.module if distributed else ddp).forward_image(img) if not distributed else _ddp_image(ddp, img)
        loss = F.binary_cross_entropy_with_logits(clip, yc)
        if frame is not None and args.frame_weight > 0 and fm.sum() > 0:
            fl = F.binary_cross_entropy_with_logits(frame, yf, reduction="none")  # [B, T, M]
            fl = (fl * fm[:, None, :]).sum() / (fm.sum() * frame.shape[1])
            loss = loss + args.frame_weight * fl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 10 == 0:
            say(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {(time.time() - t_start) / 60:.1f} min")
        if rank == 0 and step % args.ckpt_every == 0:
            save(last)
        if rank == 0 and val_items and step % args.eval_every == 0:
            m, _, _ = evaluate_items(model, val_items, targets)
            say(f"step {step} val mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f}")
            if m.mAP > best:
                best = m.mAP
                torch.save({"model": model.state_dict(), "step": step, "val_mAP": best, "config": cfg.to_dict()},
                           os.path.join(args.out, "best.pt"))
        if distributed:
            dist.barrier()
    if rank == 0:
        if val_items:
            m, _, _ = evaluate_items(model, val_items, targets)
            say(f"final step {step} val mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f}")
            if m.mAP > best:
                best = m.mAP
                torch.save({"model": model.state_dict(), "step": step, "val_mAP": best, "config": cfg.to_dict()},
                           os.path.join(args.out, "best.pt"))
        else:
            torch.save({"model": model.state_dict(), "step": step, "config": cfg.to_dict()},
                       os.path.join(args.out, "best.pt"))
        save(last)
        say(f"done: step {step}, best val mAP {best:.4f}, {(elapsed0 + time.time() - t_start) / 60:.1f} min total")
    if distributed:
        dist.destroy_process_group()


class _ImageWrap(torch.nn.Module):
    pass


def _ddp_image(ddp, img):
    # DDP hooks only the module's forward; run forward_image through it by temporarily swapping.
    mod = ddp.module
    orig = mod.forward
    mod.forward = mod.forward_image
    try:
        return ddp(img)
    finally:
        mod.forward = orig


if __name__ == "__main__":
    main()
