"""train_hits.py end to end on tiny items: windows from a pool, validation P/R/F, resume."""

import json
import os
import sys

import numpy as np
import soundfile as sf
import torch

from conftest import TRAINING
from test_train import _run


def _items(tmp, split):
    rng = np.random.default_rng(0 if split == "train" else 1)
    path = os.path.join(tmp, f"items_{split}.jsonl")
    with open(path, "w") as f:
        for i in range(3):
            x = np.zeros(64000, np.float32)
            hits = [0.3 + 0.4 * k for k in range(4)]
            for t in hits:  # decaying noise bursts: struck drums
                s = int(t * 32000)
                x[s:s + 3200] += rng.normal(0, 0.3, 3200) * np.exp(-np.arange(3200) / 600)
            p = os.path.join(tmp, f"{split}{i}.wav")
            sf.write(p, x, 32000)
            f.write(json.dumps({"id": f"{split}{i}", "split": split, "path": p, "kind": "render", "group": f"k{i}",
                                "labels": ["/m/0bm02"], "weak": [], "sources": [p], "dur": 2.0,
                                "events": [{"mid": "/m/0bm02", "onset_s": t, "offset_s": t + 0.1} for t in hits]}) + "\n")
    return path


def test_train_hits_runs_and_resumes(tmp_path):
    tr, va = _items(str(tmp_path), "train"), _items(str(tmp_path), "validation")
    out = str(tmp_path / "hits")
    args = [sys.executable, os.path.join(TRAINING, "train_hits.py"), "--train-items", tr, "--val-items", va,
            "--out", out, "--batch", "4", "--warmup", "1", "--eval-every", "2", "--val-n", "12", "--pool", "16",
            "--workers", "0"]
    log = _run(args + ["--steps", "2"], tmp_path)
    assert "Bass drum F" in log and "no-hit fires" in log
    assert os.path.exists(os.path.join(out, "val.npz")) and os.path.exists(os.path.join(out, "best.pt"))
    val = np.load(os.path.join(out, "val.npz"))
    assert val["x"].shape == (12, 8192) and val["y"].shape == (12, 9)
    assert val["y"][:, 0].sum() > 0 and (val["y"][:, 1:] == 0).all()  # kicks only, all labelled as kicks
    log = _run(args + ["--steps", "4", "--resume"], tmp_path)
    assert "resumed at step 2" in log
    assert torch.load(os.path.join(out, "last.pt"), weights_only=False)["step"] == 4


def test_transcription_matching_is_one_to_one_within_20ms():
    from eval_hits import match
    assert match([0.100, 0.105], [0.101]) == 1  # two predictions, one true hit
    assert match([0.100], [0.119]) == 1 and match([0.100], [0.121]) == 0
    assert match([0.1, 0.5, 0.9], [0.11, 0.49, 1.5]) == 2
    assert match([], [0.1]) == 0 and match([0.1], []) == 0


def test_eval_hits_scores_a_trained_checkpoint(tmp_path):
    te = _items(str(tmp_path), "test")
    out = str(tmp_path / "hits")
    tr, va = _items(str(tmp_path), "train"), _items(str(tmp_path), "validation")
    _run([sys.executable, os.path.join(TRAINING, "train_hits.py"), "--train-items", tr, "--val-items", va,
          "--out", out, "--batch", "4", "--warmup", "1", "--eval-every", "2", "--val-n", "8", "--pool", "8",
          "--workers", "0", "--steps", "2"], tmp_path)
    js = str(tmp_path / "test.json")
    log = _run([sys.executable, os.path.join(TRAINING, "eval_hits.py"), "--checkpoint", os.path.join(out, "best.pt"),
                "--items", te, "--json", js], tmp_path)
    r = json.load(open(js))
    assert r["patterns"] == 3 and "drums alone" in log
    kick = r["drums alone"]["Bass drum"]
    assert kick["true"] == 12  # 3 patterns x 4 hits
