"""Training data: clip manifests, crops of fixed clips or fresh online mixtures, targets, and the
YAMNet teacher's blend, one crop at a time or from data-loader worker processes.

`CropSource` makes the examples of one process (or one worker): (waveform, clip target, frame
targets, frame mask). `crop_stream` wraps sources in a torch DataLoader whose workers each build
their own source (the teacher's ONNX session and the mixer's file handles are not shared).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
from typing import Dict, List, Optional

import numpy as np
import soundfile as sf
import torch

from .config import Config


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


def read_crop(path: str, sr: int, n: int, start: Optional[int], rnd: random.Random = random) -> (np.ndarray, int, int):
    """Returns (audio [n] float32, start sample, total samples). start=None: random crop."""
    info = sf.info(path)
    if info.samplerate != sr:
        raise ValueError(f"{path}: {info.samplerate} Hz, model needs {sr} Hz (resample the data first)")
    total = info.frames
    if start is None:
        start = rnd.randint(0, max(0, total - n))
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


class TeacherBlend:
    """YAMNet's probabilities on a crop, blended into its clip target per class (weights chosen on
    validation by teacher_weights.py; 0.5 for every class YAMNet knows when none are given)."""

    def __init__(self, folder: str, config: Config, weights_json: Optional[str] = None):
        from .teacher import Yamnet

        self.yam = Yamnet.from_folder(folder)
        self.keep, self.cols = self.yam.columns([l.mid for l in config.labels])
        w = np.zeros(config.num_classes, np.float32)
        if weights_json:
            ws = json.load(open(weights_json))["weights"]
            w[:] = [ws.get(l.name, 0.0) for l in config.labels]
        else:
            w[self.keep] = 0.5
        self.w = w[self.keep]
        self.sr = config.sample_rate

    def apply(self, x: np.ndarray, clip_target: np.ndarray) -> None:
        t = 1.0 / (1.0 + np.exp(-self.yam.clip(x, self.sr)[self.cols]))
        clip_target[self.keep] = self.w * t + (1.0 - self.w) * clip_target[self.keep]


class CropSource:
    """Examples for one process or data-loader worker.

    mixer: an OnlineMixer (a fresh mixture per crop) or None (random crops of `items`, drawn
    with `probs`). The teacher, when given, hears exactly the crop the student gets (after the
    gain augmentation) on a `teacher_share` of the crops.
    """

    def __init__(self, config: Config, seed: int, mixer=None, items=(), probs=None,
                 teacher: Optional[TeacherBlend] = None, teacher_share: float = 1.0):
        self.cfg, self.targets = config, Targets(config)
        self.mixer, self.items, self.probs = mixer, list(items), probs
        self.teacher, self.teacher_share = teacher, teacher_share
        self.rnd = random.Random(seed)
        self.rng = np.random.default_rng(seed)
        if mixer is None and not self.items:
            raise ValueError("a crop source needs a mixer or clips")

    def example(self):
        n, sr = self.cfg.clip_samples, self.cfg.sample_rate
        if self.mixer is not None:
            x, it = self.mixer.sample(self.rng)
            s = 0
        else:
            i = (self.rng.choice(len(self.items), p=self.probs) if self.probs is not None
                 else int(self.rng.integers(len(self.items))))
            it = self.items[i]
            x, s, _ = read_crop(it["path"], sr, n, None, self.rnd)
        x = (x * (10 ** (self.rnd.uniform(-6, 6) / 20))).astype(np.float32)  # gain augmentation
        fy, mk = self.targets.frames(it, s / sr, n / sr)
        # clip target of a crop: strong classes absent from the crop are negative
        c = self.targets.clip(it)
        c = np.where(mk > 0, fy.max(axis=0), c).astype(np.float32)
        if self.teacher is not None and self.rnd.random() < self.teacher_share:
            self.teacher.apply(x, c)
        return x, c, fy, mk

    def batch(self, size: int) -> Dict[str, torch.Tensor]:
        ex = [self.example() for _ in range(size)]
        return {k: torch.from_numpy(np.stack([e[i] for e in ex])) for i, k in enumerate(("wav", "clip", "frame", "mask"))}


class _Stream(torch.utils.data.IterableDataset):
    def __init__(self, make_source, batch: int):
        super().__init__()
        self.make_source, self.batch = make_source, batch

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        src = self.make_source(info.id if info is not None else 0)
        while True:
            yield src.batch(self.batch)


def crop_stream(make_source, batch: int, workers: int):
    """Endless batches: `make_source(worker_id)` builds each worker's CropSource."""
    if workers <= 0:
        src = make_source(0)
        while True:
            yield src.batch(batch)
    loader = torch.utils.data.DataLoader(_Stream(make_source, batch), batch_size=None, num_workers=workers,
                                         prefetch_factor=4, persistent_workers=True)
    yield from loader
