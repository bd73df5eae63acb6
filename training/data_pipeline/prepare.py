"""Decode every scanned source once: duration, fingerprint, and a 32 kHz mono item WAV."""
from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np

from .audio import active_extent, load, write_wav
from .config import SR
from .dedup import fingerprint

MUSIC_MAX_S = 60.0   # long game tracks: keep one 60 s window
SPEECH_MAX_S = 20.0


_RCC = {}


def _read(src):
    if src.member and src.path.endswith(".rcc"):
        from .rcc import read_rcc
        if src.path not in _RCC:
            _RCC.clear()
            _RCC[src.path] = read_rcc(src.path)
        return load(_RCC[src.path][src.member], SR)
    if src.member:
        with zipfile.ZipFile(src.path) as z:
            return load(z.read(src.member), SR)
    return load(src.path, SR)


def prepare_sources(rows, out_dir, log=print):
    """Returns {source_id: {'fp':..., 'item': wav path or None, 'extent': (a,b), 'dur': s}}.
    Cached in out_dir/cache/prepared.pkl (keyed by source id)."""
    cache_p = os.path.join(out_dir, "cache", "prepared.pkl")
    os.makedirs(os.path.dirname(cache_p), exist_ok=True)
    cache = pickle.load(open(cache_p, "rb")) if os.path.exists(cache_p) else {}
    item_dir = os.path.join(out_dir, "items", "real")
    os.makedirs(item_dir, exist_ok=True)
    n_new = 0
    for k, r in enumerate(rows):
        if r.id in cache and (cache[r.id]["item"] is None or os.path.exists(cache[r.id]["item"])):
            continue
        try:
            x = _read(r)
        except Exception as e:  # unreadable file: record and skip
            cache[r.id] = {"fp": None, "item": None, "extent": (0, 0), "dur": 0.0, "error": str(e)[:200]}
            continue
        if r.kind == "music" and len(x) > MUSIC_MAX_S * SR:
            s = int(min(0.2 * len(x), len(x) - MUSIC_MAX_S * SR))
            x = x[s: s + int(MUSIC_MAX_S * SR)]
        if r.kind == "speech" and len(x) > SPEECH_MAX_S * SR:
            x = x[: int(SPEECH_MAX_S * SR)]
        a, b = active_extent(x, SR, -40.0, hop=320)
        fp = fingerprint(x, SR) if len(x) > 0 else None
        item = None
        if r.kind != "kit" and b - a > 0.02:
            # trim silence (keep 10 ms margins) and peak-normalise
            s0, s1 = max(0, int((a - 0.01) * SR)), min(len(x), int((b + 0.01) * SR))
            y = x[s0:s1]
            y = y / (np.abs(y).max() + 1e-9) * 0.9
            item = os.path.join(item_dir, r.id.replace(":", "__") + ".wav")
            write_wav(item, y, SR)
            a, b = a - s0 / SR, b - s0 / SR
        cache[r.id] = {"fp": fp, "item": item, "extent": (float(a), float(b)), "dur": len(x) / SR}
        n_new += 1
        if n_new % 500 == 0:
            log(f"  prepared {k + 1}/{len(rows)}")
            pickle.dump(cache, open(cache_p, "wb"))
    pickle.dump(cache, open(cache_p, "wb"))
    log(f"prepare: {n_new} newly decoded, {len(rows)} total")
    return cache
