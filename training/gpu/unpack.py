#!/usr/bin/env python3
"""Bring a GPU stint's result back into a CPU run: join the checkpoint parts into RUN/last.pt
(the previous one kept as last-before-stint.pt) and append the stint's log to RUN/train.log.

    python gpu/unpack.py --from /work/.device/.../files --run runs/plugin29-m
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil

import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--from", dest="src", required=True, help="the folder the stint's OUT came back to")
    ap.add_argument("--run", required=True)
    a = ap.parse_args(argv)
    info = json.load(open(os.path.join(a.src, "stint.json")))
    parts = [os.path.join(a.src, p) for p in info["parts"]]
    if sorted(parts) != sorted(glob.glob(os.path.join(a.src, "ckpt.part*"))):
        raise SystemExit("checkpoint parts missing or extra: the transfer is incomplete")
    os.makedirs(a.run, exist_ok=True)
    tmp = os.path.join(a.run, "last.pt.tmp")
    with open(tmp, "wb") as f:
        for p in parts:
            f.write(open(p, "rb").read())
    ck = torch.load(tmp, map_location="cpu", weights_only=False)  # a torn file fails here
    if ck["step"] != info["step_to"]:
        raise SystemExit(f"checkpoint step {ck['step']} != stint's {info['step_to']}")
    last = os.path.join(a.run, "last.pt")
    if os.path.exists(last):
        shutil.copyfile(last, os.path.join(a.run, "last-before-stint.pt"))
    os.replace(tmp, last)
    with open(os.path.join(a.run, "train.log"), "a") as f:
        f.write(f"--- GPU stint on {info['device']}: steps {info['step_from']}-{info['step_to']}, "
                f"{info['wall_s']} s ---\n")
        f.write(open(os.path.join(a.src, "stint.log")).read())
    print(f"{last}: step {ck['step']}, {ck.get('crops')} crops")


if __name__ == "__main__":
    main()
