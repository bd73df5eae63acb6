"""Audio Mamba: front end + VMamba (SS2D) backbone + HTS-AT token-semantic or linear head.

Parameter names equal the tensor names of docs/weights.md (VMamba VSSM state-dict names).
Tensors inside the backbone are channels-last: [B, H, W, C].

    python -m audiomamba.model configs/tiny.json [more.json ...]   # print parameter counts
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config
from .frontend import make_frontend
from .scan import selective_scan
from .scan_fused import cross_scan_fused

LN_EPS = 1e-5
K = 4  # scan directions
# fused cross-scan: direction k reads token order k % 2 (row-, column-major), k >= 2 backwards
_SRC = (0, 1, 0, 1)
_REV = (False, False, True, True)


class Permute(nn.Module):
    def __init__(self, *dims: int):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


def make_patch_embed(version: str, patch_size: int, dim: int) -> nn.Sequential:
    if version == "v1":
        return nn.Sequential(
            nn.Conv2d(1, dim, kernel_size=patch_size, stride=patch_size, bias=True),  # 0
            Permute(0, 2, 3, 1),  # 1
            nn.LayerNorm(dim, eps=LN_EPS),  # 2
        )
    half = dim // 2
    return nn.Sequential(
        nn.Conv2d(1, half, kernel_size=3, stride=2, padding=1),  # 0
        Permute(0, 2, 3, 1),  # 1
        nn.LayerNorm(half, eps=LN_EPS),  # 2
        Permute(0, 3, 1, 2),  # 3
        nn.GELU(),  # 4
        nn.Conv2d(half, dim, kernel_size=3, stride=2, padding=1),  # 5
        Permute(0, 2, 3, 1),  # 6
        nn.LayerNorm(dim, eps=LN_EPS),  # 7
    )


class PatchMerging(nn.Module):
    """concat (0,0),(1,0),(0,1),(1,1) neighbours -> LN(4C) -> Linear(4C -> 2C, no bias)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim, eps=LN_EPS)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):  # [B, H, W, C]
        x0 = x[:, 0::2, 0::2]
        x1 = x[:, 1::2, 0::2]
        x2 = x[:, 0::2, 1::2]
        x3 = x[:, 1::2, 1::2]
        return self.reduction(self.norm(torch.cat([x0, x1, x2, x3], dim=-1)))


def make_downsample(kind: str, dim: int) -> nn.Module:
    if kind == "merge":
        return PatchMerging(dim)
    return nn.Sequential(
        Permute(0, 3, 1, 2),  # 0
        nn.Conv2d(dim, 2 * dim, kernel_size=3, stride=2, padding=1, bias=True),  # 1
        Permute(0, 2, 3, 1),  # 2
        nn.LayerNorm(2 * dim, eps=LN_EPS),  # 3
    )


