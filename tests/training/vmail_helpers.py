"""Shared pieces of the V-MAIL tests: a tiny model size and synthetic episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.config import Config
from training.demos.episodes import write_episode
from training.vmail.algorithm import vmail_config

A = 2
TINY = [
    "model.stoch=4",
    "model.deter=16",
    "model.hidden=16",
    "model.cnn_depth=4",
    "disc.units=16",
    "behavior.units=16",
    "behavior.horizon=4",
    "train.batch=4",
    "train.length=8",
]


def synthetic_episode(rng: np.random.Generator, steps: int, size: int = 32) -> dict[str, np.ndarray]:
    """A bright square that the actions move around a dark image: learnable dynamics."""
    pos = rng.integers(4, size - 12, 2).astype(float)
    images, actions, states = [], [np.zeros(A, np.float32)], []
    for t in range(steps + 1):
        if t:
            a = rng.uniform(-1, 1, A).astype(np.float32)
            pos = np.clip(pos + 3 * a, 0, size - 8)
            actions.append(a)
        img = np.zeros((size, size, 3), np.uint8)
        r, c = pos.astype(int)
        img[r : r + 8, c : c + 8] = (255, 200, 50)
        images.append(img)
        states.append(pos / size)  # the privileged state: where the square is
    n = steps + 1
    return {
        "image": np.stack(images),
        "action": np.stack(actions),
        "reward": np.zeros(n, np.float32),
        "discount": np.ones(n, np.float32),
        "state": np.stack(states).astype(np.float32),
    }


def random_episodes(directory: Path, n: int, steps: int, action_dim: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        action = rng.uniform(-1, 1, (steps + 1, action_dim)).astype(np.float32)
        action[0] = 0
        write_episode(
            directory,
            {
                "image": rng.integers(0, 256, (steps + 1, 64, 64, 3), dtype=np.uint8),
                "action": action,
                "reward": np.r_[0.0, np.ones(steps)].astype(np.float32),
                "discount": np.ones(steps + 1, np.float32),
                "state": np.zeros((steps + 1, 5), np.float32),
            },
        )


def one_episode_config(tmp_path: Path, *extra: str) -> Config:
    """Tiny model, random 'expert' episodes (5-d state, as cartpole's), one 500-step episode."""
    random_episodes(tmp_path / "expert", 2, 20, action_dim=1)
    return vmail_config(
        "vmail_cpu",
        [
            *TINY,
            "env=cartpole_swingup",
            f"expert_dirs=[{tmp_path / 'expert'}]",
            "train.total_steps=500",
            "train.pretrain=2",
            "train.train_every=500",
            "train.train_steps=2",
            "train.eval_every=100000",
            *extra,
        ],
    )


def train_logged_run(cfg: Config, run_dir: Path) -> Path:
    """Train ``cfg`` into ``run_dir`` with progress.csv, as `asymlearn train-vmail` writes it."""
    from training.logger import RunLogger
    from training.vmail.algorithm import VMAILTrainer

    logger = RunLogger(run_dir)
    try:
        VMAILTrainer(cfg, run_dir, resume=False).train(logger)
    finally:
        logger.close()
    return run_dir
