"""Config parsing, validation and derived geometry."""

import copy
import json
import os

import pytest

from audiomamba.config import Config, ConfigError

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")


def load(name):
    with open(os.path.join(CONFIGS, name), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", ["tiny.json", "micro.json", "nano.json", "dass-small.json"])
def test_round_trip(name):
    d = load(name)
    cfg = Config.from_dict(d)
    assert cfg.to_dict() == d
    assert Config.from_json(cfg.to_json()).to_dict() == d
    assert len(cfg.labels) == 527 and cfg.labels[0].name == "Speech" and cfg.labels[0].mid == "/m/09x0r"


def test_derived_tiny():
    cfg = Config.from_dict(load("tiny.json"))
    assert cfg.image_size == (256, 256)
    assert cfg.frontend.stft_frames == 1001
    st = cfg.stages()
    assert [(s.height, s.width, s.dim) for s in st] == [(64, 64, 96), (32, 32, 192), (16, 16, 384), (8, 8, 768)]
    assert [s.inner for s in st] == [192, 384, 768, 1536]
    assert [s.dt_rank for s in st] == [6, 12, 24, 48]
    assert cfg.frame_steps == 32


def test_derived_dass():
    cfg = Config.from_dict(load("dass-small.json"))
    assert cfg.image_size == (128, 1024)
    assert cfg.frontend.num_frames == 1022 and cfg.frontend.padded_window_size == 512
    assert cfg.frame_steps is None


def mutate(path, value, base="nano.json"):
    d = copy.deepcopy(load(base))
    node = d
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize(
    "path,value,msg",
    [
        (("frontend", "n_melz"), 64, "unknown key"),
        (("backbone", "gate"), "zz", "expected one of"),
        (("backbone", "dims"), 40.0, "integer"),
        (("backbone", "conv_bias"), 1, "true/false"),
        (("backbone", "dt_rank"), "fixed", "integer"),
        (("extra",), 1, "unknown key"),
        (("labels",), [{"name": "x", "mid": "/m/1", "idx": 0}], "unknown key"),
        (("labels",), [], "no labels"),
        (("head", "kind"), "attention", "expected one of"),
        (("backbone", "depths"), [2, 2, 2, 2, 2, 2, 2], "not divisible"),
        (("frontend", "target_frames"), 1022, "multiple of freq_ratio"),
        (("format",), "other", "format"),
        (("version",), KeyError, "missing"),
        (("backbone", "patch_size"), 8, "patch_embed v2 needs patch_size 4"),
    ],
)
def test_rejects(path, value, msg):
    with pytest.raises(ConfigError, match=msg):
        Config.from_dict(mutate(path, value))


def test_future_version():
    d = load("nano.json")
    d["format_version"] = 2
    d["new_key_from_the_future"] = True
    with pytest.raises(ConfigError, match="format_version 2 is newer than this loader's 1"):
        Config.from_dict(d)


def test_tscam_grid_divisibility():
    # kaldi front end: freq_ratio 1 always divides; htsat: last grid height must divide freq_ratio
    d = mutate(("frontend", "freq_ratio"), 8)
    d["frontend"]["n_mels"] = 16  # image 128 x 128 -> final grid 4 x 4, 4 % 8 != 0
    with pytest.raises(ConfigError, match="not divisible by freq_ratio"):
        Config.from_dict(d)


def test_hit_model_onset_round_trips_and_is_checked():
    d = load("hits.json")
    cfg = Config.from_dict(d)
    assert cfg.onset_pre_seconds == 0.02
    assert cfg.to_dict() == d
    assert "onset" not in Config.from_dict(load("nano.json")).to_dict()
    for bad, msg in [({"pre_seconds": 0.3}, "must lie in"), ({"pre_seconds": -0.1}, "must lie in"),
                     ({"pre": 0.02}, "expected"), (0.02, "expected")]:
        d["onset"] = bad
        with pytest.raises(ConfigError, match=msg):
            Config.from_dict(d)
