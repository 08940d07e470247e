"""Roll out a privileged expert and store its visual demonstrations as episode files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.demos.episodes import EpisodeRecorder, write_episode
from training.demos.experts import make_expert


@dataclass(frozen=True)
class DemoResult:
    path: Path
    seed: int
    ret: float
    length: int


def run_expert_episode(env: Any, expert: Any, seed: int, recorder: EpisodeRecorder | None = None) -> float:
    """One expert episode reset with ``seed``; its return. ``recorder`` keeps its frames and actions."""
    obs, _ = env.reset(seed=seed)
    expert.reset()
    if recorder is not None:
        recorder.start(obs, env.info.action_dim)
    total, done = 0.0, False
    while not done:
        action = expert.act(obs["state"])
        obs, reward, terminated, truncated, _ = env.step(action)
        if recorder is not None:
            recorder.add(action, obs, reward, 0.0 if terminated else 1.0)
        total += float(reward)
        done = terminated or truncated
    return total


def collect_demos(
    task: str,
    episodes: int,
    out: Path | str,
    *,
    seed: int = 0,
    image_size: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> list[DemoResult]:
    """Record ``episodes`` expert episodes of ``task`` (episode i reset with seed + i) under ``out``.

    Also writes ``out/expert_returns.json`` (task, seeds, returns, mean), the expert reference
    that imitation results are compared against. ``env_kwargs`` picks a task variant (e.g. a
    D'Claw turn target).
    """
    import sim_bridges

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    kwargs = dict(env_kwargs or {})
    if image_size is not None:
        kwargs["image_size"] = image_size
    env = sim_bridges.make(task, **kwargs)
    results: list[DemoResult] = []
    try:
        expert = make_expert(task, env)
        for i in range(episodes):
            rec = EpisodeRecorder()
            total = run_expert_episode(env, expert, seed + i, rec)
            path = write_episode(out, rec.episode())
            results.append(DemoResult(path, seed + i, total, len(rec)))
    finally:
        env.close()
    returns = [r.ret for r in results]
    summary = {
        "task": task,
        "episodes": len(results),
        "seeds": [r.seed for r in results],
        "returns": returns,
        "mean_return": float(np.mean(returns)),
        "files": [r.path.name for r in results],
    }
    Path(out, "expert_returns.json").write_text(json.dumps(summary, indent=2) + "\n")
    return results


def expert_returns(
    task: str, episodes: int, *, seed: int = 0, env_kwargs: dict[str, Any] | None = None
) -> list[float]:
    """The scripted expert's returns on episodes reset with seed, seed + 1, ... (nothing recorded).

    Benchmarks score a learnt policy on fixed evaluation seeds; the expert's return on those same
    episodes is the fair reference (on point_mass the start alone moves its return from 851 to 969).
    """
    import sim_bridges

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    kwargs = dict(env_kwargs or {})
    try:
        env = sim_bridges.make(task, render=False, **kwargs)
    except TypeError:  # an environment that always renders
        env = sim_bridges.make(task, **kwargs)
    try:
        expert = make_expert(task, env)
        returns = [run_expert_episode(env, expert, seed + i) for i in range(episodes)]
    finally:
        env.close()
    return returns
