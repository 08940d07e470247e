"""TRPO policy step: natural gradient by conjugate gradient, then a KL-constrained line search.

Used for A2D's expert update (with the eq. 27 importance-weighted surrogate) and the RL
baselines. The caller supplies closures, so the same step serves discrete and Gaussian
policies, state and image inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def flat_params(params: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.data.reshape(-1) for p in params])


def set_flat_params(params: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    i = 0
    for p in params:
        n = p.numel()
        p.data.copy_(flat[i : i + n].view_as(p))
        i += n


def flat_grad(y: torch.Tensor, params: Sequence[torch.Tensor], create_graph: bool = False) -> torch.Tensor:
    grads = torch.autograd.grad(y, params, create_graph=create_graph, allow_unused=True)
    return torch.cat(
        [(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params, strict=True)]
    )


def conjugate_gradient(
    Avp: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iters: int = 10, residual_tol: float = 1e-10
) -> torch.Tensor:
    """Solve A x = b for symmetric positive-definite A given only products A·v."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r.dot(r)
    for _ in range(iters):
        if rr < residual_tol:
            break
        Ap = Avp(p)
        alpha = rr / p.dot(Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = r.dot(r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def trpo_step(
    params: Sequence[torch.Tensor],
    surrogate: Callable[[], torch.Tensor],
    kl_all: Callable[[], torch.Tensor],
    kl_fisher: Callable[[], torch.Tensor],
    max_kl: float = 0.01,
    damping: float = 0.1,
    cg_iters: int = 10,
    backtrack_iters: int = 10,
    accept_ratio: float = 0.1,
) -> dict[str, float]:
    """One TRPO update of ``params``; ``surrogate`` is maximised, KL(old‖new) kept ≤ ``max_kl``.

    ``kl_fisher`` is the mean KL on the (sub)sample used for Fisher-vector products;
    ``kl_all`` on every sample, for the line-search constraint. Both must be 0 with zero
    gradient at the current parameters (old distribution detached).
    """
    params = [p for p in params if p.requires_grad]
    f0_t = surrogate()
    g = flat_grad(f0_t, params)
    f0 = float(f0_t.detach())
    if not torch.isfinite(g).all() or g.abs().max() == 0:
        return {"surrogate_gain": 0.0, "kl": 0.0, "accepted": 0.0, "backtracks": 0.0}

    kl = kl_fisher()
    grad_kl = flat_grad(kl, params, create_graph=True)

    def fisher_vp(v: torch.Tensor) -> torch.Tensor:
        hv = torch.autograd.grad(grad_kl.dot(v), params, retain_graph=True, allow_unused=True)
        flat = torch.cat(
            [(torch.zeros_like(p) if h is None else h).reshape(-1) for h, p in zip(hv, params, strict=True)]
        )
        return flat + damping * v

    step_dir = conjugate_gradient(fisher_vp, g, cg_iters)
    shs = step_dir.dot(fisher_vp(step_dir))
    if not torch.isfinite(shs) or shs <= 0:
        return {"surrogate_gain": 0.0, "kl": 0.0, "accepted": 0.0, "backtracks": 0.0}
    full_step = torch.sqrt(2.0 * max_kl / shs) * step_dir
    expected = float(g.dot(full_step))
    old = flat_params(params)
    for i in range(backtrack_iters):
        frac = 0.5**i
        set_flat_params(params, old + frac * full_step)
        with torch.no_grad():
            f = float(surrogate())
            kl_new = float(kl_all())
        gain = f - f0
        if kl_new <= max_kl and gain > 0 and gain / max(expected * frac, 1e-12) > accept_ratio:
            return {"surrogate_gain": gain, "kl": kl_new, "accepted": 1.0, "backtracks": float(i)}
    set_flat_params(params, old)
    return {"surrogate_gain": 0.0, "kl": 0.0, "accepted": 0.0, "backtracks": float(backtrack_iters)}
