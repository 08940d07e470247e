"""Algorithm 1's outer loop: collect with the current belief + policy, update, evaluate, checkpoint.

Schedule as in the authors' code (spec vmail.md §4): ``pretrain`` updates on the expert data
before the first collection, then ``train_steps`` updates every ``train_every`` env steps (env
steps = agent steps × ``action_repeat``); a deterministic evaluation episode every
``eval_every`` env steps. The world model trains on B_E ∪ B_π, the discriminator's expert side
on B_E only. Agent episodes are written to ``run_dir/episodes`` in the shared format, so a
resumed run reloads B_π from disk.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.checkpoint import (
    LATEST,
    CheckpointError,
    atomic_save,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from training.config import Config, config_from_yaml, make_config
from training.demos.episodes import write_episode
from training.vmail.agent import VMAILAgent
from training.vmail.replay import SequenceReplay, fit_images, union_sample

log = logging.getLogger(__name__)
FORMAT = "asymlearn-vmail-v1"
BEST = "best.pt"  # the policy of the best evaluation (train.keep_best)
PRESETS = Path(__file__).resolve().parent.parent / "configs" / "vmail.yaml"


def make_env(cfg: Config) -> Any:
    """The run's environment, rendering at the model's size.

    A larger frame shrunk by INTER_AREA is not the frame the demos (recorded at that size)
    show, and the learner would deploy on other pixels.
    """
    import sim_bridges

    return sim_bridges.make(cfg.env, **{"image_size": int(cfg.image_size), **dict(cfg.env_kwargs)})


def agent_from_checkpoint(state: dict[str, Any]) -> tuple[Config, VMAILAgent]:
    """(config, agent with the saved weights) from a loaded checkpoint; no replay, no optimiser.

    The agent is built on the CPU whatever device trained it: export and evaluation run there.
    """
    cfg = config_from_yaml(state["config"])
    cfg.device = "cpu"
    angles = tuple(state.get("state_angle_dims", ()))  # older checkpoints: none
    agent = VMAILAgent(
        cfg, int(state["action_dim"]), state_dim=int(state.get("state_dim", 0)), state_angle_dims=angles
    )
    agent.load_state_dict(state["agent"])
    agent.updates = int(state["updates"])
    return cfg, agent


def vmail_config(presets: str | list[str], overrides: list[str] | None = None) -> Config:
    """defaults ← presets ← overrides from training/configs/vmail.yaml."""
    return make_config(presets, overrides, path=PRESETS)


class ActionScaler:
    """Maps the policy's [-1, 1] actions to the environment's bounds (the authors' NormalizeActions)."""

    def __init__(self, low: Any, high: Any) -> None:
        self.low, self.high = np.asarray(low, np.float32), np.asarray(high, np.float32)
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))):
            raise ValueError("V-MAIL needs a bounded continuous action space")

    def __call__(self, action: np.ndarray) -> np.ndarray:
        return self.low + (np.clip(action, -1.0, 1.0) + 1.0) * 0.5 * (self.high - self.low)


def run_episode(
    env: Any, agent: VMAILAgent, cfg: Config, explore: float, seed: int | None = None
) -> tuple[dict[str, np.ndarray], float, int]:
    """One episode in the shared episode format; returns (episode, return, env steps)."""
    if env.info.discrete_actions is not None:
        raise ValueError(f"environment {env.info.name!r} has discrete actions; V-MAIL needs continuous ones")
    scale = ActionScaler(env.action_space.low, env.action_space.high)
    obs, _ = env.reset(seed=seed)
    A = agent.action_dim
    images, actions = [obs["image"]], [np.zeros(A, np.float32)]
    rewards, discounts, states = [0.0], [1.0], [obs.get("state", np.zeros(0, np.float32))]
    state, total, steps, done = None, 0.0, 0, False
    while not done:
        image = obs["image"] if obs["image"].ndim == 3 else obs["image"][..., None]
        frame = fit_images(image[None], cfg.image_size)
        action, state = agent.act(frame, state, explore=explore)
        reward, discount = 0.0, 1.0
        for _ in range(cfg.train.action_repeat):
            obs, r, terminated, truncated, _ = env.step(scale(action[0]))
            reward, steps = reward + float(r), steps + 1
            if terminated or truncated:
                done, discount = True, 0.0 if terminated else 1.0
                break
        images.append(obs["image"])
        actions.append(action[0].astype(np.float32))
        rewards.append(reward)
        discounts.append(discount)
        states.append(obs.get("state", np.zeros(0, np.float32)))
        total += reward
    episode = {
        "image": np.stack(images).astype(np.uint8),
        "action": np.stack(actions),
        "reward": np.asarray(rewards, np.float32),
        "discount": np.asarray(discounts, np.float32),
        "state": np.stack(states).astype(np.float32),
    }
    return episode, total, steps


