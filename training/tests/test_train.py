"""train.py end to end on a tiny AudioSet-style CSV dataset: single process with --resume, and
`torchrun` with two CPU processes on the gloo backend (the multi-GPU path, minus the GPUs)."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import TRAINING

TRAIN = os.path.join(TRAINING, "train.py")


def _dataset(tmp):
    """Six 3 s clips at 32 kHz: noise bursts labelled 'Drum', tones labelled 'Music'."""
    rng = np.random.default_rng(0)
    rows = ["path,labels"]
    for i in range(6):
        t = np.arange(96000) / 32000
        if i % 2:
            x = 0.3 * np.sin(2 * np.pi * (220 + 40 * i) * t)
            labels = "/m/04rlf"
        else:
            x = rng.normal(0, 0.3, t.size) * (np.sin(2 * np.pi * 2 * t) > 0.9)
            labels = "/m/026t6;/m/04rlf"
        sf.write(os.path.join(tmp, f"c{i}.wav"), x.astype(np.float32), 32000)
        rows.append(f"c{i}.wav,{labels}")
    csv = os.path.join(tmp, "train.csv")
    open(csv, "w").write("\n".join(rows) + "\n")
    cfg = json.load(open(os.path.join(TRAINING, "configs", "plugin29.json")))
    cfg["backbone"].update(dims=8, depths=[1, 1, 1, 1], d_state=1)
    path = os.path.join(tmp, "tiny.json")
    json.dump(cfg, open(path, "w"))
    return csv, path


def _args(csv, cfg, out, steps):
    return [TRAIN, "--config", cfg, "--train", csv, "--val", csv, "--out", out, "--batch", "2",
            "--steps", str(steps), "--warmup", "1", "--eval-every", "2", "--ckpt-every", "1", "--threads", "1"]


def _run(cmd, tmp):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=TRAINING, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_single_process_trains_and_resumes(tmp_path):
    csv, cfg = _dataset(str(tmp_path))
    out = str(tmp_path / "run")
    _run([sys.executable] + _args(csv, cfg, out, 2), tmp_path)
    first = torch.load(os.path.join(out, "last.pt"), weights_only=False)
    assert first["step"] == 2
    log = _run([sys.executable] + _args(csv, cfg, out, 4) + ["--resume"], tmp_path)
    assert "resumed from" in log and "at step 2" in log
    second = torch.load(os.path.join(out, "last.pt"), weights_only=False)
    assert second["step"] == 4
    # training moved the weights on after the resume
    k = "classifier.weight" if "classifier.weight" in first["model"] else next(iter(first["model"]))
    assert not torch.equal(first["model"][k], second["model"][k])
    assert os.path.exists(os.path.join(out, "best.pt"))


def test_torchrun_two_gloo_processes(tmp_path):
    csv, cfg = _dataset(str(tmp_path))
    out = str(tmp_path / "ddp")
    log = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
               + _args(csv, cfg, out, 3) + ["--backend", "gloo"], tmp_path)
    assert "world 2" in log
    ck = torch.load(os.path.join(out, "last.pt"), weights_only=False)
    assert ck["step"] == 3
    assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())


def test_online_mixing_trains_and_counts_crops(tmp_path):
    csv, cfg = _dataset(str(tmp_path))
    items = tmp_path / "items_train.jsonl"
    with open(items, "w") as f:
        for i, (mids, kind) in enumerate([(["/m/026t6", "/m/04rlf"], "render"), (["/m/04rlf"], "render"),
                                          ([], "background")]):
            f.write(json.dumps({"id": f"c{i}", "path": os.path.join(str(tmp_path), f"c{i}.wav"), "kind": kind,
                                "group": f"g{i}", "labels": mids, "weak": [], "sources": [f"c{i}"],
                                "events": [{"mid": m, "onset_s": 0.0, "offset_s": 3.0} for m in mids]}) + "\n")
    out = str(tmp_path / "online")
    args = [a if a != csv else str(items) for a in _args(csv, cfg, out, 3)]
    args[args.index("--train")] = "--train-items"
    args[args.index("--val") + 1] = csv
    log = _run([sys.executable] + args, tmp_path)
    assert "online mixtures of 3 items" in log
    ck = torch.load(os.path.join(out, "last.pt"), weights_only=False)
    assert ck["step"] == 3 and ck["crops"] == 6


def test_compact_checkpoint_resumes_and_commits(tmp_path):
    from audiomamba.checkpoint import commit_run, compact

    csv, cfg = _dataset(str(tmp_path))
    out = str(tmp_path / "run")
    _run([sys.executable] + _args(csv, cfg, out, 2), tmp_path)
    full = torch.load(os.path.join(out, "last.pt"), weights_only=False)
    small = compact(full)
    assert "opt" not in small and small["step"] == 2
    assert all(torch.equal(v, full["model"][k]) for k, v in small["model"].items())

    def resume_lr_at_step_10(ck, name):
        run = str(tmp_path / name)
        os.makedirs(run)
        torch.save(ck, os.path.join(run, "last.pt"))
        args = _args(csv, cfg, run, 12) + ["--resume"]
        args[args.index("--warmup") + 1] = "20"
        log = _run([sys.executable] + args, tmp_path)
        assert "at step 2" in log
        return log, float(re.search(r"step 10 loss \S+ lr (\S+)", log).group(1))

    # with its moments a run goes on where the schedule stands (step 9 of a 20-step warm-up);
    # without them it warms up again from the resumed step: (9 - 2 + 1) / 20 against (9 + 1) / 20
    log_full, lr_full = resume_lr_at_step_10(full, "full")
    log_small, lr_small = resume_lr_at_step_10(small, "small")
    assert "fresh AdamW moments" in log_small and "fresh AdamW moments" not in log_full
    assert lr_small / lr_full == pytest.approx(0.8, rel=0.02)
    torch.save(small, os.path.join(out, "last.pt"))
    # commit_run commits exactly the two files into a git repository
    repo = tmp_path / "repo"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True, text=True).stdout  # noqa: E731
    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (repo / "other.txt").write_text("staged, not committed\n")
    git("add", "other.txt")
    # a relative destination, as train.py --commit-dir checkpoints gives it
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        err = commit_run(os.path.join(out, "last.pt"), os.path.join(out, "train.log"), "ck", "demo", "msg")
    finally:
        os.chdir(cwd)
    assert err is None
    assert sorted(git("show", "--name-only", "--format=", "HEAD").split()) == ["ck/demo-last.pt", "ck/demo-train.log"]
    assert "other.txt" in git("diff", "--cached", "--name-only")
