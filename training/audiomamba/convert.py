"""Convert a PyTorch checkpoint (VMamba / HTS-AT / DASS layouts) to the Audio Mamba format.

    python -m audiomamba.convert CKPT.pth --config CONFIG.json --out MODEL.safetensors [--dtype f32]

CKPT is a `.pth`/`.pt` (read with torch.load(weights_only=True)) or a `.safetensors` file.
- wrapper keys `state_dict` / `model` (training checkpoints) are unwrapped; other top-level
  entries (optimizer, epoch, ...) are dropped;
- name prefixes `module.v.` (DASS), `module.` (DataParallel), `sed_model.` (HTS-AT's Lightning
  wrapper), `model.` are stripped;
- HTS-AT's names become ours: its `PatchEmbed` (`patch_embed.proj.*`, `patch_embed.norm.*`) is
  the v1 patch embedding (`patch_embed.0.*`, `patch_embed.2.*`), its final `norm.*` becomes
  `classifier.norm.*`; VMamba `classifier.*` names stay;
- tensors the format does not use (num_batches_tracked, relative_position_*, attn_mask, HTS-AT's
  STFT and mel buffers, its unused `head.*`, anything else not named in docs/weights.md) are
  dropped and listed;
- the result is validated (names, shapes, float dtypes) like the Rust loader and written with
  the config in the metadata; a failed validation lists what was dropped, since a tensor it
  misses is often one dropped under a name it did not know.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Tuple

import torch

from .config import Config
from .export import DTYPES, validate_tensors, WeightsError
from .model import AudioMamba, expected_tensors

PREFIXES = ("module.v.", "module.", "sed_model.", "model.")
# HTS-AT (htsat.py) name -> ours: its PatchEmbed is a conv `proj` and a LayerNorm `norm`, our v1
# patch embedding the same two as Sequential items 0 and 2; its final LayerNorm is top-level.
HTSAT_RENAMES = (("patch_embed.proj.", "patch_embed.0."), ("patch_embed.norm.", "patch_embed.2."),
                 ("norm.", "classifier.norm."))
# HTS-AT's torchlibrosa front end is stored as buffers; the format computes its front end itself.
FRONTEND_BUFFERS = ("spectrogram_extractor.", "logmel_extractor.")
WRAPPER_KEYS = ("state_dict", "model")


def read_checkpoint(path: str) -> Tuple[Dict[str, Any], List[str]]:
    """Raw flat mapping name -> value, plus notes on unwrapped / dropped top-level entries."""
    notes: List[str] = []
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return dict(load_file(path)), notes
    obj = torch.load(path, map_location="cpu", weights_only=True)
    while isinstance(obj, dict):
        wrapper = next(
            (k for k in WRAPPER_KEYS if k in obj and isinstance(obj[k], dict)), None
        )
        if wrapper is None or all(torch.is_tensor(v) for v in obj.values()):
            break
        others = [k for k in obj if k != wrapper]
        notes.append(f"unwrapped `{wrapper}`" + (f", dropped top-level {others}" if others else ""))
        obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: expected a state dict, got {type(obj).__name__}")
    return obj, notes


def strip_prefix(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for p in PREFIXES:
            if name.startswith(p):
                name = name[len(p):]
                changed = True
                break
    return name


def map_state_dict(
    raw: Dict[str, Any], config: Config
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Rename to our names and keep exactly the tensors the config needs.

    Returns (tensors, dropped) where dropped lists "original name (reason)".
    """
    expected = expected_tensors(AudioMamba(config))
    out: Dict[str, torch.Tensor] = {}
    dropped: List[str] = []
    for key, value in raw.items():
        if not torch.is_tensor(value):
            dropped.append(f"{key} (not a tensor)")
            continue
        name = strip_prefix(key)
        for theirs, ours in HTSAT_RENAMES:
            if name.startswith(theirs):
                name = ours + name[len(theirs):]
                break
        if name.startswith(FRONTEND_BUFFERS):
            dropped.append(f"{key} (front-end buffer: the format computes its own front end)")
            continue
        if name.endswith("num_batches_tracked"):
            dropped.append(f"{key} (num_batches_tracked)")
            continue
        if "relative_position" in name or "attn_mask" in name:
            dropped.append(f"{key} (attention buffer)")
            continue
        if name not in expected:
            dropped.append(f"{key} (not used by the format)")
            continue
        if name in out:
            raise WeightsError(f"two checkpoint tensors map to `{name}` (second: `{key}`)")
        if not value.is_floating_point():
            raise WeightsError(f"tensor `{key}` has dtype {value.dtype}, expected a float")
        out[name] = value.detach().cpu()
    try:
        validate_tensors(config, out)
    except WeightsError as e:
        if dropped:
            raise WeightsError(f"{e}\ndropped {len(dropped)} checkpoint entries:\n  " + "\n  ".join(dropped)) from None
        raise
    return out, dropped


def convert(
    ckpt_path: str, config: Config, out_path: str, dtype: str = "f32", verbose: bool = True
) -> Tuple[AudioMamba, List[str]]:
    from .export import export

    raw, notes = read_checkpoint(ckpt_path)
    tensors, dropped = map_state_dict(raw, config)
    model = AudioMamba(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    model.eval()
    export(model, config, out_path, dtype)
    if verbose:
        for n in notes:
            print(n)
        if dropped:
            print(f"dropped {len(dropped)} checkpoint entries:")
            for d in dropped:
                print(f"  {d}")
        print(f"wrote {out_path}: {len(tensors)} tensors ({dtype})")
    return model, notes + dropped


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m audiomamba.convert", description=__doc__.split("\n")[1])
    ap.add_argument("checkpoint")
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="f32", choices=list(DTYPES))
    a = ap.parse_args(argv)
    try:
        convert(a.checkpoint, Config.load(a.config), a.out, a.dtype)
    except WeightsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
