"""Small audio helpers: decode anything to mono float32 at a target rate, write 16-bit WAV."""
from __future__ import annotations

import io
import subprocess
from fractions import Fraction
from functools import lru_cache

import numpy as np
import soundfile as sf
from scipy.signal import firwin, resample_poly


@lru_cache(maxsize=64)
def _poly_filter(up: int, down: int, dtype: str) -> np.ndarray:
    """The anti-aliasing FIR that resample_poly designs by default (Kaiser, beta 5): designing it
    took over half of an online mixture's resampling time, and the rate pairs repeat."""
    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0)).astype(dtype)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out or len(x) == 0:
        return x.astype(np.float32, copy=False)
    fr = Fraction(sr_out, sr_in).limit_denominator(1000)
    up, down = fr.numerator, fr.denominator
    if not np.issubdtype(x.dtype, np.floating):
        return resample_poly(x, up, down).astype(np.float32)
    return resample_poly(x, up, down, window=_poly_filter(up, down, x.dtype.str)).astype(np.float32)


def _decode_ffmpeg(data_or_path, sr: int) -> np.ndarray:
    cmd = ["ffmpeg", "-v", "quiet", "-i", "pipe:0" if isinstance(data_or_path, bytes) else str(data_or_path),
           "-ac", "1", "-ar", str(sr), "-f", "f32le", "pipe:1"]
    r = subprocess.run(cmd, input=data_or_path if isinstance(data_or_path, bytes) else None,
                       capture_output=True, check=True)
    return np.frombuffer(r.stdout, dtype=np.float32).copy()


def load(path_or_bytes, sr: int) -> np.ndarray:
    """Mono float32 at rate sr. Accepts a path or the bytes of an audio file."""
    try:
        src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        x, sr_in = sf.read(src, dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        return resample(x, sr_in, sr)
    except Exception:
        return _decode_ffmpeg(path_or_bytes, sr)


def write_wav(path, x: np.ndarray, sr: int) -> None:
    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 32767 / 32768)
    sf.write(str(path), (x * 32768).astype(np.int16), sr, subtype="PCM_16")


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def active_extent(x: np.ndarray, sr: int, thresh_db: float = -40.0, hop: int = 160):
    """(start_s, end_s) of the region above thresh_db relative to the peak frame (10 ms frames at 16k)."""
    if len(x) == 0:
        return 0.0, 0.0
    n = len(x) // hop
    if n == 0:
        return 0.0, len(x) / sr
    e = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(e / e.max())
    idx = np.nonzero(db > thresh_db)[0]
    if len(idx) == 0:
        return 0.0, 0.0
    return idx[0] * hop / sr, min(len(x), (idx[-1] + 1) * hop) / sr


def energy_onset(x: np.ndarray, sr: int, thresh_db: float = -30.0, hop: int = 32) -> float:
    """First time (s) where short-frame energy exceeds thresh_db relative to the peak frame."""
    n = len(x) // hop
    e = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-12
    db = 20 * np.log10(e / e.max())
    idx = np.nonzero(db > thresh_db)[0]
    return float(idx[0] * hop / sr) if len(idx) else float("nan")
