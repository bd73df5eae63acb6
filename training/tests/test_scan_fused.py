"""Fused numba scan vs the plain loop: values and the gradients of every input.

f32 against `selective_scan_ref` (autograd through the loop), the cross-scan form (reversed
directions, shared sources) against flips around the loop, and f64 `gradcheck` of the
hand-written backward against finite differences.
"""

import pytest
import torch

from audiomamba.scan import selective_scan_ref
from audiomamba.scan_fused import cross_scan_fused, selective_scan_fused

from test_scan import make_inputs, rel_err

NAMES = ("u", "delta", "A", "B", "C", "D", "bias")


@pytest.mark.parametrize(
    "b,d,l,n,g,scale",
    [
        (2, 8, 200, 4, 4, 1.0),
        (1, 12, 130, 1, 4, 1.0),   # d_state 1
        (2, 8, 150, 16, 2, 4.0),   # large decays
        (1, 4, 1, 2, 1, 1.0),      # L = 1
        (1, 6, 40, 2, 3, 12.0),    # raw deltas beyond softplus's linear threshold (z > 20)
    ],
)
def test_fused_matches_loop(b, d, l, n, g, scale):
    args = make_inputs(b, d, l, n, g, scale, seed=3 * l + d)
    y_ref = selective_scan_ref(*args)
    y = selective_scan_fused(*args)
    assert y.shape == (b, d, l) and y.dtype == torch.float32
    assert rel_err(y, y_ref) < 1e-5
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(2))
    g_ref = torch.autograd.grad((y_ref * w).sum(), args)
    g_fus = torch.autograd.grad((y * w).sum(), args)
    for name, a, r in zip(NAMES, g_fus, g_ref):
        assert a.shape == r.shape, name
        assert rel_err(a, r) < 1e-4, name


def cross_reference(u, delta, A, B, C, D, bias, src, rev):
    """The cross scan written with flips around `selective_scan_ref`, one direction at a time."""
    b, S, L, E = u.shape
    K = delta.shape[1]
    y = [torch.zeros(b, E, L) for _ in range(S)]
    for k in range(K):
        sl = slice(k * E, (k + 1) * E)
        uk, dk = u[:, src[k]].transpose(1, 2), delta[:, k].transpose(1, 2)  # [b, E, L]
        Bk, Ck = B[:, k : k + 1].transpose(2, 3), C[:, k : k + 1].transpose(2, 3)  # [b, 1, N, L]
        if rev[k]:
            uk, dk, Bk, Ck = uk.flip(-1), dk.flip(-1), Bk.flip(-1), Ck.flip(-1)
        yk = selective_scan_ref(uk, dk, A[sl], Bk, Ck, D[sl], bias[sl])
        y[src[k]] = y[src[k]] + (yk.flip(-1) if rev[k] else yk)
    return torch.stack(y, dim=1).transpose(2, 3)


def cross_inputs(b, S, K, E, L, N, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    u = r(b, S, L, E)
    delta = r(b, K, L, E)
    A = -torch.exp(0.5 * r(K * E, N))
    B = r(b, K, L, N)
    C = r(b, K, L, N)
    D = r(K * E)
    bias = r(K * E) - 1.0
    return [t.to(dtype).requires_grad_(True) for t in (u, delta, A, B, C, D, bias)]


def test_cross_scan_matches_flipped_loop():
    # SS2D's layout: two token orders, four directions, the last two reversed
    src, rev = [0, 1, 0, 1], [False, False, True, True]
    args = cross_inputs(2, 2, 4, 5, 37, 2, torch.float32, seed=11)
    y_ref = cross_reference(*args, src, rev)
    y = cross_scan_fused(*args, src=src, rev=rev)
    assert rel_err(y, y_ref) < 1e-5
    w = torch.randn(y.shape, generator=torch.Generator().manual_seed(5))
    g_ref = torch.autograd.grad((y_ref * w).sum(), args)
    g_fus = torch.autograd.grad((y * w).sum(), args)
    for name, a, r in zip(NAMES, g_fus, g_ref):
        assert rel_err(a, r) < 1e-4, name


@pytest.mark.parametrize("softplus", [True, False])
def test_cross_scan_gradcheck_f64(softplus):
    src, rev = [0, 1, 0, 1], [False, False, True, True]
    args = cross_inputs(1, 2, 4, 3, 9, 2, torch.float64, seed=7)
    if not softplus:  # raw deltas must then be positive step sizes
        with torch.no_grad():
            args[1].abs_().add_(0.05)
            args[6].zero_()
    assert torch.autograd.gradcheck(
        lambda *a: cross_scan_fused(*a, src=src, rev=rev, delta_softplus=softplus), args,
        eps=1e-6, atol=1e-7, rtol=1e-5,
    )


def test_gradcheck_f64_through_softplus_threshold():
    # raw deltas on both sides of z = 20, where softplus switches to the identity
    args = cross_inputs(1, 1, 1, 2, 6, 1, torch.float64, seed=3)
    with torch.no_grad():
        args[1].copy_(torch.tensor([-2.0, 19.0, 25.0, 0.5, 30.0, 1.0], dtype=torch.float64).view(1, 1, 6, 1))
        args[6].zero_()
        args[2].mul_(0.05)  # keep the decay finite for the large steps
    assert torch.autograd.gradcheck(
        lambda *a: cross_scan_fused(*a, src=[0], rev=[False]), args, eps=1e-6, atol=1e-7, rtol=1e-5
    )


def test_only_requested_gradients():
    args = cross_inputs(1, 1, 1, 2, 8, 1, torch.float32, seed=1)
    for t in args[2:]:
        t.requires_grad_(False)
    y = cross_scan_fused(*args, src=[0], rev=[False])
    gu, gd = torch.autograd.grad(y.sum(), args[:2])
    assert gu.shape == args[0].shape and gd.shape == args[1].shape


def test_rejects_bad_shapes():
    args = cross_inputs(1, 2, 4, 3, 9, 2, torch.float32, seed=0)
    with pytest.raises(ValueError):
        cross_scan_fused(*args, src=[0, 1, 0], rev=[False, False, True])
    with pytest.raises(ValueError):
        cross_scan_fused(args[0][:, :, :-1], *args[1:], src=[0, 1, 0, 1], rev=[False] * 4)
