"""Fresh mixtures for every training crop, drawn from the pre-mix items of one split.

The fixed clips of `build.py` (8,000 train mixtures) are seen dozens of times in a long run;
here every crop is a new mixture of the split's items (`items_{split}.jsonl`), made with the same
placement, levelling and augmentation as the fixed clips (`mix.make_clip`), at the model's window
length. Items are read lazily (only the placed part of a long recording), so a crop costs a few
milliseconds and the trainer mixes in its own process.

Each crop draws one of these kinds, in fixed shares (`Shares`):
  single    one labelled item alone (a voice, one instrument, one kit), no background
  nonmusic  1-4 items without Music (speech, footsteps, claps, game and room sounds)
  hardneg   percussive non-drum sounds against the drum triggers: speech, background one-shots
            (doors, knocks, keys, steps), claps, with no drum label
  mixture   the class-balanced anchor plus 0-3 others (background, speech, other classes)
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import soundfile as sf

from .config import SR
from .labels import expand, mid
from .mix import anchor_item, choose_items, make_clip

DRUM_CLASSES = ("Drum kit", "Drum machine", "Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Drum",
                "Rimshot", "Cowbell", "Tambourine")


@dataclass(frozen=True)
class Shares:
    single: float = 0.15
    nonmusic: float = 0.15
    hardneg: float = 0.10

    def validate(self):
        if min(self.single, self.nonmusic, self.hardneg) < 0 or self.single + self.nonmusic + self.hardneg > 1:
            raise ValueError(f"mixture shares must be >= 0 and sum to at most 1: {self}")


class LazyWav:
    """A WAV item as a sequence: len() in samples, and slices read from disk on demand.

    `mix.place_item` only needs the length and the slice it places, so long recordings are
    never decoded whole."""

    def __init__(self, path: str):
        info = sf.info(path)
        if info.samplerate != SR:
            raise ValueError(f"{path}: {info.samplerate} Hz, items are {SR} Hz")
        self.path, self.n = path, info.frames

    def __len__(self):
        return self.n

    def __getitem__(self, sl: slice) -> np.ndarray:
        start, stop, step = sl.indices(self.n)
        if step != 1:
            raise ValueError("LazyWav supports contiguous slices only")
        if stop <= start:
            return np.zeros(0, np.float32)
        x, _ = sf.read(self.path, start=start, frames=stop - start, dtype="float32", always_2d=True)
        return x.mean(axis=1)


def load_items(path: str, root: Optional[str] = None) -> List[Dict]:
    """Items of one split; a path that does not exist as written is looked up under `root`
    (default: the folder of the items file), so a copied dataset keeps working."""
    root = root if root is not None else os.path.dirname(os.path.abspath(path))
    items = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            it = json.loads(line)
            p = it["path"]
            if not os.path.exists(p) and "/items/" in p:
                it["path"] = os.path.join(root, "items", p.split("/items/", 1)[1])
            items.append(it)
    if not items:
        raise ValueError(f"{path}: no items")
    return items


class OnlineMixer:
    def __init__(self, items: List[Dict], crop_s: float, shares: Shares = Shares()):
        shares.validate()
        self.crop_s, self.shares = crop_s, shares
        self.items = items
        music = mid("Music")
        drums = {mid(c) for c in DRUM_CLASSES}
        self.by_class: Dict[str, Dict[str, List[Dict]]] = {}
        for it in items:
            for m in it["labels"]:
                self.by_class.setdefault(m, {}).setdefault(it["group"], []).append(it)
        if not self.by_class:
            raise ValueError("no labelled items to anchor mixtures on")
        self.bg = [it for it in items if not it["labels"] and not it.get("weak")]
        self.speech = [it for it in items if mid("Speech") in it["labels"]]
        self.nonmusic = [it for it in items if music not in expand(list(it["labels"]) + list(it.get("weak", [])))]
        self.hardneg = [it for it in self.nonmusic
                        if not drums & set(expand(list(it["labels"]) + list(it.get("weak", []))))
                        and (it["kind"] in ("oneshot", "speech", "background") or not it["labels"])]
        self._wavs: Dict[str, LazyWav] = {}

    def _load(self, path: str) -> LazyWav:
        w = self._wavs.get(path)
        if w is None:
            w = self._wavs[path] = LazyWav(path)
        return w

    def choose(self, rng: np.random.Generator) -> Tuple[str, List[Dict]]:
        u = rng.random()
        sh = self.shares
        if u < sh.single:
            return "single", [anchor_item(self.by_class, rng)]
        if u < sh.single + sh.nonmusic and self.nonmusic:
            return "nonmusic", choose_items(self.by_class, self.items, rng, self.bg, self.nonmusic, 1.0, self.speech)
        if u < sh.single + sh.nonmusic + sh.hardneg and self.hardneg:
            k = int(rng.integers(1, 4))
            chosen = {}
            for _ in range(k):
                it = self.hardneg[int(rng.integers(len(self.hardneg)))]
                chosen[it["id"]] = it
            return "hardneg", list(chosen.values())
        return "mixture", choose_items(self.by_class, self.items, rng, self.bg, (), 0.0, self.speech)

    def sample(self, rng: np.random.Generator, onsets: bool = False) -> Tuple[np.ndarray, Dict]:
        """One crop: audio [crop samples] float32 and its record (labels, events in crop time,
        weak, sources, groups, kind; with `onsets`, every placed event's onset)."""
        for _ in range(8):  # a draw of only near-silent items is redrawn
            kind, chosen = self.choose(rng)
            audio, rec = make_clip(chosen, rng, self.crop_s, loader=self._load, onsets=onsets)
            if np.abs(audio).max() > 1e-4:
                rec["kind"] = kind
                return audio, rec
        rec["kind"] = kind
        return audio, rec
