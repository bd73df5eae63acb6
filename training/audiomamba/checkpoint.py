"""Compact training checkpoints for the repository, and committing them as a run goes.

A full `train.py` checkpoint holds f32 weights and f32 AdamW moments: 12 bytes per parameter
(55 MB for 4.6M parameters). The copy committed to the repository keeps the f32 weights and
leaves the two moments out (4 bytes per parameter, 18 MB). The working tree is what travels to a
GPU machine, 64 MiB in all with the stint's pack, and with the moments (even in bf16, 36 MB) the
tree left no room for the pack's audio; each commit also counts against a submission's diff
limit. A run resumed from a checkpoint without moments starts AdamW afresh and re-warms its
learning rate over its warm-up steps (`train.py`, `train_hits.py`): the moments are running
averages that a resumed run re-estimates within a few hundred steps. Everything else of the
checkpoint is kept as it is.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict, Optional

import torch


def compact(ck: Dict) -> Dict:
    return {k: v for k, v in ck.items() if k != "opt"}


def restore(ck: Dict, model, opt) -> bool:
    """Loads a checkpoint's weights into `model` and, when it carries them, its AdamW moments
    into `opt`. Returns whether the moments were there: without them the run must warm its
    learning rate up again from the resumed step (fresh moments take full-size steps)."""
    model.load_state_dict(ck["model"])
    if "opt" in ck:
        opt.load_state_dict(ck["opt"])
        return True
    return False


def save_compact(ck: Dict, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(compact(ck), tmp)
    os.replace(tmp, path)


def commit_run(ckpt: str, log: str, dest_dir: str, name: str, message: str) -> Optional[str]:
    """Copy a compact checkpoint and the log to dest_dir as NAME-last.pt / NAME-train.log and
    commit those two files only (other staged or unstaged work is left alone). Returns the
    error text when the commit did not happen (for the log), None on success."""
    dest_dir = os.path.abspath(dest_dir)  # git runs inside dest_dir: the paths must not be relative
    os.makedirs(dest_dir, exist_ok=True)
    dst_ck = os.path.join(dest_dir, f"{name}-last.pt")
    dst_log = os.path.join(dest_dir, f"{name}-train.log")
    save_compact(torch.load(ckpt, map_location="cpu", weights_only=False), dst_ck)
    shutil.copyfile(log, dst_log + ".tmp")
    os.replace(dst_log + ".tmp", dst_log)
    try:
        subprocess.run(["git", "add", "--", dst_ck, dst_log], cwd=dest_dir, check=True, capture_output=True, text=True)
        r = subprocess.run(["git", "commit", "-q", "-m", message, "--", dst_ck, dst_log], cwd=dest_dir,
                           capture_output=True, text=True)
        if r.returncode != 0:
            return (r.stdout + r.stderr).strip()[-300:] or f"git commit exited {r.returncode}"
    except (OSError, subprocess.CalledProcessError) as e:
        return str(e)[-300:]
    return None
