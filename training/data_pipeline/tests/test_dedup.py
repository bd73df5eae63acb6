import numpy as np

from data_pipeline.audio import resample
from data_pipeline.dedup import UnionFind, find_duplicates, fingerprint


def _signal(seed, sr, dur=1.5):
    rng = np.random.default_rng(seed)
    t = np.arange(int(dur * sr)) / sr
    x = np.zeros_like(t, dtype=np.float32)
    for _ in range(6):  # random tone bursts and noise bursts
        a = rng.uniform(0, dur - 0.3)
        m = (t >= a) & (t < a + rng.uniform(0.05, 0.3))
        x[m] += (np.sin(2 * np.pi * rng.uniform(150, 3000) * t[m]) * rng.uniform(0.2, 1)).astype(np.float32)
        x[m] += rng.standard_normal(m.sum()).astype(np.float32) * 0.1
    return np.concatenate([np.zeros(int(0.2 * sr), np.float32), x])


def test_resampled_copy_is_caught_across_groups():
    sr = 44100
    a = _signal(1, sr)
    b = resample(a, sr, 22050) * 0.5          # resampled, quieter copy in another package
    b = np.concatenate([np.zeros(3000, np.float32), b])  # different leading silence
    c = _signal(2, sr)                        # a different recording
    fps = [fingerprint(a, sr), fingerprint(b, 22050), fingerprint(c, sr)]
    pairs = find_duplicates(fps, ["pkg:a", "pkg:b", "pkg:c"])
    assert (0, 1) in pairs or (1, 0) in pairs
    assert not any(2 in p for p in pairs)


def test_exact_duplicate_and_union():
    sr = 16000
    a = _signal(5, sr)
    fps = [fingerprint(a, sr), fingerprint(a.copy(), sr)]
    assert find_duplicates(fps, ["g1", "g1"]) == [(0, 1)]
    uf = UnionFind()
    uf.union("game:b", "game:a")
    assert uf.find("game:b") == uf.find("game:a") == "game:a"
