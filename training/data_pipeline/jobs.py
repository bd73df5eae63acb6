"""Render jobs per split: soundfont families, GM / AVL / Hydrogen drum patterns, music21 scores,
LMMS single-note sampler phrases. Each job writes items (WAV + event list)."""
from __future__ import annotations

import hashlib
import os
import pickle
import re

import numpy as np

from . import render as R
from .audio import active_extent, write_wav
from .config import AVL_FONTS, SOUNDFONTS, SR
from .labels import mid

MELODIC_CLASSES = list(R.MELODIC)


def _slug(s):
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_")[:60]


class ItemWriter:
    def __init__(self, out_dir, split):
        self.dir = os.path.join(out_dir, "items", split)
        self.split = split
        self.items = []

    def add(self, x, events, group, package, sources, name, extra_labels=(), weak=(), kind="render", extra=None):
        if len(x) == 0 or np.abs(x).max() < 1e-4:
            return None  # silent render (missing preset): skip
        peak = np.abs(x).max()
        x = x / peak * 0.9
        # drop events that start after the audible end (e.g. release tails cut)
        a, b = active_extent(x, SR, -50.0, hop=320)
        h = hashlib.sha1(f"{name}|{len(self.items)}".encode()).hexdigest()[:8]
        iid = f"{self.split}:{_slug(group)}:{_slug(name)}:{h}"
        d = os.path.join(self.dir, _slug(group))
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"{_slug(name)}_{h}.wav")
        write_wav(path, x, SR)
        labels = sorted({e["mid"] for e in events} | set(extra_labels))
        it = {"id": iid, "split": self.split, "group": group, "package": package, "kind": kind,
              "path": path, "dur": len(x) / SR, "extent": [a, b], "events": events, "labels": labels,
              "weak": sorted(set(weak)), "sources": sources}
        if extra:
            it.update(extra)
        self.items.append(it)
        return it


def _extent_event(cls, events, pad=0.3, dur=None):
    if not events:
        return []
    a = min(e["onset_s"] for e in events)
    b = max(e["offset_s"] for e in events) + pad
    if dur is not None:
        b = min(b, dur)
    return [{"mid": mid(cls), "onset_s": round(a, 5), "offset_s": round(b, 5)}]


# ------------------------------------------------------------------ music21 scores
def load_scores(cache_dir, n=80, log=print):
    """[(name, [part notes [(on_ql, dur_ql, midi)]])] from the music21 corpus (Bach chorales etc.)."""
    p = os.path.join(cache_dir, f"scores_{n}.pkl")
    if os.path.exists(p):
        return pickle.load(open(p, "rb"))
    from music21 import corpus
    paths = sorted(str(x) for x in corpus.getComposer("bach"))
    paths = [x for x in paths if x.endswith((".mxl", ".xml", ".krn"))]
    paths = sorted(paths, key=lambda s: hashlib.md5(s.encode()).hexdigest())[: int(n * 1.3)]
    out = []
    for path in paths:
        if len(out) >= n:
            break
        try:
            s = corpus.parse(path)
            parts = []
            for part in s.parts:
                notes = []
                for el in part.flatten().notes:
                    for pch in getattr(el, "pitches", []):
                        notes.append((float(el.offset), float(el.quarterLength), int(pch.midi)))
                if notes:
                    parts.append(notes)
            if parts:
                out.append((os.path.basename(path), parts))
        except Exception:
            continue
    pickle.dump(out, open(p, "wb"))
    log(f"scores: parsed {len(out)} music21 scores")
    return out


def score_notes(rng, score, classes, dur_s):
    """Pick a window of a score; returns (notes [(on,off,chan,key,vel)], cls_of_chan)."""
    name, parts = score
    bpm = rng.uniform(60, 130)
    qs = 60.0 / bpm
    total_ql = max(n[0] + n[1] for p in parts for n in p)
    start_ql = float(rng.uniform(0, max(0.0, total_ql - dur_s / qs)))
    notes, cls_of = [], {}
    for ci, part in enumerate(parts[:8]):
        ch = ci if ci < 9 else ci + 1
        cls = classes[ci % len(classes)]
        cls_of[ch] = cls
        lo, hi = R.MELODIC[cls][1]
        med = np.median([n[2] for n in part])
        shift = 12 * int(round(((lo + hi) / 2 - med) / 12))
        vel = int(rng.integers(60, 110))
        for on, d, k in part:
            t0 = (on - start_ql) * qs
            if t0 < 0 or t0 >= dur_s:
                continue
            notes.append((t0, min(t0 + d * qs * 0.95, dur_s), ch, int(np.clip(k + shift, 0, 127)), vel))
    return notes, cls_of


