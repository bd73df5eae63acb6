#!/usr/bin/env python3
"""One training stint on the device machine (or, for the test, on this CPU): decode the pack's
audio, resume train.py from the committed checkpoint for the time given, and write the new
checkpoint (compact, in parts of at most 15 MiB) and the log to OUT.

    PYTHONUNBUFFERED=1 python3 training/gpu/stint.py --pack training/gpu/pack --minutes 8.5 --out $OUT

Everything it needs is in the working tree and the pack; it reaches no network. Setup time
(wheels, decoding) counts against --minutes, so the stint ends on time.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from multiprocessing import Pool

T0 = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)
sys.path.insert(0, TRAINING)
PART_BYTES = 15 * 2**20


def _decode(job):
    src, dst = job
    import numpy as np
    import soundfile as sf
    from scipy.signal import resample_poly

    from data_pipeline.audio import write_wav
    from data_pipeline.config import SR

    x, sr = sf.read(src, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = resample_poly(x, SR // 1000, sr // 1000).astype(np.float32)
    write_wav(dst, x, SR)


def decode_pack(pack: str, work: str, procs: int) -> str:
    items = [json.loads(l) for l in open(os.path.join(pack, "items.jsonl")) if l.strip()]
    os.makedirs(os.path.join(work, "items"), exist_ok=True)
    jobs = []
    for it in items:
        dst = os.path.join(work, "items", os.path.basename(it["path"]).replace(".opus", ".wav"))
        jobs.append((os.path.join(pack, it["path"]), dst))
        it["path"] = dst
    with Pool(procs) as p:
        p.map(_decode, jobs, chunksize=8)
    path = os.path.join(work, "items.jsonl")
    with open(path, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    return path


def write_parts(path: str, out: str) -> list:
    data = open(path, "rb").read()
    names = []
    for i in range(0, len(data), PART_BYTES):
        name = f"ckpt.part{i // PART_BYTES:02d}"
        open(os.path.join(out, name), "wb").write(data[i:i + PART_BYTES])
        names.append(name)
    return names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=8.5, help="the whole stint, setup included")
    ap.add_argument("--work", default="/tmp/stint")
    ap.add_argument("--workers", type=int, default=0, help="data workers (0: CPUs - 2)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (the CPU test)")
    a = ap.parse_args(argv)
    # train.py runs in training/: every path handed to it must not depend on this cwd
    a.pack, a.out, a.work = (os.path.abspath(p) for p in (a.pack, a.out, a.work))
    os.makedirs(a.out, exist_ok=True)
    meta = json.load(open(os.path.join(a.pack, "pack.json")))
    ncpu = os.cpu_count() or 2
    items = decode_pack(a.pack, a.work, max(1, ncpu))
    t_decode = time.time() - T0
    teacher_args = []
    whl = os.path.join(a.pack, "wheels-teacher.whl")
    if os.path.exists(whl):
        from audiomamba.teacher import unpack
        unpack(whl, os.path.join(a.work, "teacher"))
        teacher_args = ["--teacher", os.path.join(a.work, "teacher")]
        tw = os.path.join(a.pack, "teacher_weights.json")
        if os.path.exists(tw):
            teacher_args += ["--teacher-weights", tw]
    run = os.path.join(a.work, "run")
    os.makedirs(run, exist_ok=True)
    import shutil
    shutil.copyfile(os.path.join(TRAINING, meta["checkpoint"]), os.path.join(run, "last.pt"))
    import torch
    ck = torch.load(os.path.join(run, "last.pt"), map_location="cpu", weights_only=False)
    step0 = ck["step"]
    left = a.minutes - (time.time() - T0) / 60 - 0.6  # leave time to save and split the checkpoint
    if left <= 0.5:
        raise SystemExit(f"setup took {(time.time() - T0) / 60:.1f} min: no time left to train")
    cmd = [sys.executable, os.path.join(TRAINING, "train.py"), "--config", os.path.join(TRAINING, meta["config"]),
           "--train-items", items, "--out", run, "--resume", "--workers", str(a.workers or max(1, ncpu - 2)),
           "--stop-after-minutes", f"{left:.2f}", "--ckpt-every", "200", *teacher_args,
           *shlex.split(meta.get("train_args", ""))]
    if a.max_steps:
        cmd += ["--steps", str(step0 + a.max_steps)]
    print("stint:", " ".join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=TRAINING).returncode
    from audiomamba.checkpoint import save_compact
    ck = torch.load(os.path.join(run, "last.pt"), map_location="cpu", weights_only=False)
    save_compact(ck, os.path.join(a.work, "compact.pt"))
    parts = write_parts(os.path.join(a.work, "compact.pt"), a.out)
    shutil.copyfile(os.path.join(run, "train.log"), os.path.join(a.out, "stint.log"))
    info = {"rc": rc, "step_from": step0, "step_to": ck["step"], "crops": ck.get("crops"), "parts": parts,
            "decode_s": round(t_decode, 1), "wall_s": round(time.time() - T0, 1),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu", "pack": meta}
    json.dump(info, open(os.path.join(a.out, "stint.json"), "w"), indent=1)
    print(json.dumps(info), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
