"""Multi-label mixtures inside one split, with augmentation against shortcuts.

Per source: random gain, random band-limiting (every class, not only speech: low-pass by
resampling through 8/11.025/16/22.05 kHz or a Butterworth low-pass, plus an optional high-pass).
Per clip: optional synthetic-room reverb (exponentially decaying noise IR with early
reflections, RT60 0.15-1.2 s), optional low noise, random loudness (-38..-14 dBFS RMS) with a
-1 dBFS peak ceiling. Labels = every class with an event (or weak mark) inside the clip.
"""
from __future__ import annotations

import os

import numpy as np
import soundfile as sf
from scipy.signal import butter, fftconvolve, sosfilt

from .audio import resample, write_wav
from .config import SR
from .labels import ancestors_in_set, expand, label_mids, mid


def mid_music():
    return mid("Music")


def mid_speech():
    return mid("Speech")

BANDLIMIT_RATES = [8000, 11025, 16000, 22050]


def band_limit(x, rng, p=0.5):
    if rng.random() < p:
        if rng.random() < 0.6:
            r = int(rng.choice(BANDLIMIT_RATES))
            x = resample(resample(x, SR, r), r, SR)[: len(x)]
        else:
            fc = float(rng.uniform(2500, 12000))
            x = sosfilt(butter(6, fc, "low", fs=SR, output="sos"), x).astype(np.float32)
    if rng.random() < 0.25:
        fc = float(rng.uniform(60, 400))
        x = sosfilt(butter(2, fc, "high", fs=SR, output="sos"), x).astype(np.float32)
    return x


def synth_ir(rng):
    rt60 = float(rng.uniform(0.15, 1.2))
    n = int(min(rt60 * 1.2, 1.5) * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n).astype(np.float32) * np.exp(-6.9 * t / rt60).astype(np.float32)
    ir = sosfilt(butter(2, float(rng.uniform(3000, 12000)), "low", fs=SR, output="sos"), ir).astype(np.float32)
    ir[: int(0.003 * SR)] = 0
    for _ in range(int(rng.integers(3, 9))):  # early reflections
        k = int(rng.uniform(0.003, 0.05) * SR)
        ir[k] += float(rng.uniform(-0.6, 0.6))
    ir[0] = 1.0
    return ir / np.sqrt(np.sum(ir ** 2))


def reverb(x, rng):
    ir = synth_ir(rng)
    wet = fftconvolve(x, ir)[: len(x)].astype(np.float32)
    mix = float(rng.uniform(0.15, 0.7))
    return (1 - mix) * x + mix * wet * (np.sqrt(np.mean(x ** 2)) / (np.sqrt(np.mean(wet ** 2)) + 1e-9))


def read_item(path):
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(1)
    return resample(x, sr, SR) if sr != SR else x


def place_item(item, x, rng, n):
    """Place one item into an n-sample clip. Returns (buffer, events, weak) in clip time."""
    buf = np.zeros(n, np.float32)
    clip_s = n / SR
    dur = len(x) / SR
    evs, placements = [], []
    if item["kind"] in ("oneshot", "note") and dur < clip_s / 2:
        walking = item.get("walk", False)
        reps = int(rng.integers(4, 12)) if walking else int(rng.integers(1, 7))
        period = float(rng.uniform(0.35, 0.7))
        t0 = float(rng.uniform(0, clip_s - dur))
        for r in range(reps):
            t = t0 + r * period if walking else float(rng.uniform(0, clip_s - dur))
            if t + 0.02 >= clip_s:
                break
            placements.append((int(t * SR), 0))
    elif len(x) > n:
        placements.append((0, int(rng.integers(0, len(x) - n + 1))))
    else:
        placements.append((int(rng.integers(0, n - len(x) + 1)), 0))
    for start, crop in placements:
        seg = x[crop: crop + n - start]
        buf[start:start + len(seg)] += seg * (float(rng.uniform(0.6, 1.0)) if len(placements) > 1 else 1.0)
        off_s, crop_s = start / SR, crop / SR
        seg_end = off_s + len(seg) / SR
        for e in item["events"]:
            a = e["onset_s"] - crop_s + off_s
            b = e["offset_s"] - crop_s + off_s
            a, b = max(a, off_s), min(b, seg_end, clip_s)
            if b - a > 0.02 and a < clip_s:
                evs.append({"mid": e["mid"], "onset_s": round(a, 4), "offset_s": round(b, 4)})
    weak = list(item.get("weak", [])) if evs or (item["events"] == [] and placements) else []
    return buf, evs, weak


def merge_events(evs, gap=0.0):
    out = []
    by = {}
    for e in evs:
        by.setdefault(e["mid"], []).append((e["onset_s"], e["offset_s"]))
    order = {m: i for i, m in enumerate(label_mids())}
    for m in sorted(by, key=lambda m: order.get(m, 999)):
        iv = sorted(by[m])
        cur = list(iv[0])
        for a, b in iv[1:]:
            if a <= cur[1] + gap:
                cur[1] = max(cur[1], b)
            else:
                out.append({"mid": m, "onset_s": round(cur[0], 4), "offset_s": round(cur[1], 4)})
                cur = [a, b]
        out.append({"mid": m, "onset_s": round(cur[0], 4), "offset_s": round(cur[1], 4)})
    return out


def with_ancestors(evs):
    """Copy each event to the in-set ontology ancestors of its class, then merge overlaps."""
    out = list(evs)
    for e in evs:
        for a in ancestors_in_set(e["mid"]):
            out.append({"mid": a, "onset_s": e["onset_s"], "offset_s": e["offset_s"]})
    return merge_events(out)


