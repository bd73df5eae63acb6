"""Write / read the Audio Mamba weight format (docs/weights.md).

    python -m audiomamba.export --config CONFIG.json --out MODEL.safetensors [--dtype f32|f16|bf16]
            [--checkpoint STATE_DICT.pt] [--seed N]      # random VMamba init without --checkpoint
    python -m audiomamba.export --check MODEL.safetensors   # load + validate, print a summary
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Optional, Tuple

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import CONFIG_KEY, Config
from .model import AudioMamba, count_parameters, expected_tensors

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


class WeightsError(ValueError):
    pass


def model_tensors(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """State dict without num_batches_tracked, as stored in the file."""
    return {
        k: v.detach()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


def validate_tensors(config: Config, tensors: Dict[str, torch.Tensor]) -> None:
    """Every expected tensor present, expected shape, float dtype; nothing left over."""
    expected = expected_tensors(AudioMamba(config))
    errors: List[str] = []
    for name, shape in expected.items():
        if name not in tensors:
            errors.append(f"missing tensor `{name}` (expected shape {list(shape)})")
            continue
        t = tensors[name]
        if tuple(t.shape) != tuple(shape):
            errors.append(
                f"tensor `{name}` has shape {list(t.shape)}, expected {list(shape)}"
            )
        if t.dtype not in FLOAT_DTYPES:
            errors.append(f"tensor `{name}` has dtype {t.dtype}, expected F32, F16 or BF16")
    extra = sorted(set(tensors) - set(expected))
    for name in extra:
        errors.append(f"unexpected tensor `{name}` (shape {list(tensors[name].shape)})")
    if errors:
        raise WeightsError("weights do not match the config:\n  " + "\n  ".join(errors))


def export(
    model: AudioMamba,
    config: Optional[Config],
    path: str,
    dtype: str = "f32",
) -> None:
    """Write the model's tensors in `dtype` (f32 | f16 | bf16) plus the config JSON metadata."""
    config = config or model.config
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    tensors = {k: v.to(DTYPES[dtype]).contiguous().cpu() for k, v in model_tensors(model).items()}
    validate_tensors(config, tensors)
    save_file(tensors, path, metadata={CONFIG_KEY: config.to_json()})


def read(path: str) -> Tuple[Config, Dict[str, torch.Tensor]]:
    """Config and raw tensors (file dtypes) of a weights file."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if CONFIG_KEY not in meta:
            raise WeightsError(f"{path}: no `{CONFIG_KEY}` metadata; not an Audio Mamba weights file")
        config = Config.from_json(meta[CONFIG_KEY])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return config, tensors


def load(path: str, scan_impl: str = "chunked") -> AudioMamba:
    """Load, validate (names, shapes, dtypes), convert to f32; returns the model in eval mode."""
    config, tensors = read(path)
    validate_tensors(config, tensors)
    model = AudioMamba(config, scan_impl=scan_impl)
    sd = {k: v.float() for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)
    return model.eval()


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m audiomamba.export", description=__doc__.split("\n")[1])
    ap.add_argument("--config", help="config JSON")
    ap.add_argument("--out", help="output .safetensors")
    ap.add_argument("--dtype", default="f32", choices=list(DTYPES))
    ap.add_argument("--checkpoint", help="PyTorch state dict of an AudioMamba (our names), or a training "
                    "checkpoint holding one under `model`; default: random init")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", metavar="MODEL", help="load and validate a weights file, print a summary")
    a = ap.parse_args(argv)
    if a.check:
        m = load(a.check)
        c = m.config
        print(f"{a.check}: {c.name} v{c.version}, {count_parameters(m):,} parameters, "
              f"{c.num_classes} classes, frontend {c.frontend.kind}, head {c.head.kind}, image {c.image_size}")
        return 0
    if not (a.config and a.out):
        ap.error("--config and --out are required (or --check MODEL)")
    cfg = Config.load(a.config)
    torch.manual_seed(a.seed)
    model = AudioMamba(cfg)
    if a.checkpoint:
        sd = torch.load(a.checkpoint, map_location="cpu", weights_only=True)
        if isinstance(sd.get("model"), dict):  # a train.py / train_hits.py checkpoint
            sd = sd["model"]
        sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
        validate_tensors(cfg, sd)
        model.load_state_dict(sd, strict=False)
    export(model, cfg, a.out, a.dtype)
    print(f"wrote {a.out} ({count_parameters(model):,} parameters, {a.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
