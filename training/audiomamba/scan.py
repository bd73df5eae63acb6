"""Selective scan (Mamba S6), model.md section 3.

Shapes (Mamba's `selective_scan_fn` convention):
    u, delta    [b, d, l]
    A           [d, n]         (already negative: A = -exp(A_log))
    B, C        [b, g, n, l]   (g groups; channel c uses group c // (d / g))
    D           [d] or None
    delta_bias  [d] or None
returns y [b, d, l] in the dtype of u. Everything is computed in float32 (inputs are upcast).

    delta[t, c] = softplus(delta_raw[t, c] + delta_bias[c])
    h[c, n]     = exp(delta[t, c] * A[c, n]) * h[c, n] + delta[t, c] * B[t, n] * u[t, c]
    y[t, c]     = sum_n C[t, n] * h[c, n] + D[c] * u[t, c]

`selective_scan_ref` is the plain loop (the definition). `selective_scan_chunked` is the
parallel form used for training: chunks of `chunk` steps; inside a chunk the recurrence is
solved in closed form with the cumulative sum S of delta*A (log-space decay):
    h[t] = exp(S[t]) * (h0 + sum_{s<=t} exp(-S[s]) * x[s])
and the state is carried between chunks (an associative scan over the chunk index, so there is no
Python loop over time). exp(-S) can only overflow when a chunk decays by more than `_LOG_LIMIT`
nats; those rows are solved with a log-depth (Hillis-Steele) associative scan instead, which is
always stable. Everything is plain autograd ops.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

# Largest total in-chunk decay (nats) for the closed-form path: exp(60) ~ 1e26, far from the f32
# overflow at ~3e38 even after multiplying by large inputs.
_LOG_LIMIT = 60.0


def _prep(u, delta, A, B, C, D, delta_bias, delta_softplus):
    u = u.float()
    delta = delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)  # log(1 + exp(x)); returns x for x > 20 (overflow guard)
    B, C, g = grouped(B.float(), C.float(), u.shape[1])
    return u, delta, A.float(), B, C, g


def grouped(B: torch.Tensor, C: torch.Tensor, d: int):
    """B and C as [b, g, n, l] ([b, n, l] is one group) and g, checking that g divides d."""
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    g = B.shape[1]
    if d % g != 0:
        raise ValueError(f"channels {d} not divisible by groups {g}")
    return B, C, g


def selective_scan_ref(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = True,
) -> torch.Tensor:
    """Plain loop over the sequence: the reference semantics."""
    dtype_in = u.dtype
    u, delta, A, B, C, g = _prep(u, delta, A, B, C, D, delta_bias, delta_softplus)
    b, d, l = u.shape
    n = A.shape[1]
    rep = d // g
    Bx = B.repeat_interleave(rep, dim=1)  # [b, d, n, l]
    Cx = C.repeat_interleave(rep, dim=1)
    deltaA = torch.exp(delta.unsqueeze(2) * A[None, :, :, None])  # [b, d, n, l]
    deltaB_u = delta.unsqueeze(2) * Bx * u.unsqueeze(2)  # [b, d, n, l]
    h = u.new_zeros(b, d, n)
    ys = []
    for t in range(l):
        h = deltaA[..., t] * h + deltaB_u[..., t]
        ys.append((h * Cx[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D.float()[None, :, None]
    return y.to(dtype_in)


def _assoc_scan(a: torch.Tensor, x: torch.Tensor):
    """Inclusive scan of h[t] = a[t] * h[t-1] + x[t] (h[-1] = 0) along the last axis.

    Returns (prod a[0..t], h). Hillis-Steele: log2(T) steps, all values bounded (a in [0, 1]).
    """
    T = a.shape[-1]
    k = 1
    while k < T:
        a_prev = F.pad(a[..., : T - k], (k, 0), value=1.0)
        x_prev = F.pad(x[..., : T - k], (k, 0), value=0.0)
        x = a * x_prev + x
        a = a * a_prev
        k *= 2
    return a, x


def _chunk_local_states(dA: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """States inside each chunk from a zero start. dA, x: [..., nc, T] -> h_loc [..., nc, T].

    Closed form exp(S[t]) * cumsum(exp(-S[s]) * x[s]) with S = cumsum(dA) (S <= 0). Where a chunk
    decays by more than _LOG_LIMIT nats exp(-S) could overflow: those (channel, state, chunk)
    rows are recomputed with the associative scan and put back.
    """
    S = torch.cumsum(dA, dim=-1)
    bad = S[..., -1] < -_LOG_LIMIT  # [..., nc]
    if not bool(bad.any()):
        return torch.exp(S) * torch.cumsum(torch.exp(-S) * x, dim=-1)
    S_safe = torch.where(bad.unsqueeze(-1), torch.zeros_like(S), S)
    h = torch.exp(S_safe) * torch.cumsum(torch.exp(-S_safe) * x, dim=-1)
    _, h_bad = _assoc_scan(torch.exp(dA[bad]), x[bad])  # [n_bad, T]
    return h.index_put((bad,), h_bad)


def selective_scan_chunked(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: Optional[torch.Tensor] = None,
    delta_bias: Optional[torch.Tensor] = None,
    delta_softplus: bool = True,
    chunk: int = 32,
) -> torch.Tensor:
    """Chunked parallel form; same result as `selective_scan_ref` up to f32 rounding.

    No Python loop over time: the sequence is cut into chunks of `chunk` steps, every chunk is
    solved from a zero state in closed form (log-space cumulative decay), then the chunk-end
    states are carried across chunks with an associative scan over the chunk index, and each
    step adds its carried-in state times its in-chunk decay.
    """
    dtype_in = u.dtype
    u, delta, A, B, C, g = _prep(u, delta, A, B, C, D, delta_bias, delta_softplus)
    b, d, l = u.shape
    n = A.shape[1]
    dg = d // g
    T = max(1, min(chunk, l))
    nc = -(-l // T)
    pad = nc * T - l
    A5 = A.view(g, dg, n)[None, :, :, :, None]  # [1, g, dg, n, 1]
    dl = delta.view(b, g, dg, 1, l)
    dA = dl * A5  # [b, g, dg, n, l]
    x = (dl * u.view(b, g, dg, 1, l)) * B.unsqueeze(2)  # [b, g, dg, n, l]
    if pad:
        dA = F.pad(dA, (0, pad))
        x = F.pad(x, (0, pad))
    dA = dA.view(b, g, dg, n, nc, T)
    x = x.view(b, g, dg, n, nc, T)
    h_loc = _chunk_local_states(dA, x)  # [b, g, dg, n, nc, T]
    S = torch.cumsum(dA, dim=-1)
    # carry: H[c] = exp(S_c[T-1]) * H[c-1] + h_loc_c[T-1]; chunk c starts from H[c-1]
    _, H = _assoc_scan(torch.exp(S[..., -1]), h_loc[..., -1])  # [b, g, dg, n, nc]
    H_in = F.pad(H[..., :-1], (1, 0))
    h = h_loc + torch.exp(S) * H_in.unsqueeze(-1)
    h = h.view(b, g, dg, n, nc * T)[..., :l]
    y = torch.einsum("bgcnl,bgnl->bgcl", h, C).reshape(b, d, l)
    if D is not None:
        y = y + u * D.float()[None, :, None]
    return y.to(dtype_in)


def selective_scan(*args, impl: str = "chunked", **kwargs) -> torch.Tensor:
    if impl == "ref":
        return selective_scan_ref(*args, **kwargs)
    if impl == "chunked":
        return selective_scan_chunked(*args, **kwargs)
    if impl == "fused":
        from .scan_fused import selective_scan_fused

        return selective_scan_fused(*args, **kwargs)
    raise ValueError(f"unknown scan impl {impl!r} (ref, chunked or fused)")
