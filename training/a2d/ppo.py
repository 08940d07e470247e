"""PPO (clipped) policy step, the alternative to TRPO for A2D's expert and the RL baselines."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from training.a2d.losses import ppo_clip_loss


def ppo_step(
    policy: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    actions: torch.Tensor,
    logp_old: torch.Tensor,
    adv: torch.Tensor,
    weight: torch.Tensor | None,
    *,
    epochs: int,
    minibatch: int,
    clip: float,
    entropy_coef: float,
    max_grad_norm: float,
    generator: torch.Generator,
    target_kl: float = 0.0,
    dist_fn: Callable[[torch.Tensor], torch.distributions.Distribution] | None = None,
    penalty: Callable[[torch.Tensor, torch.distributions.Distribution], torch.Tensor] | None = None,
) -> dict[str, float]:
    """Epochs of shuffled minibatch Adam steps on the clipped surrogate (+ entropy bonus).

    ``weight`` is A2D's importance weight (eq. 27), ``None`` for on-policy RL. The entropy
    bonus is part of the loss (not added to the advantage), so its gradient is the true
    entropy gradient at the visited states whichever policy acted (see algorithm.py).
    ``target_kl`` > 0 stops the epochs early once the approximate KL from the old policy exceeds it.
    """
    dist_fn = dist_fn or policy.dist  # type: ignore[assignment]
    n = actions.shape[0]
    stats = {"policy_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clip_frac": 0.0}
    steps = 0
    params = [p for p in policy.parameters() if p.requires_grad]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator)
        kl_sum, kl_n = 0.0, 0
        for start in range(0, n, minibatch):
            idx = perm[start : start + minibatch]
            dist = dist_fn(inputs[idx])
            logp = dist.log_prob(actions[idx])
            entropy = dist.entropy().mean()
            loss = ppo_clip_loss(logp, logp_old[idx], adv[idx], clip, None if weight is None else weight[idx])
            optimizer.zero_grad(set_to_none=True)
            total = loss - entropy_coef * entropy
            if penalty is not None:  # e.g. A2D's expert-to-trainee KL term
                total = total + penalty(idx, dist)
            total.backward()
            if max_grad_norm > 0:
                nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                log_ratio = logp - logp_old[idx]
                approx_kl = float(((log_ratio.exp() - 1) - log_ratio).mean())
                stats["clip_frac"] += float(((log_ratio.exp() - 1).abs() > clip).float().mean())
            stats["policy_loss"] += float(loss.detach())
            stats["entropy"] += float(entropy.detach())
            stats["approx_kl"] += approx_kl
            kl_sum += approx_kl
            kl_n += 1
            steps += 1
        if target_kl > 0 and kl_sum / max(kl_n, 1) > target_kl:
            break
    return {k: v / max(steps, 1) for k, v in stats.items()}
