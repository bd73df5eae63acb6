"""The hit classifier's kit randomisation: each transform changes the sound, not the label."""
import torch

from hit_augment import augment, random_eq, saturate, shorter_decay

SR = 32000


def _burst(b=6, n=8192, onset=640, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n).float()
    env = torch.where(t >= onset, torch.exp(-(t - onset) / 3000.0), torch.zeros(()))
    return torch.randn(b, n, generator=g) * env


def test_random_eq_with_flat_gains_is_identity_and_otherwise_changes_the_spectrum():
    x = _burst()
    g = torch.Generator().manual_seed(1)
    assert torch.allclose(random_eq(x, SR, g, db=0.0), x, atol=1e-5)
    y = random_eq(x, SR, torch.Generator().manual_seed(1), db=6.0)
    ratio = torch.fft.rfft(y).abs()[:, 50:4000] / (torch.fft.rfft(x).abs()[:, 50:4000] + 1e-9)
    db = 20 * ratio.log10()
    assert db.abs().max() <= 2.5 * 6.0 + 0.1  # the clip on the control points bounds the curve
    assert db.std() > 1.0  # and it is not flat


def test_shorter_decay_keeps_the_attack_and_fades_the_tail():
    x = _burst(onset=640)
    y = shorter_decay(x, SR, 640, torch.Generator().manual_seed(2))
    assert torch.equal(y[:, : 640 + int(0.010 * SR)], x[:, : 640 + int(0.010 * SR)])
    tail = slice(640 + int(0.15 * SR), None)
    assert (y[:, tail].pow(2).sum(1) < 0.5 * x[:, tail].pow(2).sum(1)).all()


def test_saturate_keeps_each_peak_and_compresses_the_rest():
    x = _burst()
    y = saturate(x, torch.Generator().manual_seed(3))
    assert torch.allclose(y.abs().amax(1), x.abs().amax(1), rtol=1e-5)
    assert (y.pow(2).mean(1) >= x.pow(2).mean(1)).all()


def test_augment_joins_the_labels_of_summed_windows_and_never_drops_one():
    x = _burst(b=64)
    y = torch.zeros(64, 9)
    y[torch.arange(64), torch.arange(64) % 9] = 1.0
    xa, ya = augment(x, y, SR, 640, torch.Generator().manual_seed(4), p_sum=0.5)
    assert xa.shape == x.shape and torch.isfinite(xa).all()
    assert (ya >= y).all()  # a window's own label survives every transform
    summed = ya.sum(1) > 1
    assert 10 < int(summed.sum()) < 54  # about half the windows got a second hit
    assert not torch.equal(xa, x)
