"""Cheap audio fingerprints and cross-package de-duplication.

Fingerprint: mono 8 kHz, leading/trailing silence trimmed, log energy in 16 log-spaced bands
(100-3800 Hz) pooled to 32 time slices over the trimmed length, z-normalised (512 values),
plus the trimmed duration and an exact hash of the 8 kHz 16-bit PCM. Two recordings whose
trimmed durations agree within 3 % and whose fingerprints correlate above a threshold are
the same recording (catches resampled / re-encoded / gain-changed copies).
"""
from __future__ import annotations

import hashlib

import numpy as np

from .audio import active_extent, resample

FP_BANDS, FP_SLICES = 16, 32


def fingerprint(x: np.ndarray, sr: int) -> dict:
    x8 = resample(x, sr, 8000)
    a, b = active_extent(x8, 8000, -40.0, hop=80)
    seg = x8[int(a * 8000): int(b * 8000)]
    dur = len(seg) / 8000
    pcm = np.clip(np.round(seg * 32767), -32768, 32767).astype(np.int16)
    h = hashlib.sha1(pcm.tobytes()).hexdigest()
    if len(seg) < 512:
        seg = np.pad(seg, (0, 512 - len(seg)))
    n_fft, hop = 256, 64
    nfr = 1 + (len(seg) - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(nfr)[:, None]
    spec = np.abs(np.fft.rfft(seg[idx] * np.hanning(n_fft), axis=1)) ** 2  # (T, 129)
    freqs = np.fft.rfftfreq(n_fft, 1 / 8000)
    edges = np.geomspace(100, 3800, FP_BANDS + 1)
    bands = np.stack([spec[:, (freqs >= lo) & (freqs < hi)].sum(1) for lo, hi in zip(edges[:-1], edges[1:])], 1)
    t_edges = np.linspace(0, nfr, FP_SLICES + 1).astype(int)
    pooled = np.stack([bands[t_edges[i]:max(t_edges[i + 1], t_edges[i] + 1)].mean(0) for i in range(FP_SLICES)])
    v = np.log10(pooled + 1e-10).ravel()
    v = (v - v.mean()) / (v.std() + 1e-9)
    return {"dur": dur, "sha1": h, "vec": v.astype(np.float32)}


def find_duplicates(fps: list, groups: list, thresh: float = 0.97, dur_tol: float = 0.03):
    """fps: list of fingerprint dicts (or None); groups: leakage group of each.
    Returns list of (i_kept, j_dup) pairs. Exact PCM duplicates are always reported;
    near duplicates only across different groups (velocity layers inside one kit are
    distinct recordings that look alike)."""
    pairs = []
    by_hash = {}
    for i, f in enumerate(fps):
        if f is None or f["dur"] <= 0.02:
            continue
        if f["sha1"] in by_hash:
            pairs.append((by_hash[f["sha1"]], i))
        else:
            by_hash[f["sha1"]] = i
    exact_dups = {j for _, j in pairs}
    idx = [i for i, f in enumerate(fps) if f is not None and f["dur"] > 0.02 and i not in exact_dups]
    idx.sort(key=lambda i: fps[i]["dur"])
    durs = np.array([fps[i]["dur"] for i in idx])
    vecs = np.stack([fps[i]["vec"] for i in idx]) if idx else np.zeros((0, FP_BANDS * FP_SLICES))
    vecs = vecs / np.sqrt((vecs ** 2).sum(1, keepdims=True) + 1e-9)
    dup = set()
    for a in range(len(idx)):
        if idx[a] in dup:
            continue
        hi = np.searchsorted(durs, durs[a] * (1 + dur_tol) + 0.01, side="right")
        if hi <= a + 1:
            continue
        sims = vecs[a + 1:hi] @ vecs[a]
        for k in np.nonzero(sims > thresh)[0]:
            j = idx[a + 1 + k]
            if j in dup or groups[j] == groups[idx[a]]:
                continue
            dup.add(j)
            pairs.append((idx[a], j))
    return pairs


class UnionFind:
    def __init__(self):
        self.p = {}

    def find(self, x):
        self.p.setdefault(x, x)
        while self.p[x] != x:
            self.p[x] = self.p[self.p[x]]
            x = self.p[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # deterministic representative: lexicographically smaller name
            if rb < ra:
                ra, rb = rb, ra
            self.p[rb] = ra