# ------------------------------------------------------------------ soundfont families
def render_family(w: ItemWriter, family: str, rng, n_phr, n_scores, n_drums, scores, clip_s, log=print):
    """family: 'sf:fluid' | 'sf:timgm' | 'sf:freepats' | 'sf:opl3'."""
    dur = clip_s
    if family == "sf:freepats":
        mel_ok, _ = R.freepats_programs()
        if not mel_ok:
            log("freepats not installed: skipped")
            return
        fonts = [None]
        has = lambda f, bank, prog: prog in mel_ok if bank == 0 else True
        drum_presets = {None: [(0, "Standard")]}
        renderer = lambda f, progs, notes: R.timidity_render(progs, notes, dur)
    else:
        fonts = [f for f, g in SOUNDFONTS.items() if g == family and os.path.exists(f)]
        if not fonts:
            log(f"{family}: no soundfont installed")
            return
        fl = R.Fluid(fonts)
        has = fl.has
        drum_presets = {f: [(p, fl.preset_name(f, 128, p)) for p in range(128) if fl.has(f, 128, p)] for f in fonts}
        renderer = lambda f, progs, notes: fl.render(f, progs, notes, dur)
    pkg = {"sf:fluid": "fluid-soundfont-gm", "sf:timgm": "timgm6mb-soundfont", "sf:freepats": "freepats",
           "sf:opl3": "opl3-soundfont"}[family]
    fname = lambda f: os.path.basename(f) if f else "freepats"
    if family == "sf:opl3":
        # FM synthesis: every program is "Synthesizer" (documented: OPL3 only as Synthesizer)
        for i in range(n_phr * 3):
            f = fonts[i % len(fonts)]
            prog = int(rng.integers(0, 128))
            notes = [(a, b, 0, k, v) for a, b, k, v in R.gen_phrase(rng, "Synthesizer", dur)]
            x, q = renderer(f, {0: (0, prog)}, notes)
            ev = R.notes_to_events(q, {0: "Synthesizer"}, dur_s=dur)
            w.add(x, ev, family, pkg, [f"render:{fname(f)}:prog{prog}"], f"opl3_p{prog}")
        return
    n_ok = 0
    for cls in MELODIC_CLASSES:
        for i in range(n_phr):
            f = fonts[i % len(fonts)]
            progs = [p for p in R.MELODIC[cls][0] if has(f, 0, p)]
            if not progs:
                continue
            prog = int(rng.choice(progs))
            notes = [(a, b, 0, k, v) for a, b, k, v in R.gen_phrase(rng, cls, dur)]
            x, q = renderer(f, {0: (0, prog)}, notes)
            ev = R.notes_to_events(q, {0: cls}, dur_s=dur)
            if w.add(x, ev, family, pkg, [f"render:{fname(f)}:prog{prog}:phrase"], f"{cls}_p{prog}"):
                n_ok += 1
    for i in range(n_scores):
        if not scores:
            break
        f = fonts[i % len(fonts)]
        sc = scores[int(rng.integers(len(scores)))]
        ens = list(rng.choice(MELODIC_CLASSES, size=4, replace=True))
        notes, cls_of = score_notes(rng, sc, ens, dur)
        progs = {}
        for ch, cls in cls_of.items():
            cand = [p for p in R.MELODIC[cls][0] if has(f, 0, p)]
            if not cand:
                notes = [n for n in notes if n[2] != ch]
                continue
            progs[ch] = (0, int(rng.choice(cand)))
        if not notes:
            continue
        x, q = renderer(f, progs, notes)
        ev = R.notes_to_events(q, cls_of, dur_s=dur)
        w.add(x, ev, family, pkg, [f"render:{fname(f)}:score", f"music21:{sc[0]}"], f"score_{sc[0]}")
    for i in range(n_drums):
        f = fonts[i % len(fonts)]
        presets = drum_presets[f]
        if not presets:
            break
        preset, pname = presets[int(rng.integers(len(presets)))]
        sparse = rng.random() < 0.3
        hits = R.gen_drum_pattern(rng, list(R.DRUM_KEYS), dur, sparse)
        notes = [(t, t + 0.05, 9, int(rng.choice(R.DRUM_KEYS[c])), int(30 + 97 * v)) for t, c, v in hits]
        x, q = renderer(f, {9: (128, preset)}, notes)
        ev = R.notes_to_events(q, {}, dur_s=dur)
        extra = []
        if not sparse:
            ev += _extent_event("Drum kit", ev, dur=dur)
            if re.search(r"808|electr|tr-|techno|dance", pname, re.I):
                ev += _extent_event("Drum machine", ev, dur=dur)
        w.add(x, ev, family, pkg, [f"render:{fname(f)}:drums{preset}"], f"drums_{_slug(pname)}")
    log(f"  {family}: {n_ok} phrases ok, items so far {len(w.items)}")


