"""Model configuration: the JSON stored in a weights file (docs/weights.md), as dataclasses.

Every key is required, unknown keys are rejected, and `format_version` greater than
FORMAT_VERSION is refused. The validation rules mirror the Rust loader (`engine/src/config.rs`),
so a config accepted here is accepted there.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple, Union

FORMAT = "audio-mamba"
FORMAT_VERSION = 1
CONFIG_KEY = "audio_mamba_config"

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
AUDIOSET_LABELS_CSV = os.path.join(DATA_DIR, "class_labels_indices.csv")


class ConfigError(ValueError):
    pass


# --------------------------------------------------------------------------- JSON helpers


def _check_keys(d: Any, cls, where: str) -> None:
    """Exactly the dataclass's init fields (front ends: their `kind` is consumed by the caller)."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(d).__name__}")
    names = [f.name for f in fields(cls) if f.init]
    unknown = [k for k in d if k not in names]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {names}")
    missing = [n for n in names if n not in d]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}: expected an integer, got {v!r}")
    if v < 0:
        raise ConfigError(f"{where}: must be >= 0, got {v}")
    return v


def _float(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {v!r}")
    return float(v)


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{where}: expected a string, got {v!r}")
    return v


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{where}: expected true/false, got {v!r}")
    return v


def _choice(v: Any, allowed: Tuple[str, ...], where: str) -> str:
    if v not in allowed:
        raise ConfigError(f"{where}: expected one of {list(allowed)}, got {v!r}")
    return v


def _num_json(x: float) -> Union[int, float]:
    """Float-typed keys are always written as JSON floats (2 -> 2.0)."""
    return float(x)


# --------------------------------------------------------------------------- sections


@dataclass
class HtsatFrontend:
    sample_rate: int = 32000
    clip_samples: int = 320000
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 14000.0
    target_frames: int = 1024
    freq_ratio: int = 4
    kind: str = field(default="htsat", init=False, repr=False)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "HtsatFrontend":
        w = "frontend(htsat)"
        _check_keys(d, cls, w)
        return cls(
            sample_rate=_int(d["sample_rate"], f"{w}.sample_rate"),
            clip_samples=_int(d["clip_samples"], f"{w}.clip_samples"),
            n_fft=_int(d["n_fft"], f"{w}.n_fft"),
            hop_length=_int(d["hop_length"], f"{w}.hop_length"),
            n_mels=_int(d["n_mels"], f"{w}.n_mels"),
            fmin=_float(d["fmin"], f"{w}.fmin"),
            fmax=_float(d["fmax"], f"{w}.fmax"),
            target_frames=_int(d["target_frames"], f"{w}.target_frames"),
            freq_ratio=_int(d["freq_ratio"], f"{w}.freq_ratio"),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": "htsat",
            "sample_rate": self.sample_rate,
            "clip_samples": self.clip_samples,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "n_mels": self.n_mels,
            "fmin": _num_json(self.fmin),
            "fmax": _num_json(self.fmax),
            "target_frames": self.target_frames,
            "freq_ratio": self.freq_ratio,
        }

    @property
    def stft_frames(self) -> int:
        """Frames of the centered STFT: 1 + clip_samples // hop_length."""
        return 1 + self.clip_samples // self.hop_length

    @property
    def image_size(self) -> Tuple[int, int]:
        return self.n_mels * self.freq_ratio, self.target_frames // self.freq_ratio

    def validate(self) -> None:
        if self.sample_rate == 0 or self.clip_samples == 0 or self.n_fft < 2 or self.hop_length == 0:
            raise ConfigError("htsat front end needs positive sample_rate, clip_samples, n_fft, hop_length")
        if self.n_mels == 0 or not (self.fmin >= 0.0 and self.fmax > self.fmin):
            raise ConfigError("htsat front end needs n_mels > 0 and 0 <= fmin < fmax")
        if self.freq_ratio == 0 or self.target_frames % self.freq_ratio != 0:
            raise ConfigError("target_frames must be a multiple of freq_ratio")
        if self.clip_samples <= self.n_fft // 2:
            raise ConfigError("clip_samples must exceed n_fft/2 (reflect padding)")


@dataclass
class KaldiFrontend:
    sample_rate: int = 16000
    clip_samples: int = 163840
    n_mels: int = 128
    target_frames: int = 1024
    norm_mean: float = -4.2677393
    norm_std: float = 4.5689974
    kind: str = field(default="kaldi", init=False, repr=False)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "KaldiFrontend":
        w = "frontend(kaldi)"
        _check_keys(d, cls, w)
        return cls(
            sample_rate=_int(d["sample_rate"], f"{w}.sample_rate"),
            clip_samples=_int(d["clip_samples"], f"{w}.clip_samples"),
            n_mels=_int(d["n_mels"], f"{w}.n_mels"),
            target_frames=_int(d["target_frames"], f"{w}.target_frames"),
            norm_mean=_float(d["norm_mean"], f"{w}.norm_mean"),
            norm_std=_float(d["norm_std"], f"{w}.norm_std"),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": "kaldi",
            "sample_rate": self.sample_rate,
            "clip_samples": self.clip_samples,
            "n_mels": self.n_mels,
            "target_frames": self.target_frames,
            "norm_mean": self.norm_mean,
            "norm_std": self.norm_std,
        }

    freq_ratio = 1

    @property
    def window_size(self) -> int:
        """25 ms frame in samples (Kaldi: int(sr * 0.025))."""
        return int(self.sample_rate * 0.025)

    @property
    def window_shift(self) -> int:
        return int(self.sample_rate * 0.010)

    @property
    def padded_window_size(self) -> int:
        return 1 << (self.window_size - 1).bit_length()

    @property
    def num_frames(self) -> int:
        """Fbank frames before padding / cropping (snip_edges)."""
        if self.clip_samples < self.window_size:
            return 0
        return 1 + (self.clip_samples - self.window_size) // self.window_shift

    @property
    def image_size(self) -> Tuple[int, int]:
        return self.n_mels, self.target_frames

    def validate(self) -> None:
        if self.sample_rate < 1000 or self.n_mels == 0 or self.target_frames == 0:
            raise ConfigError("kaldi front end needs sample_rate >= 1000, n_mels > 0, target_frames > 0")
        if self.norm_std == 0.0:
            raise ConfigError("norm_std must not be 0")
        if self.clip_samples < self.sample_rate // 40:
            raise ConfigError("clip_samples shorter than one 25 ms frame")
        if self.n_mels <= 3:
            raise ConfigError("kaldi front end needs more than 3 mel bins")


Frontend = Union[HtsatFrontend, KaldiFrontend]


@dataclass
class StageGeometry:
    height: int
    width: int
    dim: int
    inner: int
    dt_rank: int
    mlp_hidden: int
    depth: int


@dataclass
class Backbone:
    patch_embed: str = "v1"
    patch_size: int = 4
    dims: int = 96
    depths: List[int] = field(default_factory=lambda: [2, 2, 9, 2])
    d_state: int = 16
    ssm_ratio: float = 2.0
    dt_rank: Union[str, int] = "auto"
    gate: str = "z"
    conv_bias: bool = True
    mlp_ratio: float = 0.0
    downsample: str = "merge"

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Backbone":
        w = "backbone"
        _check_keys(d, cls, w)
        depths = d["depths"]
        if not isinstance(depths, list):
            raise ConfigError(f"{w}.depths: expected a list of integers, got {depths!r}")
        dt_rank = d["dt_rank"]
        if dt_rank != "auto":
            dt_rank = _int(dt_rank, f"{w}.dt_rank (\"auto\" or an integer)")
        return cls(
            patch_embed=_choice(d["patch_embed"], ("v1", "v2"), f"{w}.patch_embed"),
            patch_size=_int(d["patch_size"], f"{w}.patch_size"),
            dims=_int(d["dims"], f"{w}.dims"),
            depths=[_int(x, f"{w}.depths[{i}]") for i, x in enumerate(depths)],
            d_state=_int(d["d_state"], f"{w}.d_state"),
            ssm_ratio=_float(d["ssm_ratio"], f"{w}.ssm_ratio"),
            dt_rank=dt_rank,
            gate=_choice(d["gate"], ("z", "none"), f"{w}.gate"),
            conv_bias=_bool(d["conv_bias"], f"{w}.conv_bias"),
            mlp_ratio=_float(d["mlp_ratio"], f"{w}.mlp_ratio"),
            downsample=_choice(d["downsample"], ("merge", "conv"), f"{w}.downsample"),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "patch_embed": self.patch_embed,
            "patch_size": self.patch_size,
            "dims": self.dims,
            "depths": list(self.depths),
            "d_state": self.d_state,
            "ssm_ratio": _num_json(self.ssm_ratio),
            "dt_rank": self.dt_rank,
            "gate": self.gate,
            "conv_bias": self.conv_bias,
            "mlp_ratio": _num_json(self.mlp_ratio),
            "downsample": self.downsample,
        }

    def stage_dim(self, i: int) -> int:
        return self.dims * (2**i)

    def inner(self, i: int) -> int:
        return int(math.floor(self.ssm_ratio * self.stage_dim(i)))

    def rank(self, i: int) -> int:
        if self.dt_rank == "auto":
            return math.ceil(self.stage_dim(i) / 16)
        return int(self.dt_rank)

    def mlp_hidden(self, i: int) -> int:
        return int(math.floor(self.mlp_ratio * self.stage_dim(i)))

    def validate(self) -> None:
        if not self.depths or self.dims == 0 or self.d_state == 0 or self.ssm_ratio <= 0.0:
            raise ConfigError("backbone needs dims, d_state, ssm_ratio > 0 and at least one stage")
        if self.mlp_ratio < 0.0:
            raise ConfigError("mlp_ratio must be >= 0")
        if self.patch_size == 0:
            raise ConfigError("patch_size must be > 0")
        if self.patch_embed == "v2" and self.patch_size != 4:
            raise ConfigError("patch_embed v2 needs patch_size 4")
        if self.patch_embed == "v2" and self.dims % 2 != 0:
            raise ConfigError("patch_embed v2 needs an even dims (first conv has dims/2 channels)")
        if self.dt_rank != "auto" and int(self.dt_rank) == 0:
            raise ConfigError("dt_rank must be > 0")
        for i in range(len(self.depths)):
            if self.inner(i) == 0:
                raise ConfigError("ssm_ratio * dims rounds to 0")


@dataclass
class Head:
    kind: str = "tscam"

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Head":
        _check_keys(d, cls, "head")
        return cls(kind=_choice(d["kind"], ("tscam", "linear"), "head.kind"))

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind}


