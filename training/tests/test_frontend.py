"""Front ends against independent references: librosa / numpy for htsat, torchaudio for kaldi."""

import math

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from audiomamba.config import HtsatFrontend as HtsatCfg
from audiomamba.config import KaldiFrontend as KaldiCfg
from audiomamba.frontend import HtsatFrontend, KaldiFrontend
from make_golden import make_waveform

from _torchaudio_kaldi import load_kaldi

HTSAT_CFGS = [
    HtsatCfg(sample_rate=32000, clip_samples=40960, n_fft=1024, hop_length=320, n_mels=64,
             fmin=50.0, fmax=14000.0, target_frames=128, freq_ratio=2),  # 129 -> 128 frames
    HtsatCfg(sample_rate=32000, clip_samples=16000, n_fft=512, hop_length=200, n_mels=32,
             fmin=0.0, fmax=16000.0, target_frames=256, freq_ratio=4),  # 81 -> 256 frames
]


def numpy_logmel(y: np.ndarray, c: HtsatCfg) -> np.ndarray:
    """float64 numpy: reflect pad n_fft/2, periodic Hann, |rfft|^2, Slaney mel, 10 log10. [T, M]"""
    y = y.astype(np.float64)
    pad = c.n_fft // 2
    yp = np.pad(y, (pad, pad), mode="reflect")
    n_frames = 1 + (len(yp) - c.n_fft) // c.hop_length
    win = scipy.signal.get_window("hann", c.n_fft, fftbins=True)
    idx = np.arange(c.n_fft)[None, :] + c.hop_length * np.arange(n_frames)[:, None]
    spec = np.abs(np.fft.rfft(yp[idx] * win, axis=-1)) ** 2
    mel = librosa.filters.mel(sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin,
                              fmax=c.fmax, htk=False, norm="slaney", dtype=np.float64)
    return 10.0 * np.log10(np.maximum(spec @ mel.T, 1e-10))


def numpy_bicubic_time(x: np.ndarray, out_len: int, a: float = -0.75) -> np.ndarray:
    """Bicubic along axis 0, align_corners=True, border-clamped (torch's upsample_bicubic2d)."""
    n = x.shape[0]

    def cc1(t):
        return ((a + 2) * t - (a + 3)) * t * t + 1

    def cc2(t):
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a

    out = np.zeros((out_len,) + x.shape[1:])
    scale = (n - 1) / (out_len - 1) if out_len > 1 else 0.0
    for i in range(out_len):
        src = i * scale
        i0 = int(math.floor(src))
        t = src - i0
        w = [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)]
        for k, wk in zip(range(-1, 3), w):
            out[i] += wk * x[min(max(i0 + k, 0), n - 1)]
    return out


@pytest.mark.parametrize("cfg", HTSAT_CFGS)
def test_htsat_logmel_vs_librosa(cfg):
    y = make_waveform(cfg.clip_samples, cfg.sample_rate, seed=3)
    fe = HtsatFrontend(cfg)
    ours = fe.logmel(torch.from_numpy(y)[None])[0].numpy()  # [T, M]
    assert ours.shape == (cfg.stft_frames, cfg.n_mels)
    S = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.n_fft,
        window="hann", center=True, pad_mode="reflect", power=2.0, n_mels=cfg.n_mels,
        fmin=cfg.fmin, fmax=cfg.fmax, htk=False, norm="slaney")
    ref_librosa = librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=None).T
    ref_numpy = numpy_logmel(y, cfg)
    for ref in (ref_librosa, ref_numpy):
        scale = np.abs(ref).max()
        err = np.abs(ours - ref).max() / scale
        assert err < 1e-4, err
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("cfg", HTSAT_CFGS)
def test_htsat_image_vs_numpy(cfg):
    y = make_waveform(cfg.clip_samples, cfg.sample_rate, seed=4)
    fe = HtsatFrontend(cfg)
    bn = torch.nn.BatchNorm2d(cfg.n_mels).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        bn.running_mean.copy_(-30.0 + 5.0 * torch.randn(cfg.n_mels, generator=g))
        bn.running_var.copy_(100.0 * torch.rand(cfg.n_mels, generator=g) + 50.0)
        bn.weight.copy_(1.0 + 0.2 * torch.randn(cfg.n_mels, generator=g))
        bn.bias.copy_(0.1 * torch.randn(cfg.n_mels, generator=g))
        ours = fe(torch.from_numpy(y)[None], bn)[0].numpy()
    rows, cols = cfg.image_size
    assert ours.shape == (rows, cols)
    lm = numpy_logmel(y, cfg)
    p = {k: v.detach().double().numpy() for k, v in bn.state_dict().items() if v.dim() == 1}
    spec = (lm - p["running_mean"]) / np.sqrt(p["running_var"] + 1e-5) * p["weight"] + p["bias"]
    spec = numpy_bicubic_time(spec, cfg.target_frames)
    ref = np.zeros((rows, cols))
    for w in range(cfg.freq_ratio):
        for m in range(cfg.n_mels):
            ref[w * cfg.n_mels + m, :] = spec[w * cols:(w + 1) * cols, m]
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_bicubic_identity_when_equal():
    cfg = HtsatCfg(sample_rate=32000, clip_samples=40640, n_fft=1024, hop_length=320, n_mels=16,
                   fmin=50.0, fmax=14000.0, target_frames=128, freq_ratio=1)
    assert cfg.stft_frames == 128
    fe = HtsatFrontend(cfg)
    x = torch.randn(2, 128, 16)
    assert torch.equal(fe.to_image(x), x.transpose(1, 2))


