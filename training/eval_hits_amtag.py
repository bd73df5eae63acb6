#!/usr/bin/env python3
"""The shipped drum-to-MIDI path scored on a split's 10 s clips, through `amtag` (issue 17).

`amtag hits --no-veto` gives every classified hit (the Rust onset detector, the hit model);
`amtag tag --framewise` gives the tagger's frames; the veto (a hit counts only where some drum
tag, Drum kit or Drum machine reaches LEVEL in the tagger's frame: the plugin's and amtag's rule)
is applied here for several levels, so one pair of amtag runs scores them all. Per drum class:
precision, recall, F (20 ms, one-to-one, eval_hits.match) on the clips whose ground truth has
drum events, and drum hits per 10 s on the clips without any drum label (speech, melodic
instruments, effects). Choose the level on validation; report on test.

    python eval_hits_amtag.py --manifest ../data/manifest_validation.jsonl --root ../data \
        --amtag ../target/release/amtag --json runs/hits/veto_validation.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

from data_pipeline.hits import HIT_CLASSES
from data_pipeline.labels import mid
from eval_hits import match

DRUM_CLASSES = ("Bass drum", "Snare drum", "Hi-hat")
# What the tagger's frames must show for drums (engine/src/hits.rs `says_drums`).
DRUMISH = {mid(c) for c in HIT_CLASSES} | {mid("Drum kit"), mid("Drum machine")}


def run_json_lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def amtag_hits_and_frames(amtag, files, hit_args, hit_model=None, tagger=None):
    """Every classified hit of each file (`amtag hits --no-veto`, with hit_args) and the tagger's
    frames as (start, end, highest drum-ish probability), both by absolute file path."""
    hit_cmd = [amtag, "hits", "--json", "--no-veto", *hit_args, *files]
    if hit_model:
        hit_cmd += ["--model", hit_model]
    hits = {os.path.abspath(d["file"]): d for d in run_json_lines(hit_cmd)}
    with tempfile.TemporaryDirectory() as tmp:
        fw = os.path.join(tmp, "frames.json")
        tag_cmd = [amtag, "tag", "--framewise", fw, "--threads", "1", *files]
        if tagger:
            tag_cmd += ["--model", tagger]
        subprocess.run(tag_cmd, check=True, capture_output=True)
        frames_doc = json.load(open(fw))
    frames = {}
    for d in frames_doc:
        cols = [i for i, name in enumerate(d["labels"]) if mid(name) in DRUMISH]
        frames[os.path.abspath(d["file"])] = [
            (f["start_s"], f["end_s"], max((f["probabilities"][i] for i in cols), default=0.0)) for f in d["frames"]
        ]
    return hits, frames


def frame_drum_p(frames, t):
    """The tagger's drum-ish probability in the frame holding time t (the veto's input)."""
    return max((p for s, e, p in frames if s <= t < e), default=0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--amtag", required=True)
    ap.add_argument("--tagger", help="tagger weights (default: amtag's embedded one)")
    ap.add_argument("--hit-model", help="hit model weights (default: amtag's embedded one)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--sensitivity", default="0.5", help="onset detector sensitivity (amtag hits)")
    ap.add_argument("--threshold", default="0.5", help="hit class probability that counts (amtag hits)")
    ap.add_argument("--levels", default="0,0.05,0.1,0.15,0.2,0.3,0.4")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = [json.loads(l) for l in open(a.manifest)][: a.limit or None]
    files = [os.path.join(a.root, r["path"]) for r in rows]
    hits, frames = amtag_hits_and_frames(a.amtag, files, ["--sensitivity", a.sensitivity, "--threshold", a.threshold],
                                         a.hit_model, a.tagger)

    def drum_p(file, t):
        return frame_drum_p(frames[file], t)

    report = {"manifest": a.manifest, "clips": len(rows), "sensitivity": float(a.sensitivity),
              "threshold": float(a.threshold), "levels": {}}
    for level in [float(x) for x in a.levels.split(",")]:
        counts = {c: [0, 0, 0] for c in DRUM_CLASSES}
        quiet_hits, quiet_secs, quiet_clips = 0, 0.0, 0
        for r, f in zip(rows, files):
            f = os.path.abspath(f)
            kept = [h for h in hits[f]["hits"] if level <= 0 or drum_p(f, h["time_s"]) >= level]
            has_drums = any(m in DRUMISH for m in r["labels"])
            if not has_drums:
                quiet_clips += 1
                quiet_secs += hits[f]["duration_s"]
                quiet_hits += len(kept)
                continue
            for c in DRUM_CLASSES:
                truth = [e["onset_s"] for e in r["events"] if e["mid"] == mid(c) and e["offset_s"] - e["onset_s"] < 1.0]
                if not truth:
                    continue
                pred = [h["time_s"] for h in kept if any(k["label"] == c for k in h["classes"])]
                counts[c][0] += match(pred, truth)
                counts[c][1] += len(pred)
                counts[c][2] += len(truth)
        per = {}
        for c, (tp, np_, nt) in counts.items():
            p, rr = tp / max(np_, 1), tp / max(nt, 1)
            per[c] = {"precision": p, "recall": rr, "f": 2 * p * rr / max(p + rr, 1e-9), "true": nt}
        per10 = 10 * quiet_hits / max(quiet_secs, 1e-9)
        report["levels"][str(level)] = {"classes": per, "drumless_clips": quiet_clips,
                                        "drum_hits_per_10s_without_drums": per10}
        line = "  ".join(f"{c} F {v['f']:.3f} (P {v['precision']:.2f} R {v['recall']:.2f})" for c, v in per.items())
        print(f"veto {level:.2f}: {line}  | {per10:.2f} hits/10 s on {quiet_clips} drumless clips")
    if a.json:
        json.dump(report, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