def sample_model_batch(
    expert: SequenceReplay, policy: SequenceReplay, t: Any, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Windows of B_E ∪ B_π for the model update, marked ``from_policy`` (train.policy_share)."""
    shares = None if t.policy_share < 0 else [1.0 - t.policy_share, t.policy_share]
    batch = union_sample([expert, policy], t.batch, t.length, rng, shares)
    batch["from_policy"] = batch.pop("source") == 1
    return batch


class VMAILTrainer:
    """Algorithm 1 on one environment; resumable from ``run_dir/checkpoint.pt``."""

    def __init__(self, cfg: Config, run_dir: Path | str, env: Any | None = None, resume: bool = True) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        torch.set_num_threads(int(cfg.threads))
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.env = env if env is not None else make_env(cfg)
        self.state_dim = int(self.env.info.state_dim)  # sizes the DEV state head, if the config asks
        angles = tuple(getattr(self.env, "state_angle_dims", ()))  # (cos, sin) targets of the head
        self.state_angle_dims = angles
        self.agent = VMAILAgent(
            cfg, int(self.env.info.action_dim), state_dim=self.state_dim, state_angle_dims=angles
        )
        with_state = self.agent.world.state_head is not None
        starts = float(cfg.train.start_fraction)
        replay = {"start_fraction": starts, "with_state": with_state}
        self.expert = SequenceReplay(cfg.image_size, cfg.channels, seed=cfg.seed, **replay)
        if not cfg.expert_dirs:
            raise ValueError("config expert_dirs is empty: V-MAIL needs expert episode directories")
        for d in cfg.expert_dirs:
            self.expert.load_dir(d)
        if with_state:  # the head's targets in units of the expert's spread
            expert_states = np.concatenate([e["state"] for e in self.expert.episodes])
            self.agent.world.state_head.set_normaliser(expert_states)
        self.policy = SequenceReplay(cfg.image_size, cfg.channels, seed=cfg.seed + 1, **replay)
        self.rng = np.random.default_rng(cfg.seed)
        self.env_steps, self.episodes, self.pretrained = 0, 0, False
        self.last_eval: float | None = None
        self.last_eval_steps: int | None = None  # env steps when it was taken (plots need it)
        self.best_eval: float | None = None  # the evaluation return best.pt was saved at
        if resume and (self.run_dir / LATEST).exists():
            self._restore()

    # -- persistence ---------------------------------------------------------------------
    def _restore(self) -> None:
        state = load_checkpoint(self.run_dir, fmt=FORMAT)
        self._check_fits(state)
        try:
            self.agent.load_state_dict(state["agent"])
        except RuntimeError as exc:  # torch lists every mismatched tensor; name the cause first
            raise CheckpointError(
                f"{self.run_dir / LATEST} holds networks of other sizes than this config builds "
                f"(resume with the run's own --preset/--set, or start a new --run-dir): {exc}"
            ) from exc
        self.agent.load_optimizer_state(state["optimizers"])
        self.agent.updates = int(state["updates"])
        self.env_steps, self.episodes = int(state["env_steps"]), int(state["episodes"])
        self.pretrained = True
        known = [b for b in (state.get("best_eval"), self._best_on_disk()) if b is not None]
        self.best_eval = max(known) if known else None
        set_rng_state(state["rng"])
        episodes_dir = self.run_dir / "episodes"
        if episodes_dir.exists() and any(episodes_dir.glob("*.npz")):
            self.policy.load_dir(episodes_dir)

    def _check_fits(self, state: dict[str, Any]) -> None:
        """Refuse a checkpoint of another task or state head before loading a single weight.

        Resuming with other settings would otherwise train on with the wrong environment or die
        in ``load_state_dict`` with a list of tensor shapes; neither says what to do.
        """
        saved_env = config_from_yaml(state["config"]).env
        saved_angles = tuple(state.get("state_angle_dims", ()))
        where = self.run_dir / LATEST
        if saved_env != self.cfg.env:
            raise CheckpointError(
                f"{where} was trained on env={saved_env}, this run asks for env={self.cfg.env}: "
                "use another --run-dir, or --no-resume to start over in this one"
            )
        if self.agent.world.state_head is not None and saved_angles != self.state_angle_dims:
            raise CheckpointError(
                f"{where} has a state head for angles {list(saved_angles)} of the state, "
                f"{self.cfg.env} now names {list(self.state_angle_dims)} (checkpoints from before "
                "the (cos, sin) head cannot resume; `asymlearn export` still reads them): "
                "use another --run-dir, or --no-resume to start over in this one"
            )

    def _best_on_disk(self) -> float | None:
        """The evaluation return ``best.pt`` was saved at, if it exists.

        A kill after ``best.pt`` is written but before the next ``checkpoint.pt`` leaves the
        checkpoint with an older best; resuming from that alone would let a weaker evaluation
        overwrite the better policy.
        """
        path = self.run_dir / BEST
        if not path.exists():
            return None
        try:
            best = load_checkpoint(path, fmt=FORMAT).get("best_eval")
        except CheckpointError as exc:  # written atomically, so only damage after the fact
            log.warning("ignoring %s when resuming: %s", path, exc)
            return None
        return None if best is None else float(best)

    def save(self) -> Path:
        return save_checkpoint(self.run_dir, self._payload(), fmt=FORMAT)

    def save_best(self) -> Path:
        """Keep the policy of the best evaluation so far as ``run_dir/best.pt``.

        Adversarial imitation can learn a task and lose it again later in the run (README,
        eighth round); the last checkpoint alone would throw the good policy away. The file has
        the checkpoint's format, so ``asymlearn export run_dir/best.pt`` works on it.
        """
        payload = {"format": FORMAT, **self._payload(), "eval_env_steps": self.last_eval_steps}
        return atomic_save(self.run_dir / BEST, payload)

    def _payload(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_yaml(),
            "agent": self.agent.state_dict(),
            "optimizers": self.agent.optimizer_state(),
            "updates": self.agent.updates,
            "env_steps": self.env_steps,
            "episodes": self.episodes,
            "action_dim": self.agent.action_dim,
            "state_dim": self.state_dim,
            "state_angle_dims": list(self.state_angle_dims),
            "rng": rng_state(),
            "best_eval": self.best_eval,
        }

    # -- Algorithm 1 ---------------------------------------------------------------------
    def update(self) -> dict[str, float]:
        t = self.cfg.train
        model_batch = sample_model_batch(self.expert, self.policy, t, self.rng)
        expert_batch = self.expert.sample(t.batch, t.length)
        return self.agent.update(model_batch, expert_batch)

    def train(self, logger: Any | None = None) -> dict[str, Any]:
        cfg, t = self.cfg, self.cfg.train
        metrics: dict[str, float] = {}
        if not self.pretrained:
            for _ in range(t.pretrain):
                metrics = self.update()
            self.pretrained = True
        since_train, since_eval = 0, t.eval_every  # evaluate first, like the authors' loop
        while self.env_steps < t.total_steps:
            if since_eval >= t.eval_every:
                seeds = [10_000 + self.episodes * t.eval_episodes + k for k in range(t.eval_episodes)]
                returns = [run_episode(self.env, self.agent, cfg, 0.0, seed=s)[1] for s in seeds]
                self.last_eval = float(np.mean(returns))
                self.last_eval_steps = self.env_steps
                since_eval = 0
                if t.keep_best and (self.best_eval is None or self.last_eval > self.best_eval):
                    self.best_eval = self.last_eval
                    self.save_best()
            episode, ret, steps = run_episode(self.env, self.agent, cfg, t.expl_amount, seed=self.episodes)
            write_episode(self.run_dir / "episodes", episode)
            self.policy.add(episode)
            self.env_steps += steps
            self.episodes += 1
            since_train += steps
            since_eval += steps
            t0 = time.perf_counter()
            while since_train >= t.train_every:
                for _ in range(t.train_steps):
                    metrics = self.update()
                since_train -= t.train_every
            row = {
                "iteration": self.episodes,
                "env_steps": self.env_steps,
                "episodes": self.episodes,
                "train_return": ret,
                "eval_return": self.last_eval,
                "eval_steps": self.last_eval_steps,
                "best_eval": self.best_eval,
                "updates": self.agent.updates,
                "update_s": time.perf_counter() - t0,
                **metrics,
            }
            if logger is not None:
                logger.log(row)
            log.info("%s", {k: v for k, v in row.items() if v is not None})
            self.save()
        return {"env_steps": self.env_steps, "episodes": self.episodes, "eval_return": self.last_eval}