def make_clip(items, rng, clip_s, p_bandlimit=0.5, p_reverb=0.4, p_noise=0.3, loader=read_item, onsets=False):
    """items: list of item dicts (same split). Returns (audio, record-without-path).

    onsets: also return rec["onsets"], every placed event's (mid, onset_s) before events of one
    class are merged (the hit classifier needs each drum hit, merged events keep only runs)."""
    n = int(round(clip_s * SR))
    mixbuf = np.zeros(n, np.float32)
    all_ev, weak, srcs, groups = [], set(), [], []
    ref = None
    for k, it in enumerate(items):
        x = loader(it["path"])
        buf, evs, wk = place_item(it, x, rng, n)
        r = np.sqrt(np.mean(buf ** 2)) + 1e-9
        if r < 1e-5:
            continue
        buf = band_limit(buf, rng, p_bandlimit)
        g = 10 ** (float(rng.uniform(-10, 0)) / 20) if k else 1.0
        # level each source to a common RMS before the random gain (one-shots: by active part)
        act = buf[np.abs(buf) > 1e-4]
        lev = np.sqrt(np.mean(act ** 2)) if len(act) else r
        mixbuf += buf * (g * 0.1 / lev)
        all_ev += evs
        weak.update(wk)
        srcs += it["sources"]
        groups.append(it["group"])
    if rng.random() < p_reverb:
        mixbuf = reverb(mixbuf, rng)
    if rng.random() < p_bandlimit * 0.3:  # whole-clip channel (e.g. phone-like)
        mixbuf = band_limit(mixbuf, rng, 1.0)
    target = float(rng.uniform(-38, -14))
    rms = np.sqrt(np.mean(mixbuf ** 2)) + 1e-9
    mixbuf *= 10 ** (target / 20) / rms
    if rng.random() < p_noise:
        noise = rng.standard_normal(n).astype(np.float32)
        if rng.random() < 0.5:  # pink-ish
            noise = sosfilt(butter(1, 500, "low", fs=SR, output="sos"), noise).astype(np.float32)
        noise *= 10 ** (float(rng.uniform(-75, -50)) / 20) / (np.sqrt(np.mean(noise ** 2)) + 1e-9)
        mixbuf += noise
    peak = np.abs(mixbuf).max()
    if peak > 0.89:
        mixbuf *= 0.89 / peak
    events = with_ancestors(all_ev)
    strong = {e["mid"] for e in events}
    weak_exp = set(expand(weak)) - strong
    labels = expand(strong | weak_exp)
    rec = {"labels": labels, "events": events, "sources": sorted(set(srcs)), "groups": sorted(set(groups))}
    if onsets:
        rec["onsets"] = sorted((e["mid"], e["onset_s"]) for e in all_ev)
    if weak_exp:
        rec["weak"] = expand(weak_exp)
        rec["weak"] = [m for m in rec["weak"] if m not in strong]
    return mixbuf, rec


def anchor_item(by_class, rng):
    """Class-balanced draw: uniform class, then uniform leakage group, then item."""
    classes = sorted(by_class)
    c = classes[int(rng.integers(len(classes)))]
    gs = sorted(by_class[c])
    pool = by_class[c][gs[int(rng.integers(len(gs)))]]
    return pool[int(rng.integers(len(pool)))]


def choose_items(by_class, items, rng, bg_items, nonmusic_items=(), p_nonmusic=0.2, speech_items=()):
    """Anchor: uniform class, then uniform group, then item; plus 0-3 others (25 % unlabelled
    background, 15 % speech, else class-balanced). With p_nonmusic the whole clip is drawn from
    items without Music (speech, footsteps, background...), so 'Music' is not nearly always on."""
    k = int(rng.choice([1, 2, 2, 3, 3, 4])) - 1
    if nonmusic_items and rng.random() < p_nonmusic:
        chosen = [nonmusic_items[int(rng.integers(len(nonmusic_items)))] for _ in range(k + 1)]
    else:
        chosen = [anchor_item(by_class, rng)]
        for _ in range(k):
            u = rng.random()
            if bg_items and u < 0.25:
                chosen.append(bg_items[int(rng.integers(len(bg_items)))])
            elif speech_items and u < 0.40:
                chosen.append(speech_items[int(rng.integers(len(speech_items)))])
            else:
                chosen.append(anchor_item(by_class, rng))
    uniq = {it["id"]: it for it in chosen}
    return list(uniq.values())


def build_split(items, split, n_clips, out_dir, clip_s, seed, log=print):
    rng = np.random.default_rng(seed * 1000 + ["train", "validation", "test"].index(split))
    by_class = {}
    bg = [it for it in items if not it["labels"] and not it.get("weak")]
    music = mid_music()
    nonmusic = [it for it in items if music not in expand(list(it["labels"]) + list(it.get("weak", [])))]
    speech = [it for it in items if mid_speech() in it["labels"]]
    for it in items:
        for m in it["labels"]:
            by_class.setdefault(m, {}).setdefault(it["group"], []).append(it)
    d = os.path.join(out_dir, "clips", split)
    os.makedirs(d, exist_ok=True)
    man = os.path.join(out_dir, f"manifest_{split}.jsonl")
    import json
    n_done = 0
    with open(man, "w") as f:
        for i in range(n_clips):
            chosen = choose_items(by_class, items, rng, bg, nonmusic, 0.2, speech)
            audio, rec = make_clip(chosen, rng, clip_s)
            rel = os.path.join("clips", split, f"{split}_{i:06d}.wav")
            write_wav(os.path.join(out_dir, rel), audio, SR)
            f.write(json.dumps({"path": rel, "split": split, **rec}) + "\n")
            n_done += 1
            if (i + 1) % 1000 == 0:
                log(f"  {split}: {i + 1}/{n_clips} clips")
    return man
