"""Algorithm 2: zero-shot transfer to a new imitation task with no environment steps.

1. Source phase: Algorithm 1 on every source task with one shared world model (one model
   optimiser) and one pooled agent buffer B_π; each task keeps its own actor, value and
   discriminator (the tasks' experts differ). Tasks are interleaved episode by episode.
2. Target phase: a fresh actor, value and discriminator; repeat {model update on
   B_E^target ∪ B_π (eq. 7); discriminator and actor/value updates on imagined rollouts from
   the target's expert posteriors and model batch (eqs. 6, 8)}. Nothing touches an env.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from training.config import Config
from training.vmail.agent import VMAILAgent, WorldModel
from training.vmail.algorithm import run_episode, sample_model_batch
from training.vmail.replay import SequenceReplay


class SourceTask:
    """One source task: its environment, its expert buffer and its behaviour heads."""

    def __init__(self, name: str, env: Any, expert: SequenceReplay, agent: VMAILAgent) -> None:
        self.name, self.env, self.expert, self.agent = name, env, expert, agent


def make_source_tasks(
    cfg: Config, tasks: Sequence[tuple[str, Any, SequenceReplay]]
) -> tuple[list[SourceTask], WorldModel]:
    """Agents for (name, env, expert replay) triples that share one world model and model optimiser."""
    if not tasks:
        raise ValueError("Algorithm 2 needs at least one source task")
    dims = {int(env.info.action_dim) for _, env, _ in tasks}
    if len(dims) != 1:
        raise ValueError(f"source tasks must share the action space (shared dynamics); got {sorted(dims)}")
    first = VMAILAgent(cfg, dims.pop())
    out = [SourceTask(tasks[0][0], tasks[0][1], tasks[0][2], first)]
    for name, env, expert in tasks[1:]:
        agent = VMAILAgent(cfg, first.action_dim, world=first.world, model_opt=first.opts["model"])
        out.append(SourceTask(name, env, expert, agent))
    return out, first.world


def _update(
    agent: VMAILAgent, expert: SequenceReplay, pool: SequenceReplay, cfg: Config, rng: np.random.Generator
) -> dict[str, float]:
    t = cfg.train
    model_batch = sample_model_batch(expert, pool, t, rng)
    return agent.update(model_batch, expert.sample(t.batch, t.length))


def train_sources(
    cfg: Config, sources: list[SourceTask], pool: SequenceReplay, episodes: int, seed: int = 0
) -> list[dict[str, float]]:
    """Algorithm 2, line 3: Algorithm 1 on all source tasks (round robin), pooled B_π; per-episode rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for task in sources:
        for _ in range(cfg.train.pretrain):
            _update(task.agent, task.expert, pool, cfg, rng)
    for k in range(episodes):
        task = sources[k % len(sources)]
        episode, ret, steps = run_episode(task.env, task.agent, cfg, cfg.train.expl_amount, seed=seed + k)
        pool.add(episode)
        n_updates = max(1, round(cfg.train.train_steps * steps / cfg.train.train_every))
        metrics = {}
        for _ in range(n_updates):
            metrics = _update(task.agent, task.expert, pool, cfg, rng)
        rows.append({"task": task.name, "return": ret, **metrics})
    return rows


def zero_shot_transfer(
    cfg: Config,
    world: WorldModel,
    target_expert: SequenceReplay,
    pool: SequenceReplay,
    updates: int,
    seed: int = 0,
    model_opt: Any | None = None,
    on_progress: Callable[[int, VMAILAgent], None] | None = None,
    progress_every: int = 0,
) -> tuple[VMAILAgent, list[dict[str, float]]]:
    """Algorithm 2, lines 2 and 4–8: fresh policy/value/D, fine-tune the shared model, no env steps.

    ``on_progress(update, agent)`` runs every ``progress_every`` updates (and after the last),
    for evaluation curves; it must not train the agent.
    """
    import torch

    torch.manual_seed(seed)
    agent = VMAILAgent(cfg, world.rssm.action_dim, world=world, model_opt=model_opt)
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(1, updates + 1):
        rows.append(_update(agent, target_expert, pool, cfg, rng))
        if on_progress is not None and ((progress_every > 0 and k % progress_every == 0) or k == updates):
            on_progress(k, agent)
    return agent, rows
