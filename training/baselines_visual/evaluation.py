"""Deterministic evaluation of a camera policy on fresh seeded episodes (never training data)."""

from __future__ import annotations

from typing import Any

import numpy as np

from policies.networks import PolicyNet
from sim_bridges.api import EnvInfo

# Checkpoints of BC/SQIL/DAC runs: not A2D trainer states, so they carry their own format tag.
CHECKPOINT_FORMAT = "asymlearn-visual-baseline-v1"


def env_info(task: str, image_size: int) -> EnvInfo:
    """The task's EnvInfo at this camera size (for checkpoints), without keeping an env open."""
    import sim_bridges

    env = sim_bridges.make(task, image_size=image_size, render=False)
    try:
        return env.info
    finally:
        env.close()


def evaluate_policy(
    policy: PolicyNet,
    task: str,
    image_size: int,
    episodes: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
) -> np.ndarray:
    """Returns of ``episodes`` episodes, one per env copy, copy i reset with seed + i."""
    import sim_bridges
    from training.a2d.rollout import IMAGE, Actor
    from training.evaluate import run_episodes

    was_training = policy.training
    policy.eval()
    env = sim_bridges.make_batched(task, episodes, image_size=image_size, **(env_kwargs or {}))
    try:
        returns, _ = run_episodes(env, Actor(policy, IMAGE), True, seed, frame_window=policy.frame_window)
    finally:
        env.close()
        policy.train(was_training)
    return returns
