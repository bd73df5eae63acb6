"""Regenerate training/configs/*.json (the configs are data; this script only writes them).

    cd training && python make_configs.py

Shapes and the reasons for them: training/README.md.
"""

from __future__ import annotations

import os

from audiomamba.config import Backbone, Config, Head, HtsatFrontend, KaldiFrontend, audioset_labels

HERE = os.path.dirname(os.path.abspath(__file__))

# VMamba v2 block (vssm1 "0230" family): patch embed v2, no z gate, d_state 1, conv downsample,
# depthwise conv without bias, MLP ratio 4, dt_rank auto.
V2 = dict(patch_embed="v2", patch_size=4, d_state=1, dt_rank="auto", gate="none",
          conv_bias=False, mlp_ratio=4.0, downsample="conv")

VARIANTS = {
    "tiny": dict(dims=96, depths=[2, 2, 9, 2], ssm_ratio=2.0),
    "micro": dict(dims=64, depths=[2, 2, 2, 2], ssm_ratio=2.0),
    "nano": dict(dims=40, depths=[2, 2, 2, 2], ssm_ratio=2.0),
}


def htsat_config(name: str) -> Config:
    return Config(
        name=f"audio-mamba-{name}",
        version="0.1.0",
        frontend=HtsatFrontend(
            sample_rate=32000, clip_samples=320000, n_fft=1024, hop_length=320, n_mels=64,
            fmin=50.0, fmax=14000.0, target_frames=1024, freq_ratio=4,
        ),
        backbone=Backbone(**V2, **VARIANTS[name]),
        head=Head("tscam"),
        labels=audioset_labels(),
    )


def dass_small_config() -> Config:
    # DASS-Small (Bhati et al. 2024): VSSM(embed_dim=96, depths=[2,2,8,2], ssm_d_state=1,
    # ssm_ratio=1.0, ssm_conv_bias=False, forward_type="v05_noz", downsample_version="v3",
    # patchembed_version="v2", mlp_ratio=4) with a 1-channel first conv and a 527-way linear head.
    return Config(
        name="dass-small",
        version="0.1.0",
        frontend=KaldiFrontend(sample_rate=16000, clip_samples=163840, n_mels=128, target_frames=1024,
                               norm_mean=-4.2677393, norm_std=4.5689974),
        backbone=Backbone(**{**V2, "ssm_ratio": 1.0}, dims=96, depths=[2, 2, 8, 2]),
        head=Head("linear"),
        labels=audioset_labels(),
    )


def main() -> None:
    out = os.path.join(HERE, "configs")
    os.makedirs(out, exist_ok=True)
    for name in VARIANTS:
        htsat_config(name).save(os.path.join(out, f"{name}.json"))
    dass_small_config().save(os.path.join(out, "dass-small.json"))
    print(f"wrote {', '.join(list(VARIANTS) + ['dass-small'])} to {out}")


if __name__ == "__main__":
    main()
