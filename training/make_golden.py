"""Write the golden test vectors in tests/golden/ (see tests/golden/README.md).

    cd training && python make_golden.py [--out ../tests/golden]

For each small config below: a seed-fixed random model (LayerNorm / bn0 / SSM parameters pushed
away from their identity init so they are exercised), a fixed deterministic waveform, and the
reference outputs computed in float32 with the plain-loop selective scan:

    <name>.safetensors          the model in the Audio Mamba format (F32)
    <name>.golden.safetensors   waveform [clip_samples], features [rows, cols],
                                patch_embed [H, W, C], stage{i} [Hi, Wi, Ci] (before downsample),
                                clip_logits [M], frame_logits [T, M] (tscam only),
                                clip_embedding [C], frame_embedding [T, C] (tscam only)

plus `<F16_NAME>-f16.safetensors` / `.golden.safetensors`: the same model stored as F16, with
outputs recomputed from the f16-rounded weights.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Dict, List

import numpy as np
import torch
from safetensors.torch import save_file

from audiomamba.config import Backbone, Config, Head, HtsatFrontend, KaldiFrontend, audioset_labels
from audiomamba.export import export, load
from audiomamba.model import AudioMamba, SS2D

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "golden"))

# Real AudioSet classes: Speech, Dog, Music, Siren, Rain (index, name, MID from the CSV)
LABEL_INDICES = [0, 74, 137, 396, 289]


def golden_configs() -> Dict[str, Config]:
    labels = audioset_labels(LABEL_INDICES)
    cfgs = {
        # VMamba v0 style on the HTS-AT front end; STFT 129 frames -> 128 (downsampling resize)
        "golden-a": Config(
            name="golden-a", version="0.1.0",
            frontend=HtsatFrontend(sample_rate=32000, clip_samples=40960, n_fft=1024, hop_length=320,
                                   n_mels=64, fmin=50.0, fmax=14000.0, target_frames=128, freq_ratio=2),
            backbone=Backbone(patch_embed="v1", patch_size=4, dims=8, depths=[1, 1, 2, 1], d_state=4,
                              ssm_ratio=2.0, dt_rank="auto", gate="z", conv_bias=True, mlp_ratio=0.0,
                              downsample="merge"),
            head=Head("tscam"), labels=labels,
        ),
        # VMamba v2 style on the HTS-AT front end, other STFT sizes; 81 frames -> 256 (upsampling);
        # fractional ssm_ratio / mlp_ratio exercise the floor rules (E = 12, MLP hidden = 20 at C = 8)
        "golden-b": Config(
            name="golden-b", version="0.1.0",
            frontend=HtsatFrontend(sample_rate=32000, clip_samples=16000, n_fft=512, hop_length=200,
                                   n_mels=32, fmin=0.0, fmax=16000.0, target_frames=256, freq_ratio=4),
            backbone=Backbone(patch_embed="v2", patch_size=4, dims=8, depths=[1, 2, 1, 1], d_state=1,
                              ssm_ratio=1.5, dt_rank=2, gate="none", conv_bias=False, mlp_ratio=2.5,
                              downsample="conv"),
            head=Head("linear"), labels=labels,
        ),
        # Kaldi front end, 98 fbank frames zero-padded to 128; three stages; gate z, bias-free conv
        "golden-c": Config(
            name="golden-c", version="0.1.0",
            frontend=KaldiFrontend(sample_rate=16000, clip_samples=16000, n_mels=32, target_frames=128,
                                   norm_mean=-4.2677393, norm_std=4.5689974),
            backbone=Backbone(patch_embed="v1", patch_size=4, dims=12, depths=[1, 1, 1], d_state=2,
                              ssm_ratio=2.0, dt_rank="auto", gate="z", conv_bias=False, mlp_ratio=4.0,
                              downsample="merge"),
            head=Head("linear"), labels=labels,
        ),
        # Kaldi front end, 136 fbank frames cropped to 128; three stages; tscam with freq_ratio 1
        "golden-d": Config(
            name="golden-d", version="0.1.0",
            frontend=KaldiFrontend(sample_rate=16000, clip_samples=22000, n_mels=64, target_frames=128,
                                   norm_mean=-4.2677393, norm_std=4.5689974),
            backbone=Backbone(patch_embed="v2", patch_size=4, dims=8, depths=[1, 2, 1], d_state=3,
                              ssm_ratio=2.0, dt_rank=1, gate="none", conv_bias=True, mlp_ratio=0.0,
                              downsample="conv"),
            head=Head("tscam"), labels=labels,
        ),
    }
    return cfgs


F16_NAME = "golden-d"


def make_waveform(n: int, sr: int, seed: int) -> np.ndarray:
    """Deterministic test signal: log chirp 100 Hz -> 0.4*sr, a 440 Hz tone, seeded noise bursts."""
    rng = np.random.RandomState(seed)
    t = np.arange(n, dtype=np.float64) / sr
    dur = n / sr
    f0, f1 = 100.0, 0.4 * sr
    k = math.log(f1 / f0) / dur
    chirp = 0.3 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1.0) / k)
    tone = 0.1 * np.sin(2 * np.pi * 440.0 * t) * (t > dur / 2)
    noise = np.zeros(n)
    for _ in range(3):
        start = rng.randint(0, n - n // 10)
        length = n // 10
        env = np.hanning(length)
        noise[start:start + length] += 0.2 * env * rng.randn(length)
    return (chirp + tone + noise + 0.003 * rng.randn(n)).astype(np.float32)


def inv_softplus(x: torch.Tensor) -> torch.Tensor:
    return x + torch.log(-torch.expm1(-x))


@torch.no_grad()
def randomize(model: AudioMamba, wave: torch.Tensor, seed: int) -> None:
    """Seeded weights with O(1) activations; LN / bn0 / SSM parameters away from identity."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.LayerNorm):
            mod.weight.copy_(1.0 + 0.2 * randn(mod.weight.shape))
            mod.bias.copy_(0.1 * randn(mod.bias.shape))
        elif isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            fan_in = mod.weight[0].numel()
            mod.weight.copy_(randn(mod.weight.shape) / math.sqrt(fan_in))
            if mod.bias is not None:
                mod.bias.copy_(0.1 * randn(mod.bias.shape))
        elif isinstance(mod, SS2D):
            E, N, R = mod.d_inner, mod.d_state, mod.dt_rank
            mod.x_proj_weight.copy_(randn(mod.x_proj_weight.shape) / math.sqrt(E))
            mod.dt_projs_weight.copy_(randn(mod.dt_projs_weight.shape) / math.sqrt(R))
            dt = torch.exp(torch.rand(mod.dt_projs_bias.shape, generator=g) * (math.log(1.0) - math.log(0.01))
                           + math.log(0.01))
            mod.dt_projs_bias.copy_(inv_softplus(dt))
            base = torch.log(torch.arange(1, N + 1, dtype=torch.float32)).expand_as(mod.A_logs)
            mod.A_logs.copy_(base + 0.3 * randn(mod.A_logs.shape))
            mod.Ds.copy_(1.0 + 0.3 * randn(mod.Ds.shape))
    if hasattr(model, "bn0"):
        bn = model.bn0
        logmel = model.frontend.logmel(wave)[0]  # [T, M]
        bn.running_mean.copy_(logmel.mean(0) + 2.0 * randn(bn.running_mean.shape))
        var = logmel.var(0) * torch.exp(0.5 * randn(bn.running_var.shape))
        bn.running_var.copy_(var)
        bn.weight.copy_(1.0 + 0.2 * randn(bn.weight.shape))
        bn.bias.copy_(0.1 * randn(bn.bias.shape))


