"""Front ends: waveform batch [B, clip_samples] -> image [B, rows, cols] (docs/weights.md).

`HtsatFrontend`: HTS-AT / PANNs log-mel (periodic Hann STFT, centered reflect pad, power,
librosa Slaney mel, 10*log10(max(., 1e-10))), then bn0 (owned by the model, passed in), bicubic
time resize to target_frames (align_corners=True), then freq_ratio windows stacked along frequency.

`KaldiFrontend`: AST / DASS Kaldi fbank, a batched differentiable re-implementation of
torchaudio.compliance.kaldi.fbank(htk_compat=True, use_energy=False, window_type='hanning',
dither=0, frame_shift=10, num_mel_bins=n_mels) on the mean-subtracted waveform, zero-padded or
cropped to target_frames, normalised (x - mean) / (2 * std), transposed to (mel rows, time cols).
tests/test_frontend.py checks it against torchaudio called directly.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import HtsatFrontend as HtsatConfig
from .config import KaldiFrontend as KaldiConfig


def slaney_mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa.filters.mel(htk=False, norm='slaney'): [n_mels, n_fft // 2 + 1] float32."""
    import librosa

    return librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False, norm="slaney"
    ).astype(np.float32)


class HtsatFrontend(nn.Module):
    def __init__(self, cfg: HtsatConfig):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", torch.hann_window(cfg.n_fft, periodic=True), persistent=False)
        mel = slaney_mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
        self.register_buffer("mel_basis", torch.from_numpy(mel), persistent=False)  # [M, bins]

    def power_spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] -> |STFT|^2 [B, frames, bins]."""
        c = self.cfg
        X = torch.stft(
            wave.float(),
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            win_length=c.n_fft,
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        return (X.real.square() + X.imag.square()).transpose(1, 2)

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] -> log-mel in dB [B, frames, n_mels] (before bn0)."""
        power = self.power_spectrogram(wave)
        mel = torch.matmul(power, self.mel_basis.t())
        return 10.0 * torch.log10(torch.clamp(mel, min=1e-10))

    def to_image(self, spec: torch.Tensor) -> torch.Tensor:
        """[B, frames, n_mels] (after bn0) -> resize to target_frames -> stacked [B, rows, cols]."""
        c = self.cfg
        b, t, m = spec.shape
        x = F.interpolate(
            spec.unsqueeze(1), size=(c.target_frames, m), mode="bicubic", align_corners=True
        ).squeeze(1)  # [B, target, M]
        cols = c.target_frames // c.freq_ratio
        x = x.reshape(b, c.freq_ratio, cols, m).permute(0, 1, 3, 2)  # [B, w, M, cols]
        return x.reshape(b, c.freq_ratio * m, cols)

    def forward(self, wave: torch.Tensor, bn0: nn.Module) -> torch.Tensor:
        x = self.logmel(wave)  # [B, T, M]
        # BatchNorm2d over the mel bins (HTS-AT: x.transpose(1, 3) -> [B, M, T, 1])
        x = bn0(x.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        return self.to_image(x)


def kaldi_mel_banks(num_bins: int, padded: int, sr: float, low_freq: float = 20.0, high_freq: float = 0.0) -> torch.Tensor:
    """Kaldi/HTK triangular mel banks as torchaudio's get_mel_banks (no VTLN): [num_bins, padded/2 + 1]
    (the Nyquist column is zero)."""
    num_fft_bins = padded / 2
    nyquist = 0.5 * sr
    if high_freq <= 0.0:
        high_freq += nyquist
    fft_bin_width = sr / padded
    mel_low = 1127.0 * math.log(1.0 + low_freq / 700.0)
    mel_high = 1127.0 * math.log(1.0 + high_freq / 700.0)
    delta = (mel_high - mel_low) / (num_bins + 1)
    b = torch.arange(num_bins, dtype=torch.float32).unsqueeze(1)
    left = mel_low + b * delta
    center = mel_low + (b + 1.0) * delta
    right = mel_low + (b + 2.0) * delta
    mel = 1127.0 * (1.0 + (fft_bin_width * torch.arange(num_fft_bins, dtype=torch.float32)) / 700.0).log()
    mel = mel.unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return F.pad(banks, (0, 1))


class KaldiFrontend(nn.Module):
    def __init__(self, cfg: KaldiConfig):
        super().__init__()
        self.cfg = cfg
        ws, pw = cfg.window_size, cfg.padded_window_size
        self.register_buffer("window", torch.hann_window(ws, periodic=False), persistent=False)
        self.register_buffer(
            "mel_banks", kaldi_mel_banks(cfg.n_mels, pw, float(cfg.sample_rate)), persistent=False
        )

    def fbank(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, N] -> log mel fbank [B, frames, n_mels] (no mean subtraction, no pad, no norm)."""
        c = self.cfg
        ws, shift, pw = c.window_size, c.window_shift, c.padded_window_size
        frames = wave.float().unfold(-1, ws, shift)  # [B, F, ws] (snip_edges)
        frames = frames - frames.mean(dim=-1, keepdim=True)  # per-frame DC removal
        prev = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)  # replicate-padded shift
        frames = frames - 0.97 * prev  # pre-emphasis
        frames = frames * self.window
        frames = F.pad(frames, (0, pw - ws))
        power = torch.fft.rfft(frames).abs().pow(2.0)  # [B, F, pw/2 + 1]
        mel = torch.matmul(power, self.mel_banks.t())
        eps = torch.finfo(torch.float32).eps
        return torch.clamp(mel, min=eps).log()

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        wave = wave.float()
        wave = wave - wave.mean(dim=-1, keepdim=True)
        x = self.fbank(wave)  # [B, F, M]
        n = x.shape[1]
        if n < c.target_frames:
            x = F.pad(x, (0, 0, 0, c.target_frames - n))
        elif n > c.target_frames:
            x = x[:, : c.target_frames]
        x = (x - c.norm_mean) / (c.norm_std * 2.0)
        return x.transpose(1, 2)  # [B, n_mels, target_frames]


def make_frontend(cfg) -> nn.Module:
    if cfg.kind == "htsat":
        return HtsatFrontend(cfg)
    if cfg.kind == "kaldi":
        return KaldiFrontend(cfg)
    raise ValueError(cfg.kind)
