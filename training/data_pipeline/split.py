"""Deterministic, seeded train/validation/test assignment of whole leakage groups."""
from __future__ import annotations

import hashlib
import random

# soundfont families are pinned: the big Fluid family trains, TimGM is the held-out test
# family, freepats (GUS patches, rendered by timidity) is the held-out validation family.
PINNED = {"sf:fluid": "train", "sf:timgm": "test", "sf:freepats": "validation", "sf:opl3": "train"}


def assign_splits(group_classes: dict, group_size: dict | None = None, seed: int = 1234,
                  pinned: dict | None = None, fractions=(0.7, 0.1, 0.2)) -> dict:
    """group_classes: {group: set(class mids)}; returns {group: split}.

    Per class (rarest first): with n groups, keep >=1 group in train; n==2: 1 in test;
    n>=3: 2 in test and (n>=5) 1 in validation. The largest free group goes to train, test/val
    picks are seeded-random. Groups left over are drawn train/val/test by `fractions`.
    Every group lands in exactly one split."""
    pinned = dict(PINNED if pinned is None else pinned)
    size = group_size or {}
    groups = sorted(group_classes)
    assign = {g: s for g, s in pinned.items() if g in group_classes}
    rng = random.Random(seed)
    classes = sorted({c for cs in group_classes.values() for c in cs})
    cg = {c: sorted(g for g in groups if c in group_classes[g]) for c in classes}
    for c in sorted(classes, key=lambda c: (len(cg[c]), c)):
        gs = cg[c]
        n = len(gs)
        want = {"train": 1, "test": 0 if n < 2 else (1 if n == 2 else 2), "validation": 1 if n >= 5 else 0}
        for split in ("train", "test", "validation"):
            have = sum(assign.get(g) == split for g in gs)
            free = [g for g in gs if g not in assign]
            rng.shuffle(free)
            if split == "train":
                free.sort(key=lambda g: -size.get(g, 0))
            while have < want[split] and free:
                assign[free.pop(0)] = split
                have += 1
    for g in groups:
        if g not in assign:
            h = int(hashlib.sha1(f"{seed}:{g}".encode()).hexdigest()[:8], 16) / 2 ** 32
            assign[g] = "train" if h < fractions[0] else ("validation" if h < fractions[0] + fractions[1] else "test")
    return assign