class SS2D(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_inner: int,
        d_state: int,
        dt_rank: int,
        gate: str,
        conv_bias: bool,
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
        dt_scale: float = 1.0,
    ):
        super().__init__()
        self.d_model, self.d_inner, self.d_state, self.dt_rank = d_model, d_inner, d_state, dt_rank
        self.gate = gate
        E, N, R = d_inner, d_state, dt_rank
        self.in_proj = nn.Linear(d_model, 2 * E if gate == "z" else E, bias=False)
        self.conv2d = nn.Conv2d(E, E, kernel_size=3, padding=1, groups=E, bias=conv_bias)
        # x_proj: K x (R + 2N) x E, nn.Linear default init per direction
        bound = 1.0 / math.sqrt(E)
        self.x_proj_weight = nn.Parameter(torch.empty(K, R + 2 * N, E).uniform_(-bound, bound))
        # dt_proj (VMamba / Mamba init)
        std = dt_scale * R**-0.5
        self.dt_projs_weight = nn.Parameter(torch.empty(K, E, R).uniform_(-std, std))
        dt = torch.exp(
            torch.rand(K, E) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        ).clamp(min=dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        self.dt_projs_bias = nn.Parameter(inv_dt)
        A = torch.arange(1, N + 1, dtype=torch.float32).repeat(K * E, 1)
        self.A_logs = nn.Parameter(torch.log(A))  # [K*E, N]
        self.Ds = nn.Parameter(torch.ones(K * E))
        self.out_norm = nn.LayerNorm(E, eps=LN_EPS)
        self.out_proj = nn.Linear(E, d_model, bias=False)
        self.scan_impl = "chunked"

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, H, W, C]
        xz = self.in_proj(x)
        if self.gate == "z":
            x, z = xz.chunk(2, dim=-1)
            z = F.silu(z)
        else:
            x, z = xz, None
        # a channels-last view: oneDNN runs the depthwise conv in that layout, and the fused scan
        # reads its token-major input from it without a copy
        x = F.silu(self.conv2d(x.permute(0, 3, 1, 2)))  # [B, E, H, W]
        if self.scan_impl == "fused":
            y = self._scan_fused(x)
        else:
            y = self._scan_flipped(x)
        y = self.out_norm(y)
        if z is not None:
            y = y * z
        return self.out_proj(y)

    def _scan_fused(self, x: torch.Tensor) -> torch.Tensor:
        """Cross-scan without flips: the reversed directions traverse their source backwards.

        Directions 2 and 3 project the unflipped tokens (the projection is per token, so this is
        the flipped projection read backwards) and the kernel sums both directions of a source.
        Token-major [B, 2, L, E], so the result is already channels-last.
        """
        Bsz, E, H, W = x.shape
        N, R = self.d_state, self.dt_rank
        L = H * W
        u = torch.stack([x.permute(0, 2, 3, 1).reshape(Bsz, L, E), x.permute(0, 3, 2, 1).reshape(Bsz, L, E)],
                        dim=1)  # [B, 2, L, E]: row-major and column-major token orders
        # direction k = 2 * reversed + source
        w = self.x_proj_weight.view(2, 2, R + 2 * N, E)
        x_dbl = torch.einsum("bjle,rjce->brjlc", u, w).reshape(Bsz, K, L, R + 2 * N)
        dts, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=3)
        dts = torch.einsum("bklr,ker->bkle", dts, self.dt_projs_weight)
        As = -torch.exp(self.A_logs.float())
        y2 = cross_scan_fused(u, dts, As, Bs, Cs, self.Ds.float(), self.dt_projs_bias.float().reshape(-1),
                              src=_SRC, rev=_REV)
        return y2[:, 0].reshape(Bsz, H, W, E) + y2[:, 1].reshape(Bsz, W, H, E).transpose(1, 2)

    def _scan_flipped(self, x: torch.Tensor) -> torch.Tensor:
        Bsz, E, H, W = x.shape
        N, R = self.d_state, self.dt_rank
        L = H * W
        # cross-scan: 0 row-major, 1 column-major, 2 / 3 their reverses
        x_hw = x.reshape(Bsz, E, L)
        x_wh = x.transpose(2, 3).reshape(Bsz, E, L)
        xs = torch.stack([x_hw, x_wh, x_hw.flip(-1), x_wh.flip(-1)], dim=1)  # [B, K, E, L]
        x_dbl = torch.einsum("bkel,kce->bkcl", xs, self.x_proj_weight)
        dts, Bs, Cs = torch.split(x_dbl, [R, N, N], dim=2)
        dts = torch.einsum("bkrl,ker->bkel", dts, self.dt_projs_weight)
        As = -torch.exp(self.A_logs.float())  # [K*E, N]
        ys = selective_scan(
            xs.reshape(Bsz, K * E, L),
            dts.reshape(Bsz, K * E, L),
            As,
            Bs,
            Cs,
            self.Ds.float(),
            self.dt_projs_bias.float().reshape(-1),
            delta_softplus=True,
            impl=self.scan_impl,
        ).view(Bsz, K, E, L)
        # cross-merge
        y_hw = ys[:, 0] + ys[:, 2].flip(-1)
        y_wh = ys[:, 1] + ys[:, 3].flip(-1)
        y_wh = y_wh.view(Bsz, E, W, H).transpose(2, 3).reshape(Bsz, E, L)
        return (y_hw + y_wh).transpose(1, 2).reshape(Bsz, H, W, E)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class VSSBlock(nn.Module):
    def __init__(self, dim: int, inner: int, d_state: int, dt_rank: int, gate: str, conv_bias: bool, mlp_hidden: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.op = SS2D(dim, inner, d_state, dt_rank, gate, conv_bias)
        if mlp_hidden > 0:
            self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
            self.mlp = Mlp(dim, mlp_hidden)
        else:
            self.norm2 = None
            self.mlp = None

    def forward(self, x):
        x = x + self.op(self.norm(x))
        if self.mlp is not None:
            x = x + self.mlp(self.norm2(x))
        return x


class Classifier(nn.Module):
    def __init__(self, dim: int, num_classes: Optional[int]):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.head = nn.Linear(dim, num_classes) if num_classes is not None else None


class AudioMamba(nn.Module):
    def __init__(self, config: Config, scan_impl: str = "chunked"):
        super().__init__()
        config.validate()
        self.config = config
        fe, bb = config.frontend, config.backbone
        self.frontend = make_frontend(fe)  # no persistent tensors
        if fe.kind == "htsat":
            self.bn0 = nn.BatchNorm2d(fe.n_mels, eps=1e-5)
        self.patch_embed = make_patch_embed(bb.patch_embed, bb.patch_size, bb.dims)
        stages = config.stages()
        layers = []
        for i, st in enumerate(stages):
            blocks = nn.Sequential(
                *[
                    VSSBlock(st.dim, st.inner, bb.d_state, st.dt_rank, bb.gate, bb.conv_bias, st.mlp_hidden)
                    for _ in range(st.depth)
                ]
            )
            down = make_downsample(bb.downsample, st.dim) if i < len(stages) - 1 else nn.Identity()
            layers.append(nn.Sequential(OrderedDict(blocks=blocks, downsample=down)))
        self.layers = nn.ModuleList(layers)
        last = stages[-1]
        M = config.num_classes
        if config.head.kind == "linear":
            self.classifier = Classifier(last.dim, M)
        else:
            self.classifier = Classifier(last.dim, None)
            self.tscam_conv = nn.Conv2d(
                last.dim, M, kernel_size=(last.height // config.freq_ratio, 3), padding=(0, 1)
            )
        self.apply(self._init_weights)
        self.set_scan_impl(scan_impl)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # VMamba: trunc_normal(0.02) Linear weights, zero bias; LN identity. SS2D's own
        # parameters (x_proj, dt_proj, A_logs, Ds) keep their Mamba init from SS2D.__init__.
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def set_scan_impl(self, impl: str) -> None:
        """"ref" (plain loop, model.md section 3), "chunked" (parallel autograd form, any device)
        or "fused" (numba kernel with its own backward, CPU training)."""
        if impl not in ("ref", "chunked", "fused"):
            raise ValueError(impl)
        for m in self.modules():
            if isinstance(m, SS2D):
                m.scan_impl = impl

    # ---------------------------------------------------------------- forward pieces

    def features(self, waveform: torch.Tensor) -> torch.Tensor:
        """[B, clip_samples] -> image [B, rows, cols]."""
        if self.config.frontend.kind == "htsat":
            return self.frontend(waveform, self.bn0)
        return self.frontend(waveform)

    def forward_image(self, image: torch.Tensor, intermediates: Optional[Dict[str, torch.Tensor]] = None):
        """image [B, rows, cols] -> (clip_logits [B, M], frame_logits [B, T, M] or None)."""
        x = self.patch_embed(image.unsqueeze(1))  # [B, H, W, C]
        if intermediates is not None:
            intermediates["patch_embed"] = x
        for i, layer in enumerate(self.layers):
            x = layer.blocks(x)
            if intermediates is not None:
                intermediates[f"stage{i}"] = x
            x = layer.downsample(x)
        x = self.classifier.norm(x)
        if self.config.head.kind == "linear":
            pooled = x.mean(dim=(1, 2))
            if intermediates is not None:
                intermediates["clip_embedding"] = pooled
            return self.classifier.head(pooled), None
        # token-semantic head: un-stack the freq_ratio windows
        Bsz, Hg, Wg, C = x.shape
        fr = self.config.freq_ratio
        cf = Hg // fr
        x = x.permute(0, 3, 1, 2).reshape(Bsz, C, fr, cf, Wg)  # grid row = w * cf + f
        x = x.permute(0, 1, 3, 2, 4).reshape(Bsz, C, cf, fr * Wg)  # time = w * Wg + c
        if intermediates is not None:
            # what the head reads, pooled over frequency per framewise step (docs/model.md)
            frames = x.mean(dim=2).transpose(1, 2)  # [B, T, C]
            intermediates["frame_embedding"] = frames
            intermediates["clip_embedding"] = frames.mean(dim=1)
        frame = self.tscam_conv(x).flatten(2).transpose(1, 2)  # [B, T, M]
        return frame.mean(dim=1), frame

    def forward(self, waveform: torch.Tensor, return_intermediates: bool = False) -> Dict[str, Optional[torch.Tensor]]:
        feats = self.features(waveform)
        inter: Optional[Dict[str, torch.Tensor]] = {} if return_intermediates else None
        clip, frame = self.forward_image(feats, inter)
        out: Dict[str, Optional[torch.Tensor]] = {
            "clip_logits": clip,
            "frame_logits": frame,
            "features": feats,
        }
        if inter is not None:
            out.update(inter)
        return out


def expected_tensors(model: nn.Module) -> Dict[str, torch.Size]:
    """Names and shapes of the tensors a weights file for this model holds (docs/weights.md)."""
    return {
        k: v.shape for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
    }


def count_parameters(model: nn.Module) -> int:
    """Learned parameters (bn0 running statistics are buffers and not counted)."""
    return sum(p.numel() for p in model.parameters())


def main(argv: List[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[-1].strip())
        return 2
    for path in argv:
        cfg = Config.load(path)
        m = AudioMamba(cfg)
        n = count_parameters(m)
        st = cfg.stages()
        print(
            f"{path}: {cfg.name}: {n:,} parameters ({n / 1e6:.2f}M); image {cfg.image_size}, "
            f"grids {[(s.height, s.width, s.dim) for s in st]}, frame steps {cfg.frame_steps}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
