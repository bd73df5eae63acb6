"""Checkpoint converter: prefixes, wrappers, junk keys, HTS-AT names."""

import pytest
import torch
from safetensors.torch import save_file

from audiomamba.convert import convert, main as convert_main
from audiomamba.export import WeightsError, load
from audiomamba.model import AudioMamba
from make_golden import golden_configs, make_waveform

CFGS = golden_configs()


def model_and_wave(name, seed=0):
    torch.manual_seed(seed)
    m = AudioMamba(CFGS[name]).eval()
    c = CFGS[name]
    return m, torch.from_numpy(make_waveform(c.clip_samples, c.sample_rate, seed=1))[None]


def assert_same_outputs(m, path, wave):
    m2 = load(path)
    with torch.no_grad():
        a, b = m(wave), m2(wave)
    for k in ("clip_logits", "frame_logits", "features"):
        if a[k] is None:
            assert b[k] is None
        else:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


@pytest.mark.parametrize("name", ["golden-c", "golden-b"])
def test_dass_layout(tmp_path, name):
    """DataParallel(DASS) checkpoint: `module.v.` names, optimizer wrapper, junk keys."""
    m, wave = model_and_wave(name)
    sd = {"module.v." + k: v.clone() for k, v in m.state_dict().items()}
    sd["module.v.layers.0.blocks.0.op.relative_position_index"] = torch.zeros(3, dtype=torch.long)
    sd["module.v.classifier.extra_thing"] = torch.zeros(2)
    ckpt = {"state_dict": sd, "optimizer": {"lr": 0.1}, "epoch": 3}
    p = str(tmp_path / "dass.pth")
    torch.save(ckpt, p)
    out = str(tmp_path / "out.safetensors")
    _, notes = convert(p, CFGS[name], out, verbose=False)
    text = "\n".join(notes)
    assert "unwrapped `state_dict`" in text and "optimizer" in text
    assert "relative_position_index" in text and "classifier.extra_thing" in text
    if name == "golden-b":
        assert "num_batches_tracked" in text
    assert_same_outputs(m, out, wave)


def test_htsat_layout_safetensors(tmp_path):
    """HTS-AT style names: final LN as `norm.*`, `model.` prefix, stored as safetensors."""
    m, wave = model_and_wave("golden-a")
    sd = {}
    for k, v in m.state_dict().items():
        k2 = k.replace("classifier.norm.", "norm.")
        sd["model." + k2] = v.clone()
    sd["model.head.weight"] = torch.zeros(5, 5)
    p = str(tmp_path / "htsat.safetensors")
    save_file(sd, p)
    out = str(tmp_path / "out.safetensors")
    convert(p, CFGS["golden-a"], out, dtype="f32", verbose=False)
    assert_same_outputs(m, out, wave)


def test_vmamba_plain_and_model_wrapper(tmp_path, capsys):
    m, wave = model_and_wave("golden-d")
    p = str(tmp_path / "vm.pth")
    torch.save({"model": {"module." + k: v for k, v in m.state_dict().items()}}, p)
    cfg_path = str(tmp_path / "c.json")
    CFGS["golden-d"].save(cfg_path)
    out = str(tmp_path / "out.safetensors")
    assert convert_main([p, "--config", cfg_path, "--out", out]) == 0
    assert "wrote" in capsys.readouterr().out
    assert_same_outputs(m, out, wave)


def test_missing_and_mismatch(tmp_path, capsys):
    m, _ = model_and_wave("golden-a")
    sd = dict(m.state_dict())
    sd.pop("layers.0.blocks.0.op.Ds")
    sd["patch_embed.0.weight"] = torch.zeros(8, 3, 4, 4)  # RGB ImageNet stem
    p = str(tmp_path / "bad.pth")
    torch.save(sd, p)
    with pytest.raises(WeightsError) as e:
        convert(p, CFGS["golden-a"], str(tmp_path / "o.safetensors"), verbose=False)
    s = str(e.value)
    assert "missing tensor `layers.0.blocks.0.op.Ds` (expected shape [64])" in s
    assert "`patch_embed.0.weight` has shape [8, 3, 4, 4], expected [8, 1, 4, 4]" in s
    cfg_path = str(tmp_path / "c.json")
    CFGS["golden-a"].save(cfg_path)
    assert convert_main([p, "--config", cfg_path, "--out", str(tmp_path / "o.safetensors")]) == 1
