"""The label set: AudioSet names and MIDs, with ontology ancestors inside the set."""
from __future__ import annotations

import csv
import json
from functools import lru_cache

from .config import ASSETS

# Fixed order: this is the label index used by the training code.
LABEL_NAMES = [
    "Speech", "Music", "Drum kit", "Drum machine", "Bass drum", "Snare drum", "Hi-hat", "Cymbal",
    "Drum", "Rimshot", "Clapping", "Cowbell", "Tambourine", "Piano", "Electric piano", "Organ",
    "Synthesizer", "Acoustic guitar", "Electric guitar", "Bass guitar", "Violin, fiddle", "Cello",
    "String section", "Brass instrument", "Trumpet", "Saxophone", "Flute", "Choir", "Walk, footsteps",
]


@lru_cache(None)
def audioset_table() -> dict[str, tuple[int, str]]:
    """display_name -> (527-class index, mid)"""
    out = {}
    with open(ASSETS / "class_labels_indices.csv", newline="") as f:
        for row in csv.DictReader(f):
            out[row["display_name"]] = (int(row["index"]), row["mid"])
    return out


@lru_cache(None)
def name_to_mid() -> dict[str, str]:
    t = audioset_table()
    return {n: t[n][1] for n in LABEL_NAMES}


@lru_cache(None)
def mid_to_name() -> dict[str, str]:
    return {m: n for n, m in name_to_mid().items()}


def mid(name: str) -> str:
    return name_to_mid()[name]


def label_mids() -> list[str]:
    return [mid(n) for n in LABEL_NAMES]


@lru_cache(None)
def _parents() -> dict[str, list[str]]:
    onto = json.load(open(ASSETS / "ontology.json"))
    par: dict[str, list[str]] = {}
    for node in onto:
        for c in node["child_ids"]:
            par.setdefault(c, []).append(node["id"])
    return par


@lru_cache(None)
def ancestors_in_set(m: str) -> tuple[str, ...]:
    """Ontology ancestors of MID m that are in our label set (excluding m)."""
    par = _parents()
    keep = set(label_mids())
    seen, stack, out = set(), list(par.get(m, [])), []
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        if p in keep:
            out.append(p)
        stack.extend(par.get(p, []))
    return tuple(sorted(out))


def expand(mids) -> list[str]:
    """Add in-set ancestors (Piano -> Music, Hi-hat -> Cymbal, ...); keep label order."""
    s = set(mids)
    for m in list(s):
        s.update(ancestors_in_set(m))
    order = {m: i for i, m in enumerate(label_mids())}
    return sorted(s, key=lambda x: order.get(x, 10**6))


def write_labels_csv(path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "mid", "display_name"])
        for i, n in enumerate(LABEL_NAMES):
            w.writerow([i, mid(n), n])
