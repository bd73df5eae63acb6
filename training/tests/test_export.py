"""Weight file round trip and loader errors."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from audiomamba.config import CONFIG_KEY, ConfigError
from audiomamba.export import WeightsError, export, load, main as export_main
from audiomamba.model import AudioMamba
from make_golden import golden_configs, make_waveform

CFGS = golden_configs()


def make_model(name="golden-a", seed=0):
    torch.manual_seed(seed)
    m = AudioMamba(CFGS[name]).eval()
    with torch.no_grad():  # move bn0 away from identity so it is checked too
        if hasattr(m, "bn0"):
            m.bn0.running_mean.normal_(-40.0, 5.0)
            m.bn0.running_var.uniform_(50.0, 150.0)
    return m


@pytest.mark.parametrize("name", sorted(CFGS))
@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
def test_round_trip(tmp_path, name, dtype):
    m = make_model(name)
    path = str(tmp_path / "m.safetensors")
    export(m, None, path, dtype=dtype)
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        cfg = json.loads(meta[CONFIG_KEY])
        assert cfg == CFGS[name].to_dict()
        want = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
        assert all(f.get_tensor(k).dtype == want for k in f.keys())
        assert not any(k.endswith("num_batches_tracked") for k in f.keys())
    m2 = load(path)
    c = CFGS[name]
    wave = torch.from_numpy(make_waveform(c.clip_samples, c.sample_rate, seed=0))[None]
    with torch.no_grad():
        if dtype != "f32":  # compare with the same rounding applied to the original
            sd = {k: v.to({"f16": torch.float16, "bf16": torch.bfloat16}[dtype]).float()
                  for k, v in m.state_dict().items() if v.is_floating_point()}
            m.load_state_dict(sd, strict=False)
        a, b = m(wave), m2(wave)
    torch.testing.assert_close(a["clip_logits"], b["clip_logits"], rtol=1e-5, atol=1e-5)


def write_variant(tmp_path, mutate):
    m = make_model()
    path = str(tmp_path / "ok.safetensors")
    export(m, None, path)
    tensors = load_file(path)
    with safe_open(path, framework="pt") as f:
        meta = dict(f.metadata())
    mutate(tensors, meta)
    bad = str(tmp_path / "bad.safetensors")
    save_file(tensors, bad, metadata=meta)
    return bad


def test_missing_tensor(tmp_path):
    p = write_variant(tmp_path, lambda t, m: t.pop("layers.1.blocks.0.op.A_logs"))
    with pytest.raises(WeightsError, match=r"missing tensor `layers.1.blocks.0.op.A_logs` \(expected shape \[128, 4\]\)"):
        load(p)


def test_wrong_shape(tmp_path):
    def mut(t, m):
        t["tscam_conv.weight"] = torch.zeros(5, 64, 3, 3)
    p = write_variant(tmp_path, mut)
    with pytest.raises(WeightsError, match=r"`tscam_conv.weight` has shape \[5, 64, 3, 3\], expected \[5, 64, 2, 3\]"):
        load(p)


def test_extra_and_int_tensor(tmp_path):
    def mut(t, m):
        t["head.weight"] = torch.zeros(3)
        t["bn0.weight"] = torch.zeros(64, dtype=torch.int32)
    p = write_variant(tmp_path, mut)
    with pytest.raises(WeightsError) as e:
        load(p)
    assert "unexpected tensor `head.weight`" in str(e.value)
    assert "`bn0.weight` has dtype torch.int32" in str(e.value)


def test_future_format_version(tmp_path):
    def mut(t, m):
        c = json.loads(m[CONFIG_KEY])
        c["format_version"] = 7
        m[CONFIG_KEY] = json.dumps(c)
    p = write_variant(tmp_path, mut)
    with pytest.raises(ConfigError, match="format_version 7 is newer than this loader's 1"):
        load(p)


def test_no_metadata(tmp_path):
    p = str(tmp_path / "plain.safetensors")
    save_file({"x": torch.zeros(1)}, p)
    with pytest.raises(WeightsError, match="no `audio_mamba_config` metadata"):
        load(p)


def test_cli(tmp_path, capsys):
    cfg_path = tmp_path / "c.json"
    CFGS["golden-d"].save(str(cfg_path))
    out = str(tmp_path / "m.safetensors")
    assert export_main(["--config", str(cfg_path), "--out", out, "--dtype", "bf16"]) == 0
    assert export_main(["--check", out]) == 0
    assert "golden-d" in capsys.readouterr().out
