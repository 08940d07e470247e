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
            obs, _ = env.reset(seed=seed + i)
            expert.reset()
            rec = EpisodeRecorder()
            rec.start(obs, env.info.action_dim)
            total, done = 0.0, False
            while not done:
                action = expert.act(obs["state"])
                obs, reward, terminated, truncated, _ = env.step(action)
                rec.add(action, obs, reward, 0.0 if terminated else 1.0)
                total += reward
                done = terminated or truncated
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
