"""The small numerical pieces of A2D, kept pure so the unit tests can check them by hand.

Equation numbers refer to the A2D paper (Warrington et al., ICML 2021).
"""

from __future__ import annotations

import torch
from torch.distributions import Distribution, kl_divergence


def mixture_log_prob(logp_expert: torch.Tensor, logp_trainee: torch.Tensor, beta: float) -> torch.Tensor:
    """log π_β(a|s,o) = log(β π_θ(a|s) + (1−β) π_ψ(a|o)), computed stably in log space."""
    if beta >= 1.0:
        return logp_expert
    if beta <= 0.0:
        return logp_trainee
    b = torch.tensor(beta, dtype=logp_expert.dtype)
    return torch.logaddexp(logp_expert + torch.log(b), logp_trainee + torch.log1p(-b))


def importance_weight(logp_expert: torch.Tensor, logp_trainee: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 27: w = π_θ(a|s) / (β π_θ(a|s) + (1−β) π_ψ(a|o)); 1 when β = 1 (pure expert data)."""
    return torch.exp(logp_expert - mixture_log_prob(logp_expert, logp_trainee, beta))


def mixture_value(v_expert: torch.Tensor | None, v_trainee: torch.Tensor | None, beta: float) -> torch.Tensor:
    """V^{π_β} = β V_e(s) + (1−β) V_l(o) (Alg. 1 line 10); a missing term has weight 0."""
    if v_trainee is None or beta >= 1.0:
        assert v_expert is not None
        return v_expert
    if v_expert is None or beta <= 0.0:
        return v_trainee
    return beta * v_expert + (1.0 - beta) * v_trainee


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    terminated: torch.Tensor,
    dones: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Generalised advantage estimation over a (T, N) rollout (eqs. 28–29).

    ``next_values[t]`` is V of the observation that followed step t (the pre-reset final
    observation when the episode ended there, the next rollout observation otherwise, and the
    bootstrap value after the last step). ``terminated`` zeroes the bootstrap (true end of task);
    ``dones`` (terminated or truncated) cuts the λ-accumulation between episodes, so a time
    limit still bootstraps from V(final obs) but does not leak advantages across episodes.
    """
    T = rewards.shape[0]
    not_term = 1.0 - terminated.to(rewards.dtype)
    not_done = 1.0 - dones.to(rewards.dtype)
    deltas = rewards + gamma * next_values * not_term - values
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        running = deltas[t] + gamma * lam * not_done[t] * running
        adv[t] = running
    return adv


def normalize(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return (x - x.mean()) / (x.std() + eps)


def projection_kl(expert: Distribution, trainee: Distribution) -> torch.Tensor:
    """Eq. 17/18: mean over samples of KL(π_θ(·|s) ‖ π_ψ(·|o)); pass a detached expert."""
    return kl_divergence(expert, trainee).mean()


def next_beta(beta: float, decay: float, floor: float = 1e-3) -> float:
    """β ← decay·β, and 0 once it falls below ``floor`` (the reference's schedule)."""
    beta = beta * decay
    return 0.0 if beta < floor else beta


def beta_at(iteration: int, beta0: float, decay: float, floor: float = 1e-3) -> float:
    """β used at (0-based) iteration n: decay applied n times, with the floor; pure, for resuming."""
    beta = float(beta0)
    for _ in range(iteration):
        beta = next_beta(beta, decay, floor)
    return beta


def ppo_clip_loss(
    logp_new: torch.Tensor,
    logp_old: torch.Tensor,
    adv: torch.Tensor,
    clip: float,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Clipped PPO loss (to minimise) on ratio π_new/π_old, with an optional importance weight.

    The weight w (eq. 27) multiplies the advantage outside the clip: the clip bounds the step
    from the *expert's* old policy (trust region), while w corrects for data drawn from π_β.
    """
    ratio = torch.exp(logp_new - logp_old)
    a = adv if weight is None else adv * weight
    return -torch.min(ratio * a, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * a).mean()


def value_loss(
    pred: torch.Tensor, target: torch.Tensor, old: torch.Tensor | None = None, clip: float = 0.0
) -> torch.Tensor:
    """Squared error, optionally PPO-style clipped (max of the *squared* errors, unlike the reference)."""
    err = (pred - target) ** 2
    if old is not None and clip > 0:
        clipped = old + torch.clamp(pred - old, -clip, clip)
        err = torch.max(err, (clipped - target) ** 2)
    return 0.5 * err.mean()
