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


def htsat_state_dict(m):
    """Our model's tensors named as the published HTS-AT code (htsat.py) names its own, inside
    its Lightning wrapper's `sed_model.`, with the entries HTS-AT has and the format does not."""
    sd = {}
    for k, v in m.state_dict().items():
        k = k.replace("patch_embed.0.", "patch_embed.proj.").replace("patch_embed.2.", "patch_embed.norm.")
        k = k.replace("classifier.norm.", "norm.")
        sd["sed_model." + k] = v.clone()
    c = m.config
    n_fft, mels, classes = c.frontend.n_fft, c.frontend.n_mels, c.num_classes
    sd["sed_model.spectrogram_extractor.stft.conv_real.weight"] = torch.zeros(n_fft // 2 + 1, 1, n_fft)
    sd["sed_model.spectrogram_extractor.stft.conv_imag.weight"] = torch.zeros(n_fft // 2 + 1, 1, n_fft)
    sd["sed_model.logmel_extractor.melW"] = torch.zeros(n_fft // 2 + 1, mels)
    sd["sed_model.bn0.num_batches_tracked"] = torch.tensor(7)
    sd["sed_model.head.weight"] = torch.zeros(classes, classes)  # defined by HTS-AT, unused with tscam
    sd["sed_model.head.bias"] = torch.zeros(classes)
    return sd


def test_htsat_published_names_convert(tmp_path):
    """A Lightning checkpoint as HTS-AT's training writes it converts to the same model."""
    m, wave = model_and_wave("golden-a")
    assert CFGS["golden-a"].backbone.patch_embed == "v1" and "tscam_conv.weight" in m.state_dict()
    p = str(tmp_path / "htsat.ckpt")
    torch.save({"state_dict": htsat_state_dict(m), "epoch": 40, "global_step": 9000}, p)
    out = str(tmp_path / "out.safetensors")
    _, notes = convert(p, CFGS["golden-a"], out, verbose=False)
    text = "\n".join(notes)
    for gone in ("conv_real", "melW", "num_batches_tracked", "sed_model.head.weight"):
        assert gone in text
    assert "patch_embed" not in text  # mapped, not dropped
    assert_same_outputs(m, out, wave)


def conversion_error(tmp_path, sd, name="golden-a"):
    """The checkpoint `sd` saved and converted with config `name`: its path and the error text."""
    p = str(tmp_path / "bad.pth")
    torch.save(sd, p)
    with pytest.raises(WeightsError) as e:
        convert(p, CFGS[name], str(tmp_path / "o.safetensors"), verbose=False)
    return p, str(e.value)


def test_a_failed_conversion_lists_what_it_dropped(tmp_path):
    m, _ = model_and_wave("golden-a")
    sd = htsat_state_dict(m)
    sd["sed_model.patch_embed.projection.weight"] = sd.pop("sed_model.patch_embed.proj.weight")  # a name we do not know
    _, s = conversion_error(tmp_path, sd)
    assert "missing tensor `patch_embed.0.weight`" in s
    assert "sed_model.patch_embed.projection.weight (not used by the format)" in s


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
    p, s = conversion_error(tmp_path, sd)
    assert "missing tensor `layers.0.blocks.0.op.Ds` (expected shape [64])" in s
    assert "`patch_embed.0.weight` has shape [8, 3, 4, 4], expected [8, 1, 4, 4]" in s
    cfg_path = str(tmp_path / "c.json")
    CFGS["golden-a"].save(cfg_path)
    assert convert_main([p, "--config", cfg_path, "--out", str(tmp_path / "o.safetensors")]) == 1
