#!/usr/bin/env python3
"""Training throughput of one model and global batch under several setups, measured in one run.

Each variant is a real `train.py` run from scratch on the training manifest (no validation), run
in turn with the others (A B C A B C ...) so that drift of a shared machine hits them alike.
`train.py` reports steps per hour from its 10th step to its last (imports, kernel loads and the
page cache are warm by then). The table gives the median of the rounds and each variant's ratio
to the first one.

    python bench_train.py --config configs/plugin29.json --steps 40 --rounds 2 --json runs/bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (processes, threads per process, scan)
VARIANTS = {
    "chunked-1x2": (1, 2, "chunked"),
    "fused-1x2": (1, 2, "fused"),
    "chunked-ddp2x1": (2, 1, "chunked"),
    "fused-ddp2x1": (2, 1, "fused"),
}
THROUGHPUT = re.compile(r"throughput (\d+) steps/h \((\d+) crops/h\)")


def run_variant(name, args, out_dir):
    procs, threads, scan = VARIANTS[name]
    if args.batch % procs:
        raise SystemExit(f"global batch {args.batch} is not divisible by {procs} processes")
    common = ["train.py", "--config", args.config, "--train", args.train, "--root", args.root,
              "--out", out_dir, "--batch", str(args.batch // procs), "--steps", str(args.steps),
              "--warmup", "10", "--threads", str(threads), "--scan", scan, "--ckpt-every", "1000000"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if procs == 1:
        cmd = [sys.executable, *common]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               str(procs), *common, "--backend", "gloo"]
    t0 = time.time()
    res = subprocess.run(cmd, cwd=HERE, env=env, capture_output=True, text=True)
    wall = time.time() - t0
    m = THROUGHPUT.search(res.stdout)
    if res.returncode != 0 or m is None:
        sys.stderr.write(res.stdout[-3000:] + res.stderr[-3000:])
        raise SystemExit(f"{name}: train.py failed (rc {res.returncode})")
    return {"steps_per_h": int(m.group(1)), "crops_per_h": int(m.group(2)), "wall_s": round(wall, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/plugin29.json")
    ap.add_argument("--train", default="../data/manifest_train.jsonl")
    ap.add_argument("--root", default="../data")
    ap.add_argument("--batch", type=int, default=16, help="global batch (split over the processes)")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {list(VARIANTS)}")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    names = [v for v in args.variants.split(",") if v]
    for v in names:
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v}")
    runs = {v: [] for v in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for v in names:
                res = run_variant(v, args, os.path.join(tmp, f"{v}-{r}"))
                runs[v].append(res)
                print(f"round {r + 1} {v}: {res['steps_per_h']} steps/h ({res['wall_s']} s wall)", flush=True)
    base = statistics.median(x["steps_per_h"] for x in runs[names[0]])
    print(f"\n| setup | steps/h (median of {args.rounds}) | crops/h | vs {names[0]} |")
    print("| --- | --- | --- | --- |")
    summary = {}
    for v in names:
        sph = statistics.median(x["steps_per_h"] for x in runs[v])
        cph = statistics.median(x["crops_per_h"] for x in runs[v])
        summary[v] = {"steps_per_h": sph, "crops_per_h": cph, "ratio": sph / base, "runs": runs[v]}
        print(f"| {v} | {sph:.0f} | {cph:.0f} | {sph / base:.2f}x |")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"config": args.config, "batch": args.batch, "steps": args.steps,
                       "date": time.strftime("%Y-%m-%d %H:%M"), "variants": summary}, f, indent=1)


if __name__ == "__main__":
    main()
