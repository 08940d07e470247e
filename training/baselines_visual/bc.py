"""Behavioural cloning from visual demonstrations, with DrQ random-shift augmentation.

The must-show comparison for V-MAIL: a camera policy regressed onto the expert's actions from
the same 10 demonstrations, with no environment interaction at all (so every logged row has
``env_steps`` 0; evaluation rollouts are never counted as training data). The policy is the
project's ``ImagePolicy`` (uint8 (N, K, H, W, C) frames in, Gaussian mean out), so a BC policy
exports and deploys like an A2D trainee. K = 3 stacked frames by default: a single frame shows
no velocity, which the swing-up and balance both need.

A run resumes from ``run_dir``'s checkpoint (policy, optimiser and RNG streams, saved at each
evaluation) and then continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from policies.networks import ImagePolicy
from training.baselines_visual.augment import random_shift
from training.baselines_visual.dataset import FrameReplay
from training.baselines_visual.evaluation import CHECKPOINT_FORMAT, env_info, evaluate_policy
from training.checkpoint import (
    CheckpointError,
    env_info_to_dict,
    load_checkpoint,
    require_same_settings,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from training.demos.episodes import load_episodes
from training.logger import RunLogger


@dataclass(frozen=True)
class BCConfig:
    task: str
    demos: str
    run_dir: str
    frame_stack: int = 3
    updates: int = 3000
    batch_size: int = 128
    lr: float = 3e-4
    shift_pad: int = 4  # DrQ uses 4 px at 84 px; 0 disables augmentation
    hidden: tuple[int, ...] = field(default=(256, 256))
    features: int = 64
    eval_every: int = 500
    eval_episodes: int = 5
    seed: int = 0
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # task variant, e.g. a turn target


# Fields a resumed run must share with its checkpoint (updates and the eval cadence may change).
RESUME_FIELDS = (
    "task",
    "demos",
    "frame_stack",
    "batch_size",
    "lr",
    "shift_pad",
    "hidden",
    "features",
    "seed",
)


def bc_loss(policy: ImagePolicy, images: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the policy's mean action and the expert's (deterministic BC)."""
    return torch.mean((policy(images) - actions) ** 2)


def make_policy(cfg: BCConfig, image_shape: tuple[int, int, int], action_dim: int) -> ImagePolicy:
    return ImagePolicy(
        image_shape,
        action_dim,
        discrete=False,
        frame_window=cfg.frame_stack,
        hidden=cfg.hidden,
        features=cfg.features,
    )


def _config_dict(cfg: BCConfig) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}


def train_bc(cfg: BCConfig, log: Callable[[str], None] = print, resume: bool = True) -> dict[str, float]:
    """Train (resuming from ``run_dir``'s checkpoint, if any), evaluating every ``eval_every``
    updates; returns the final evaluation."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    episodes = load_episodes(cfg.demos)
    data = FrameReplay.from_episodes(episodes, cfg.frame_stack)
    demo_returns = [float(ep["reward"].sum()) for ep in episodes]
    h, w, _ = data.image_shape
    if h != w:
        raise ValueError(f"demo images must be square for the env's image_size, got {data.image_shape}")
    policy = make_policy(cfg, data.image_shape, data.action_dim)  # type: ignore[arg-type]
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    start_update, result = 0, {}
    if resume and Path(cfg.run_dir, "checkpoint.pt").exists():
        start_update, result = _restore(cfg, policy, opt, gen)
        log(f"resumed {cfg.run_dir} at update {start_update}")
    logger = RunLogger(cfg.run_dir, start_iteration=start_update, tensorboard=False)
    log(
        f"BC on {len(episodes)} demos ({len(data)} pairs, image {data.image_shape}, "
        f"expert mean return {np.mean(demo_returns):.1f})"
    )
    start = time.perf_counter() - float(result.get("wall_s", 0.0))
    recent: list[float] = []
    for update in range(start_update + 1, cfg.updates + 1):
        images, actions = data.observations(data.sample_rows(cfg.batch_size, gen))
        loss = bc_loss(policy, random_shift(images, cfg.shift_pad, gen), actions)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent.append(float(loss.detach()))
        if update % cfg.eval_every == 0 or update == cfg.updates:
            returns = evaluate_policy(
                policy, cfg.task, h, cfg.eval_episodes, seed=10_000 + cfg.seed, env_kwargs=cfg.env_kwargs
            )
            result = {
                "iteration": update,
                "updates": update,
                "env_steps": 0,
                "loss": float(np.mean(recent)),
                "eval_return_mean": float(returns.mean()),
                "eval_return_std": float(returns.std()),
                "expert_return_mean": float(np.mean(demo_returns)),
                "wall_s": time.perf_counter() - start,
            }
            recent = []
            logger.log(result)
            log(
                f"update {update}: loss {result['loss']:.4f}, eval return {result['eval_return_mean']:.1f} "
                f"± {result['eval_return_std']:.1f} (expert {result['expert_return_mean']:.1f})"
            )
            save_checkpoint(
                cfg.run_dir,
                {
                    "method": "bc",
                    "policy": policy.state_dict(),
                    "optimizer": opt.state_dict(),
                    "bc_config": _config_dict(cfg),
                    "env_info": env_info_to_dict(env_info(cfg.task, h)),
                    "update": update,
                    "generator": gen.get_state(),
                    "rng": rng_state(),
                    "row": dict(result),
                },
                fmt=CHECKPOINT_FORMAT,
            )
    logger.close()
    Path(cfg.run_dir, "done").write_text(f"{result.get('eval_return_mean', float('nan'))}\n")
    return result


def _restore(
    cfg: BCConfig, policy: ImagePolicy, opt: torch.optim.Optimizer, gen: torch.Generator
) -> tuple[int, dict[str, float]]:
    state = load_checkpoint(cfg.run_dir, fmt=CHECKPOINT_FORMAT)
    saved = {**state.get("bc_config", {}), "method": state.get("method")}
    require_same_settings(cfg.run_dir, saved, {**_config_dict(cfg), "method": "bc"}, RESUME_FIELDS)
    if "optimizer" not in state:
        raise CheckpointError(f"{cfg.run_dir}/checkpoint.pt predates resumable runs (no optimiser state)")
    update = int(state["update"])
    if update > cfg.updates:
        raise ValueError(f"{cfg.run_dir} is already at update {update}, past --updates {cfg.updates}")
    policy.load_state_dict(state["policy"])
    opt.load_state_dict(state["optimizer"])
    gen.set_state(state["generator"])
    set_rng_state(state["rng"])
    return update, dict(state["row"])
