"""The GPU stint end to end on this CPU with a tiny pack: pack -> stint (one step) -> unpack ->
the CPU run resumes from what came back."""

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch

from conftest import TRAINING
from test_train import _dataset, _run

GPU = os.path.join(TRAINING, "gpu")


def test_stint_round_trip(tmp_path):
    csv, cfg = _dataset(str(tmp_path))
    items = tmp_path / "items_train.jsonl"
    with open(items, "w") as f:
        for i, mids in enumerate([["/m/026t6", "/m/04rlf"], ["/m/04rlf"], ["/m/04rlf"]]):
            f.write(json.dumps({"id": f"c{i}", "split": "train", "path": os.path.join(str(tmp_path), f"c{i}.wav"),
                                "kind": "render", "group": f"g{i}", "labels": mids, "weak": [], "dur": 3.0,
                                "sources": [f"c{i}"],
                                "events": [{"mid": m, "onset_s": 0.0, "offset_s": 3.0} for m in mids]}) + "\n")
    run = str(tmp_path / "run")

    def train(out, *more):
        return _run([sys.executable, os.path.join(TRAINING, "train.py"), "--config", cfg, "--train-items", str(items),
                     "--out", out, "--batch", "2", "--warmup", "1", "--threads", "1", *more], tmp_path)

    train(run, "--steps", "1")
    pack = str(tmp_path / "pack")
    _run([sys.executable, os.path.join(GPU, "make_pack.py"), "--items", str(items), "--checkpoint",
          os.path.join(run, "last.pt"), "--config", cfg, "--out", pack, "--no-wheels", "--no-teacher",
          "--max-items", "2", "--train-args", "--batch 2 --warmup 1 --threads 1"], tmp_path)
    meta = json.load(open(os.path.join(pack, "pack.json")))
    assert meta["items"] == 2
    opus = sorted(os.listdir(os.path.join(pack, "audio")))
    assert len(opus) == 2 and all(p.endswith(".opus") for p in opus)
    x, sr = sf.read(os.path.join(pack, "audio", opus[0]))
    assert sr == 48000 and abs(len(x) / sr - 3.0) < 0.05
    out = str(tmp_path / "out")
    _run([sys.executable, os.path.join(GPU, "stint.py"), "--pack", pack, "--out", out, "--minutes", "6",
          "--max-steps", "1", "--workers", "1", "--work", str(tmp_path / "work")], tmp_path)
    info = json.load(open(os.path.join(out, "stint.json")))
    assert info["rc"] == 0 and info["step_from"] == 1 and info["step_to"] == 2
    assert all(os.path.getsize(os.path.join(out, p)) <= 15 * 2**20 for p in info["parts"])
    assert "resumed from" in open(os.path.join(out, "stint.log")).read()
    cpu_run = str(tmp_path / "cpu")
    _run([sys.executable, os.path.join(GPU, "unpack.py"), "--from", out, "--run", cpu_run], tmp_path)
    ck = torch.load(os.path.join(cpu_run, "last.pt"), weights_only=False)
    assert ck["step"] == 2 and ck["crops"] == 4
    # the CPU run goes on from the stint's checkpoint
    log = train(cpu_run, "--steps", "3", "--resume")
    assert "at step 2" in log
    assert torch.load(os.path.join(cpu_run, "last.pt"), weights_only=False)["step"] == 3
