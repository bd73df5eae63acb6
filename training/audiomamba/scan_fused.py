"""Fused selective scan for training: a sequential numba kernel with a hand-written backward.

Why numba and not the chunked autograd form: the chunked scan (`scan.selective_scan_chunked`)
materialises a dozen [b, d, n, l] temporaries per call and autograd keeps most of them for the
backward, so a training step spends ~70% of its time streaming memory through elementwise ops.
The recurrence itself is a few flops per (step, channel, state); a serial loop that keeps the
state in registers does the same work in one pass over the inputs. numba compiles it from the
pinned requirements with no C++ toolchain at install time (a torch C++ extension would need a
compiler matching torch's ABI on every machine), and `cache=True` keeps the compiled code on disk.

Why serial kernels: training on CPU runs one single-thread process per core (DDP under torchrun);
a numba thread pool beside torch's OpenMP pool oversubscribes the cores (measured 3-7x slower).

The kernel works in the cross-scan form SS2D needs, so the reversed directions are traversed
backwards instead of being flipped (copied) before and after the scan. Tensors are token-major
(channels last, like the backbone's [B, H, W, C]) so that the inner loops run over contiguous
channels and vectorise:

    u       [b, S, L, E]   S sources (SS2D: row-major and column-major token orders)
    delta   [b, K, L, E]   raw step sizes (before bias and softplus), in the source's order
    A       [K*E, N]       negative
    B, C    [b, K, L, N]   shared by the E channels of a direction
    D, bias [K*E]
    src[k]  source of direction k;  rev[k]  traverse direction k from the end
    y       [b, S, L, E]   sum over the directions reading each source

The transcendental parts (softplus, exp(dt*A)) are computed by torch's vectorised ops before
the kernel; the kernels hold only the multiply-adds of the recurrence and of its adjoint.

For direction k and channel e (c = k*E + e), in traversal order t:
    dt = softplus(delta[t] + bias[c]);  h[n] = exp(dt*A[c,n]) h[n] + dt B[n,t] u[t]
    y[t] += sum_n C[n,t] h[n] + D[c] u[t]
which is `scan.selective_scan_ref` per direction (model.md section 3).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

try:
    import numba
    from numba import njit
except ImportError:  # pragma: no cover - numba is in requirements.txt
    numba = None

def _jit(f):
    if numba is None:
        raise ImportError("the fused scan needs numba (pip install -r requirements.txt)")
    # fastmath lets LLVM vectorise the sums over channels (reassociation); the kernels hold no
    # transcendental functions, so nothing else changes
    return njit(cache=True, nogil=True, error_model="numpy", fastmath=True)(f)


def _fwd_impl(u, dt, a, B, C, D, src, rev, y):
    b_n, K, L, E = dt.shape
    N = a.shape[3]
    h = np.zeros((N, E), dtype=dt.dtype)
    x = np.empty(E, dtype=dt.dtype)
    for b in range(b_n):
        for k in range(K):
            j = src[k]
            Dk = D[k * E : (k + 1) * E]
            h[:, :] = 0.0
            for s in range(L):
                t = L - 1 - s if rev[k] else s
                ut = u[b, j, t]
                yt = y[b, j, t]
                dtt = dt[b, k, t]
                for e in range(E):
                    x[e] = dtt[e] * ut[e]
                    yt[e] += Dk[e] * ut[e]
                for n in range(N):
                    Bn = B[b, k, t, n]
                    Cn = C[b, k, t, n]
                    an = a[b, k, t, n]
                    hn = h[n]
                    for e in range(E):
                        v = an[e] * hn[e] + x[e] * Bn
                        hn[e] = v
                        yt[e] += Cn * v


def _bwd_impl(u, dt, a, A, B, C, D, src, rev, gy, gu, gdt, gA, gB, gC, gD):
    b_n, K, L, E = dt.shape
    N = a.shape[3]
    hs = np.empty((L + 1, N, E), dtype=dt.dtype)  # hs[s + 1] = state after traversal step s
    gh = np.empty((N, E), dtype=dt.dtype)
    x = np.empty(E, dtype=dt.dtype)
    gut = np.empty(E, dtype=dt.dtype)
    gd = np.empty(E, dtype=dt.dtype)
    for b in range(b_n):
        for k in range(K):
            j = src[k]
            Dk = D[k * E : (k + 1) * E]
            gDk = gD[k * E : (k + 1) * E]
            Ak = A[k]  # [N, E]
            gAk = gA[k]
            # recompute this direction's states (cheaper than keeping them for every direction)
            hs[0, :, :] = 0.0
            for s in range(L):
                t = L - 1 - s if rev[k] else s
                ut = u[b, j, t]
                dtt = dt[b, k, t]
                for e in range(E):
                    x[e] = dtt[e] * ut[e]
                for n in range(N):
                    Bn = B[b, k, t, n]
                    an = a[b, k, t, n]
                    hp = hs[s, n]
                    hc = hs[s + 1, n]
                    for e in range(E):
                        hc[e] = an[e] * hp[e] + x[e] * Bn
            # reverse sweep; gh holds dL/dh[t+1] * a[t+1] on entry to step t
            gh[:, :] = 0.0
            for s in range(L - 1, -1, -1):
                t = L - 1 - s if rev[k] else s
                ut = u[b, j, t]
                dtt = dt[b, k, t]
                g = gy[b, j, t]
                for e in range(E):
                    gut[e] = g[e] * Dk[e]
                    gDk[e] += g[e] * ut[e]
                    gd[e] = 0.0
                for n in range(N):
                    Bn = B[b, k, t, n]
                    Cn = C[b, k, t, n]
                    an = a[b, k, t, n]
                    hp = hs[s, n]
                    hc = hs[s + 1, n]
                    ghn = gh[n]
                    gc = 0.0
                    gb = 0.0
                    for e in range(E):
                        Ht = ghn[e] + g[e] * Cn  # dL/dh[t]
                        gc += g[e] * hc[e]
                        gb += Ht * dtt[e] * ut[e]
                        gut[e] += Ht * dtt[e] * Bn
                        ga = Ht * hp[e] * an[e]  # dL/d(dt*A) through the decay exp(dt*A)
                        gd[e] += Ht * Bn * ut[e] + ga * Ak[n, e]
                        gAk[n, e] += ga * dtt[e]
                        ghn[e] = Ht * an[e]
                    gC[b, k, t, n] += gc
                    gB[b, k, t, n] += gb
                gdt_t = gdt[b, k, t]
                gu_t = gu[b, j, t]
                for e in range(E):
                    gdt_t[e] = gd[e]
                    gu_t[e] += gut[e]


_fwd_kernel = None
_bwd_kernel = None


def _kernels():
    global _fwd_kernel, _bwd_kernel
    if _fwd_kernel is None:
        _fwd_kernel = _jit(_fwd_impl)
        _bwd_kernel = _jit(_bwd_impl)
    return _fwd_kernel, _bwd_kernel


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _steps(delta, bias, softplus):
    """Step sizes dt [b, K, L, E]."""
    b, K, L, E = delta.shape
    z = delta + bias.view(1, K, 1, E)
    # torch's softplus returns z itself above its threshold of 20, as the Rust engine does
    return F.softplus(z) if softplus else z


class _CrossScan(torch.autograd.Function):

    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, bias, src, rev, softplus):
        fwd, _ = _kernels()
        dtype = torch.float64 if u.dtype == torch.float64 else torch.float32
        u, delta, A, B, C, D, bias = [x.detach().to(dtype).contiguous() for x in (u, delta, A, B, C, D, bias)]
        b, K, L, E = delta.shape
        dt = _steps(delta, bias, softplus)
        A_t = A.view(K, E, -1).transpose(1, 2).contiguous()  # [K, N, E]: channels innermost
        a = (dt.unsqueeze(3) * A_t[None, :, None]).exp_()  # [b, K, L, N, E]
        y = torch.zeros(u.shape, dtype=dtype)
        fwd(_np(u), _np(dt), _np(a), _np(B), _np(C), _np(D), src, rev, y.numpy())
        ctx.save_for_backward(u, dt, a, A_t, B, C, D)
        ctx.src, ctx.rev, ctx.softplus = src, rev, softplus
        ctx.dtypes = [x.dtype for x in (u, delta, A, B, C, D, bias)]
        return y

    @staticmethod
    def backward(ctx, gy):
        _, bwd = _kernels()
        u, dt, a, A_t, B, C, D = ctx.saved_tensors
        gu, gA_t, gB, gC, gD = (torch.zeros_like(x) for x in (u, A_t, B, C, D))
        gdt = torch.empty_like(dt)  # every element is written by the kernel
        gy = gy.detach().to(u.dtype).contiguous()
        bwd(_np(u), _np(dt), _np(a), _np(A_t), _np(B), _np(C), _np(D), ctx.src, ctx.rev, _np(gy),
            gu.numpy(), gdt.numpy(), gA_t.numpy(), gB.numpy(), gC.numpy(), gD.numpy())
        gA = gA_t.transpose(1, 2).reshape(-1, A_t.shape[1])
        # softplus'(z) = sigmoid(z) = 1 - exp(-softplus(z)); exactly 1 in f32 above the threshold
        gdelta = gdt.mul_(dt.neg().expm1_().neg_()) if ctx.softplus else gdt
        gbias = gdelta.sum(dim=(0, 2)).reshape(-1)
        grads = (gu, gdelta, gA, gB, gC, gD, gbias)
        out = [g.to(dt_) if need else None for g, dt_, need in zip(grads, ctx.dtypes, ctx.needs_input_grad[:7])]
        return (*out, None, None, None)


def cross_scan_fused(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor],
    delta_bias: Optional[torch.Tensor],
    src: Sequence[int],
    rev: Sequence[bool],
    delta_softplus: bool = True,
) -> torch.Tensor:
    """Multi-direction scan (shapes in the module docstring); differentiable in every tensor."""
    if u.device.type != "cpu":
        raise ValueError("the fused scan runs on the CPU; use scan_impl='chunked' on a GPU")
    b, S, L, E = u.shape
    K = delta.shape[1]
    if delta.shape != (b, K, L, E) or B.shape != C.shape or B.shape[:3] != (b, K, L):
        raise ValueError(f"shape mismatch: u {tuple(u.shape)} delta {tuple(delta.shape)} B {tuple(B.shape)}")
    if A.shape != (K * E, B.shape[3]) or len(src) != K or len(rev) != K or max(src) >= S:
        raise ValueError("A must be [K*E, N] and src/rev have one entry per direction")
    KE = K * E
    if D is None:
        D = u.new_zeros(KE)
    if delta_bias is None:
        delta_bias = u.new_zeros(KE)
    src_a = np.asarray(src, dtype=np.int64)
    rev_a = np.asarray(rev, dtype=np.bool_)
    return _CrossScan.apply(u, delta, A, B, C, D, delta_bias, src_a, rev_a, bool(delta_softplus))


def selective_scan_fused(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = True,
) -> torch.Tensor:
    """`selective_scan_ref`'s convention (u [b, d, l], B/C [b, g, n, l]) on the fused kernel."""
    from .scan import grouped

    b, d, l = u.shape
    B, C, g = grouped(B, C, d)
    E = d // g
    y = cross_scan_fused(u.reshape(b, g, E, l).transpose(2, 3), delta.reshape(b, g, E, l).transpose(2, 3),
                         A, B.transpose(2, 3), C.transpose(2, 3), D, delta_bias,
                         src=list(range(g)), rev=[False] * g, delta_softplus=delta_softplus)
    return y.transpose(2, 3).reshape(b, d, l)