def render_avl(w: ItemWriter, rng, n, clip_s, group="author:glen_macarthur"):
    fonts = [f for f in AVL_FONTS if os.path.exists(f)]
    if not fonts:
        return
    fl = R.Fluid(fonts)
    for i in range(n):
        f = fonts[i % len(fonts)]
        sparse = rng.random() < 0.3
        hits = R.gen_drum_pattern(rng, list(R.DRUM_KEYS), clip_s, sparse)
        notes = [(t, t + 0.05, 0, int(rng.choice(R.DRUM_KEYS[c])), int(30 + 97 * v)) for t, c, v in hits]
        x, q = fl.render(f, {0: (0, 0)}, notes, clip_s)
        ev = R.notes_to_events(q, {}, drum_keys={0}, dur_s=clip_s)
        if not sparse:
            ev += _extent_event("Drum kit", ev, dur=clip_s)
        w.add(x, ev, group, "avldrums.lv2-soundfont", [f"render:{os.path.basename(f)}"],
              f"avl_{os.path.basename(f)[:12]}")


def render_hydrogen_kit(w: ItemWriter, kit, rng, n, clip_s, cache: R.SampleCache, dup_ids=frozenset()):
    by_cls = {}
    for ins in kit["instruments"]:
        if ins["cls"]:
            layers = [l for l in ins["layers"] if l[0] not in dup_ids]
            if layers:
                by_cls.setdefault(ins["cls"], []).append(layers)
    if not by_cls:
        return
    full_kit = {"Bass drum", "Snare drum", "Hi-hat"} <= set(by_cls)
    for i in range(n):
        sparse = (not full_kit) or rng.random() < 0.3
        hits = R.gen_drum_pattern(rng, sorted(by_cls), clip_s, sparse)
        buf = np.zeros(int(clip_s * SR), np.float32)
        ev = []
        for t, c, v in hits:
            layers = by_cls[c][int(rng.integers(len(by_cls[c])))]
            fit = [l for l in layers if l[1] <= v <= l[2]] or layers
            path = fit[int(rng.integers(len(fit)))][0]
            s = int(round(t * SR))
            R.place(buf, cache.get(path), s, v)
            ev.append({"mid": mid(c), "onset_s": round(s / SR, 5), "offset_s": round(s / SR + R.DRUM_HIT_S, 5)})
        if not sparse:
            ev += _extent_event("Drum kit", ev, dur=clip_s)
            if kit["machine"]:
                ev += _extent_event("Drum machine", ev, dur=clip_s)
        elif kit["machine"]:
            ev += _extent_event("Drum machine", ev, dur=clip_s)
        w.add(buf, ev, kit["group"], kit["package"], [f"kit:{kit['name']}"], f"kit_{kit['name']}")


def render_sampler(w: ItemWriter, row, audio, rng, n, clip_s):
    """LMMS-style single-note instrument sample -> monophonic phrases by repitching."""
    cls_mids = row["mids"]
    for i in range(n):
        bpm = rng.uniform(70, 140)
        beat = 60 / bpm
        t, buf, ev = float(rng.uniform(0, 0.5)), np.zeros(int(clip_s * SR), np.float32), []
        while t < clip_s - 0.3:
            d = beat * float(rng.choice([0.5, 1, 1, 2]))
            semi = int(rng.integers(-7, 8))
            y = R.pitch_shift(audio, semi)[: int(d * SR)].copy()
            fade = min(len(y), int(0.01 * SR))
            if fade:
                y[-fade:] *= np.linspace(1, 0, fade)
            s = int(round(t * SR))
            R.place(buf, y, s, float(rng.uniform(0.5, 1.0)))
            a, b = active_extent(y, SR, -40, hop=320)
            if b > a:
                for m in cls_mids:
                    ev.append({"mid": m, "onset_s": round(s / SR + a, 5), "offset_s": round(min(clip_s, s / SR + b), 5)})
            t += d
        w.add(buf, ev, row["group"], row["package"], [row["id"]], "sampler_" + os.path.basename(row["path"]))