KALDI_CFGS = [
    KaldiCfg(sample_rate=16000, clip_samples=16000, n_mels=32, target_frames=128,
             norm_mean=-4.2677393, norm_std=4.5689974),  # 98 frames, padded
    KaldiCfg(sample_rate=16000, clip_samples=22000, n_mels=64, target_frames=128,
             norm_mean=-4.2677393, norm_std=4.5689974),  # 136 frames, cropped
    KaldiCfg(sample_rate=22050, clip_samples=22050, n_mels=40, target_frames=100,
             norm_mean=-4.0, norm_std=4.0),  # window 551 -> FFT 1024
]


@pytest.mark.parametrize("cfg", KALDI_CFGS)
def test_kaldi_vs_torchaudio(cfg):
    kaldi = load_kaldi()
    y = torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=5))
    ours = KaldiFrontend(cfg)(y[None])[0]  # [n_mels, target]
    # AST / DASS make_features, with torchaudio called directly
    w = (y - y.mean())[None]
    fb = kaldi.fbank(w, htk_compat=True, sample_frequency=cfg.sample_rate, use_energy=False,
                     window_type="hanning", num_mel_bins=cfg.n_mels, dither=0.0, frame_shift=10)
    assert fb.shape[0] == cfg.num_frames
    p = cfg.target_frames - fb.shape[0]
    if p > 0:
        fb = torch.nn.ZeroPad2d((0, 0, 0, p))(fb)
    elif p < 0:
        fb = fb[:cfg.target_frames]
    ref = (fb - cfg.norm_mean) / (cfg.norm_std * 2)
    assert ours.shape == (cfg.n_mels, cfg.target_frames)
    torch.testing.assert_close(ours, ref.T, rtol=1e-5, atol=1e-5)


def test_frontends_batch_and_grad():
    for cfg, fe in ((HTSAT_CFGS[0], HtsatFrontend(HTSAT_CFGS[0])), (KALDI_CFGS[0], KaldiFrontend(KALDI_CFGS[0]))):
        ys = torch.stack([torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=s))
                          for s in (1, 2, 3)])
        ys.requires_grad_(True)
        if cfg.kind == "htsat":
            bn = torch.nn.BatchNorm2d(cfg.n_mels).eval()
            out = fe(ys, bn)
            single = [fe(ys[i:i + 1], bn) for i in range(3)]
        else:
            out = fe(ys)
            single = [fe(ys[i:i + 1]) for i in range(3)]
        for i in range(3):
            torch.testing.assert_close(out[i:i + 1], single[i], rtol=1e-5, atol=1e-5)
        out.square().mean().backward()
        assert ys.grad is not None and torch.isfinite(ys.grad).all() and ys.grad.abs().sum() > 0