@dataclass
class Label:
    name: str
    mid: str

    @classmethod
    def from_dict(cls, d: Dict[str, Any], i: int) -> "Label":
        _check_keys(d, cls, f"labels[{i}]")
        return cls(name=_str(d["name"], f"labels[{i}].name"), mid=_str(d["mid"], f"labels[{i}].mid"))

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "mid": self.mid}


# --------------------------------------------------------------------------- whole config


def _onset_pre(d: Any) -> float:
    if not isinstance(d, dict) or list(d) != ["pre_seconds"]:
        raise ConfigError('onset: expected {"pre_seconds": number}')
    return _float(d["pre_seconds"], "onset.pre_seconds")


@dataclass
class Config:
    name: str
    version: str
    frontend: Frontend
    backbone: Backbone
    head: Head
    labels: List[Label]
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    # Models of one drum hit (configs/hits.json): the window starts this long before the onset.
    # Optional, written only when set; tagging models have none.
    onset_pre_seconds: Optional[float] = None

    # ---- parsing

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Config":
        if not isinstance(d, dict):
            raise ConfigError("config: expected a JSON object")
        # Version first, so a future file gets the version error rather than a schema error.
        fv = d.get("format_version")
        if isinstance(fv, int) and not isinstance(fv, bool) and fv > FORMAT_VERSION:
            raise ConfigError(
                f"config format_version {fv} is newer than this loader's {FORMAT_VERSION}"
            )
        allowed = ("format", "format_version", "name", "version", "frontend", "backbone", "head", "labels")
        unknown = [k for k in d if k not in allowed + ("onset",)]
        if unknown:
            raise ConfigError(f"config: unknown key(s) {unknown}; allowed: {list(allowed) + ['onset']}")
        missing = [k for k in allowed if k not in d]
        if missing:
            raise ConfigError(f"config: missing key(s) {missing}")
        fe = d["frontend"]
        if not isinstance(fe, dict) or "kind" not in fe:
            raise ConfigError("frontend: expected an object with a \"kind\"")
        kind = _choice(fe["kind"], ("htsat", "kaldi"), "frontend.kind")
        fe_rest = {k: v for k, v in fe.items() if k != "kind"}
        frontend: Frontend
        if kind == "htsat":
            frontend = HtsatFrontend.from_dict(fe_rest)
        else:
            frontend = KaldiFrontend.from_dict(fe_rest)
        labels = d["labels"]
        if not isinstance(labels, list):
            raise ConfigError("labels: expected a list")
        cfg = cls(
            format=_str(d["format"], "format"),
            format_version=_int(d["format_version"], "format_version"),
            name=_str(d["name"], "name"),
            version=_str(d["version"], "version"),
            frontend=frontend,
            backbone=Backbone.from_dict(d["backbone"]),
            head=Head.from_dict(d["head"]),
            labels=[Label.from_dict(x, i) for i, x in enumerate(labels)],
            onset_pre_seconds=_onset_pre(d["onset"]) if "onset" in d else None,
        )
        cfg.validate()
        return cfg

    @classmethod
    def from_json(cls, text: str) -> "Config":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"config is not valid JSON: {e}") from e
        return cls.from_dict(d)

    @classmethod
    def load(cls, path: str) -> "Config":
        with open(path, "r", encoding="utf-8") as f:
            return cls.from_json(f.read())

    def to_dict(self) -> Dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "name": self.name,
            "version": self.version,
            "frontend": self.frontend.to_dict(),
            "backbone": self.backbone.to_dict(),
            "head": self.head.to_dict(),
            "labels": [l.to_dict() for l in self.labels],
            **({"onset": {"pre_seconds": _num_json(self.onset_pre_seconds)}}
               if self.onset_pre_seconds is not None else {}),
        }

    def to_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_pretty_json(self) -> str:
        """Readable form for config files: one section key per line, one label per line."""
        d = self.to_dict()
        lines = ["{"]
        items = list(d.items())
        for i, (k, v) in enumerate(items):
            comma = "," if i + 1 < len(items) else ""
            if isinstance(v, dict):
                inner = [f'    {json.dumps(kk)}: {json.dumps(vv, ensure_ascii=False)}' for kk, vv in v.items()]
                lines.append(f"  {json.dumps(k)}: {{")
                lines.append(",\n".join(inner))
                lines.append(f"  }}{comma}")
            elif isinstance(v, list):
                lines.append(f"  {json.dumps(k)}: [")
                lines.append(",\n".join(f"    {json.dumps(x, ensure_ascii=False)}" for x in v))
                lines.append(f"  ]{comma}")
            else:
                lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_pretty_json())

    # ---- derived quantities

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def clip_samples(self) -> int:
        return self.frontend.clip_samples

    @property
    def freq_ratio(self) -> int:
        return self.frontend.freq_ratio

    @property
    def image_size(self) -> Tuple[int, int]:
        """(rows, cols) of the image the backbone sees."""
        return self.frontend.image_size

    def stages(self) -> List[StageGeometry]:
        b = self.backbone
        rows, cols = self.image_size
        h, w = rows // b.patch_size, cols // b.patch_size
        out = []
        for i, depth in enumerate(b.depths):
            out.append(
                StageGeometry(
                    height=h,
                    width=w,
                    dim=b.stage_dim(i),
                    inner=b.inner(i),
                    dt_rank=b.rank(i),
                    mlp_hidden=b.mlp_hidden(i),
                    depth=depth,
                )
            )
            h //= 2
            w //= 2
        return out

    @property
    def frame_steps(self) -> Optional[int]:
        """Framewise output steps of the token-semantic head (None for the linear head)."""
        if self.head.kind != "tscam":
            return None
        return self.stages()[-1].width * self.freq_ratio

    def validate(self) -> None:
        if self.format != FORMAT:
            raise ConfigError(f"`format` is {self.format!r}, expected {FORMAT!r}")
        if self.format_version > FORMAT_VERSION:
            raise ConfigError(
                f"config format_version {self.format_version} is newer than this loader's {FORMAT_VERSION}"
            )
        if not self.labels:
            raise ConfigError("no labels")
        self.backbone.validate()
        self.frontend.validate()
        b = self.backbone
        rows, cols = self.image_size
        factor = b.patch_size * (2 ** (len(b.depths) - 1))
        if rows % factor != 0 or cols % factor != 0:
            raise ConfigError(
                f"image {rows}x{cols} is not divisible by patch_size * 2^(stages-1) = {factor}"
            )
        if self.head.kind == "tscam":
            last = self.stages()[-1]
            if last.height % self.freq_ratio != 0:
                raise ConfigError(
                    f"token-semantic head: final grid height {last.height} is not divisible by "
                    f"freq_ratio {self.freq_ratio}"
                )
        if self.onset_pre_seconds is not None:
            clip_s = self.clip_samples / self.sample_rate
            if not 0.0 <= self.onset_pre_seconds < clip_s:
                raise ConfigError(
                    f"onset.pre_seconds {self.onset_pre_seconds} must lie in [0, {clip_s:g}) (the window)"
                )


# --------------------------------------------------------------------------- labels


def audioset_labels(indices: Optional[List[int]] = None, path: str = AUDIOSET_LABELS_CSV) -> List[Label]:
    """AudioSet labels (name, MID) from class_labels_indices.csv, all 527 or a selection."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["index"]))
    labels = [Label(name=r["display_name"], mid=r["mid"]) for r in rows]
    if indices is None:
        return labels
    return [labels[i] for i in indices]