@torch.no_grad()
def reference_outputs(model: AudioMamba, wave: torch.Tensor) -> Dict[str, torch.Tensor]:
    model.eval()
    model.set_scan_impl("ref")
    out = model(wave.unsqueeze(0), return_intermediates=True)
    res = {"waveform": wave.contiguous()}
    for k, v in out.items():
        if v is not None:
            res[k] = v[0].contiguous().float()
    return res


def main(argv: List[str] = None) -> None:
    ap = argparse.ArgumentParser(description="write tests/golden")
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)  # reproducible reductions
    summary = []
    for i, (name, cfg) in enumerate(golden_configs().items()):
        torch.manual_seed(1000 + i)
        model = AudioMamba(cfg, scan_impl="ref").eval()
        wave = torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=7 + i))
        randomize(model, wave.unsqueeze(0), seed=100 + i)
        variants = [(name, "f32", model)]
        if name == F16_NAME:
            m16 = AudioMamba(cfg, scan_impl="ref").eval()
            m16.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
            variants.append((f"{name}-f16", "f16", m16))
        for fname, dtype, m in variants:
            model_path = os.path.join(a.out, f"{fname}.safetensors")
            export(m, cfg, model_path, dtype=dtype)
            # outputs from the model as the file stores it (round trip through the loader)
            loaded = load(model_path, scan_impl="ref")
            outs = reference_outputs(loaded, wave)
            golden_path = os.path.join(a.out, f"{fname}.golden.safetensors")
            save_file(outs, golden_path,
                      # one key: safetensors writes metadata in hash order, keep files byte-stable
                      metadata={"model": f"{fname}.safetensors (plain-loop scan, float32)"})
            for p in (model_path, golden_path):
                os.chmod(p, 0o644)
            shapes = {k: list(v.shape) for k, v in outs.items()}
            summary.append((fname, shapes, outs["clip_logits"].tolist()))
    for fname, shapes, logits in summary:
        print(fname, json.dumps(shapes))
        print("   clip_logits", ["%.5f" % x for x in logits])


if __name__ == "__main__":
    main()
