"""Policy evaluation on a batched env: one full episode per copy, deterministic or stochastic.

Evaluation rollouts are never counted as training interactions. They also supply the
divergence estimate: the expected KL(π_θ(·|s) ‖ π_ψ(·|o)) over the states the trainee visits
(fresh data, no augmentation), unlike the reference, which logged the training loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.distributions import kl_divergence

from policies.networks import PolicyNet
from training.a2d.rollout import IMAGE, Actor, FrameWindow, env_actions, sample_actions, to_inputs


@torch.no_grad()
def run_episodes(
    env,
    actor: Actor,
    deterministic: bool,
    seed: int,
    frame_window: int = 1,
    record_keys: tuple[str, ...] = (),
    max_steps: int | None = None,
    final_infos: list[dict[str, Any] | None] | None = None,
) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
    """Returns per-copy episode returns (first episode of each copy) and the inputs recorded on the way.

    ``final_infos``, when given, is filled with each copy's ``info`` at the end of that first
    episode (``None`` for a copy that did not finish, or an env without per-copy infos): the
    scenario's own outcome flags (collisions, waypoints) live there, not in the return.
    """
    n = env.num_envs
    keys = tuple(dict.fromkeys((actor.key, *record_keys)))
    horizon = int(getattr(env.info, "horizon", 1000) or 1000)
    max_steps = max_steps or 2 * horizon + 1
    gen = torch.Generator().manual_seed(int(seed))
    obs, _ = env.reset(seed=int(seed))
    window = FrameWindow(frame_window) if IMAGE in keys else None
    if window is not None:
        window.reset(obs[IMAGE])
    active = np.ones(n, bool)
    returns = np.zeros(n, np.float64)
    recorded: dict[str, list[torch.Tensor]] = {k: [] for k in record_keys}
    low = np.asarray(env.info.action_low, np.float32) if env.info.action_low else None
    high = np.asarray(env.info.action_high, np.float32) if env.info.action_high else None
    discrete = actor.policy.discrete
    if final_infos is not None:
        final_infos[:] = [None] * n
    for _ in range(max_steps):
        inp = to_inputs(obs, window, keys)
        act_idx = torch.from_numpy(np.flatnonzero(active))
        for k in record_keys:
            recorded[k].append(inp[k][act_idx])
        a = sample_actions(actor, inp, gen, deterministic)
        obs, reward, term, trunc, info = env.step(env_actions(a, discrete, low, high))
        done = np.asarray(term, bool) | np.asarray(trunc, bool)
        returns += np.where(active, np.asarray(reward, np.float64), 0.0)
        per_env = info.get("per_env") if isinstance(info, dict) else None
        if final_infos is not None and per_env is not None:
            for i in np.flatnonzero(active & done):
                final_infos[i] = per_env[i]
        active &= ~done
        if window is not None:
            window.push(obs[IMAGE], done)
        if not active.any():
            break
    return returns, {k: torch.cat(v) if v else torch.zeros(0) for k, v in recorded.items()}


@torch.no_grad()
def divergence(expert: Actor, trainee: Actor, inputs: dict[str, torch.Tensor], chunk: int = 4096) -> float:
    """Mean KL(π_θ(·|s) ‖ π_ψ(·|o)) over recorded (state, observation) pairs."""
    n = inputs[expert.key].shape[0]
    if n == 0:
        return float("nan")
    total = 0.0
    for i in range(0, n, chunk):
        e: PolicyNet = expert.policy
        t: PolicyNet = trainee.policy
        de = e.distribution(e(inputs[expert.key][i : i + chunk]))
        dt = t.distribution(t(inputs[trainee.key][i : i + chunk]))
        total += float(kl_divergence(de, dt).sum())
    return total / n
