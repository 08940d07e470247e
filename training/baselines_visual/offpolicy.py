"""The online loop of the off-policy baselines (SQIL, DAC) on one camera environment.

The agent acts on stacks of K camera frames only; the privileged state is never read. The
first ``seed_steps`` actions are uniform random (SAC's usual warm-up), then each environment
step is followed by one update. Every ``eval_every`` environment steps the deterministic
policy is evaluated on fresh seeded episodes and a row (return vs environment steps) goes to
``progress.csv``; a checkpoint is written atomically at the same time. The environment's own
reward is only logged (``train_return``), never learned from.

Resuming (the default when ``run_dir`` holds a checkpoint): networks, optimisers, RNG streams
and the agent's replay (``replay.pt``, written atomically just before the checkpoint) come
back as they were at the last evaluation. The environment cannot be rewound mid-episode, so
a resumed run starts a fresh episode; the interrupted episode's steps stay in the replay.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from training.a2d.rollout import FrameWindow
from training.baselines_visual.dac import DACReward
from training.baselines_visual.dataset import FrameReplay
from training.baselines_visual.evaluation import CHECKPOINT_FORMAT, env_info, evaluate_policy
from training.baselines_visual.sac import DrQSAC, SACConfig
from training.baselines_visual.sqil import sqil_batch
from training.checkpoint import (
    CheckpointError,
    atomic_save,
    env_info_to_dict,
    load_checkpoint,
    require_same_settings,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from training.demos.episodes import load_episodes
from training.logger import RunLogger

METHODS = ("sqil", "dac")
REPLAY_FILE = "replay.pt"
# Config fields a resumed run must share with the checkpoint (env_steps, eval cadence may change).
RESUME_FIELDS = ("method", "task", "demos", "seed", "seed_steps", "batch_size", "sac")


@dataclass(frozen=True)
class OffPolicyConfig:
    method: str
    task: str
    demos: str
    run_dir: str
    env_steps: int = 20_000
    seed_steps: int = 1_000
    batch_size: int = 128
    eval_every: int = 5_000
    eval_episodes: int = 3
    seed: int = 0
    sac: SACConfig = field(default_factory=SACConfig)


def train_offpolicy(
    cfg: OffPolicyConfig, log: Callable[[str], None] = print, resume: bool = True
) -> dict[str, float]:
    """Run SQIL or DAC (resuming from ``run_dir``'s checkpoint, if any); returns the last evaluation row."""
    import sim_bridges

    if cfg.method not in METHODS:
        raise ValueError(f"unknown off-policy method {cfg.method!r} (have {', '.join(METHODS)})")
    if cfg.env_steps <= cfg.seed_steps:
        raise ValueError(f"env_steps ({cfg.env_steps}) must exceed seed_steps ({cfg.seed_steps})")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    episodes = load_episodes(cfg.demos)
    demos = FrameReplay.from_episodes(episodes, cfg.sac.frame_stack)
    h = demos.image_shape[0]
    env = sim_bridges.make(cfg.task, image_size=h)
    if env.info.image_shape != demos.image_shape or env.info.action_dim != demos.action_dim:
        env.close()
        raise ValueError(
            f"demos ({demos.image_shape}, {demos.action_dim}-d actions) do not match {cfg.task} "
            f"({env.info.image_shape}, {env.info.action_dim}-d actions)"
        )
    horizon = max(int(env.info.horizon), 1)
    agent = FrameReplay(
        cfg.env_steps + cfg.env_steps // horizon + 2, demos.image_shape, demos.action_dim, cfg.sac.frame_stack
    )
    sac = DrQSAC(demos.image_shape, demos.action_dim, cfg.sac, gen)
    dac = (
        DACReward(demos.image_shape, cfg.sac.frame_stack, demos.action_dim, gen)
        if cfg.method == "dac"
        else None
    )
    learner = _Learner(sac, dac, agent, gen, rng)
    start_step, train_returns, row = 0, [], {}
    if resume and Path(cfg.run_dir, "checkpoint.pt").exists():
        try:
            start_step, last_train, row = _restore(cfg, learner)
        except Exception:
            env.close()
            raise
        train_returns = [last_train] if not np.isnan(last_train) else []
        log(f"resumed {cfg.run_dir} at env step {start_step} ({len(agent)} agent transitions in replay)")
    logger = RunLogger(cfg.run_dir, start_iteration=start_step, tensorboard=False)
    expert_mean = float(np.mean([ep["reward"].sum() for ep in episodes]))
    log(f"{cfg.method.upper()} on {cfg.task}: {len(demos)} demo transitions, expert return {expert_mean:.1f}")

    window = FrameWindow(cfg.sac.frame_stack)
    obs, _ = env.reset(seed=cfg.seed + start_step)  # a resumed run starts a fresh, seeded episode
    window.reset(obs["image"][None])
    agent.begin_episode(obs["image"])
    train_return, stats = 0.0, {}
    resumed_at = time.perf_counter()
    start = resumed_at - float(row.get("wall_s", 0.0))
    try:
        for step in range(start_step + 1, cfg.env_steps + 1):
            if step <= cfg.seed_steps:
                action = rng.uniform(-1.0, 1.0, demos.action_dim).astype(np.float32)
            else:
                action = sac.act(torch.from_numpy(window.buf.copy()), explore=True)[0].numpy()
            obs, reward, terminated, truncated, _ = env.step(action)
            agent.add_step(action, obs["image"], reward, 0.0 if terminated else 1.0)
            train_return += reward
            if terminated or truncated:
                train_returns.append(train_return)
                rate = (step - start_step) / max(time.perf_counter() - resumed_at, 1e-9)
                log(f"env step {step}: episode return {train_return:.1f}, {rate:.1f} steps/s")
                train_return = 0.0
                obs, _ = env.reset()
                window.reset(obs["image"][None])
                agent.begin_episode(obs["image"])
            else:
                window.push(obs["image"][None], np.zeros(1, bool))
            if step > cfg.seed_steps:
                stats = _update(cfg, sac, dac, demos, agent, gen)
            if step % cfg.eval_every == 0 or step == cfg.env_steps:
                returns = evaluate_policy(sac.policy, cfg.task, h, cfg.eval_episodes, seed=10_000 + cfg.seed)
                row = {
                    "iteration": step,
                    "env_steps": step,
                    "eval_return_mean": float(returns.mean()),
                    "eval_return_std": float(returns.std()),
                    "train_return": float(train_returns[-1]) if train_returns else float("nan"),
                    "expert_return_mean": expert_mean,
                    **stats,
                    "wall_s": time.perf_counter() - start,
                }
                logger.log(row)
                log(f"env step {step}: eval return {row['eval_return_mean']:.1f} (expert {expert_mean:.1f})")
                _save(cfg, learner, step, row, h)
    finally:
        env.close()
        logger.close()
    return row


@dataclass
class _Learner:
    """Everything a checkpoint must capture for a run to resume."""

    sac: DrQSAC
    dac: DACReward | None
    agent: FrameReplay
    gen: torch.Generator
    rng: np.random.Generator


def _save(cfg: OffPolicyConfig, learner: _Learner, step: int, row: dict[str, float], image_size: int) -> None:
    """Replay first, then the checkpoint that names how much of it is valid (see module doc)."""
    sac, dac, agent, gen, rng = learner.sac, learner.dac, learner.agent, learner.gen, learner.rng
    atomic_save(Path(cfg.run_dir) / REPLAY_FILE, agent.state_dict())
    save_checkpoint(
        cfg.run_dir,
        {
            "method": cfg.method,
            "sac": sac.state_dict(),
            "sac_optimizers": sac.optimizer_state_dict(),
            "discriminator": dac.disc.state_dict() if dac is not None else {},
            "discriminator_optimizer": dac.opt.state_dict() if dac is not None else {},
            "offpolicy_config": dataclasses.asdict(cfg),
            "env_info": env_info_to_dict(env_info(cfg.task, image_size)),
            "env_steps": step,
            "replay_size": len(agent),
            "replay_frames": agent.num_frames,
            "generator": gen.get_state(),
            "numpy_generator": rng.bit_generator.state,
            "rng": rng_state(),
            "row": dict(row),
        },
        fmt=CHECKPOINT_FORMAT,
    )


def _restore(cfg: OffPolicyConfig, learner: _Learner) -> tuple[int, float, dict[str, float]]:
    """Load the checkpoint and replay into the fresh objects; returns (env step, last train return, row)."""
    sac, dac, agent, gen, rng = learner.sac, learner.dac, learner.agent, learner.gen, learner.rng
    state = load_checkpoint(cfg.run_dir, fmt=CHECKPOINT_FORMAT)
    require_same_settings(
        cfg.run_dir, state.get("offpolicy_config", {}), dataclasses.asdict(cfg), RESUME_FIELDS
    )
    if "sac_optimizers" not in state:
        raise CheckpointError(f"{cfg.run_dir}/checkpoint.pt predates resumable runs (no optimiser state)")
    step = int(state["env_steps"])
    if step > cfg.env_steps:
        raise ValueError(f"{cfg.run_dir} is already at env step {step}, past --env-steps {cfg.env_steps}")
    replay_path = Path(cfg.run_dir) / REPLAY_FILE
    try:
        replay = torch.load(replay_path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(
            f"{replay_path} is missing: the checkpoint cannot be resumed without it"
        ) from None
    except Exception as exc:
        raise CheckpointError(f"corrupt replay file {replay_path}: {type(exc).__name__}: {exc}") from exc
    agent.load_state_dict(replay, int(state["replay_size"]), int(state["replay_frames"]))
    sac.load_state_dict(state["sac"])
    sac.load_optimizer_state_dict(state["sac_optimizers"])
    if dac is not None:
        dac.disc.load_state_dict(state["discriminator"])
        dac.opt.load_state_dict(state["discriminator_optimizer"])
    gen.set_state(state["generator"])
    rng.bit_generator.state = state["numpy_generator"]
    set_rng_state(state["rng"])
    row = dict(state["row"])
    return step, float(row.get("train_return", float("nan"))), row


def _update(
    cfg: OffPolicyConfig,
    sac: DrQSAC,
    dac: DACReward | None,
    demos: FrameReplay,
    agent: FrameReplay,
    gen: torch.Generator,
) -> dict[str, float]:
    if dac is None:
        batch = sqil_batch(demos, agent, cfg.batch_size, gen)
        return sac.update(
            batch["obs"], batch["action"], batch["reward"], batch["next_obs"], batch["discount"]
        )
    half = cfg.batch_size // 2
    d_obs, d_act = demos.observations(demos.sample_rows(half, gen))
    a_obs, a_act = agent.observations(agent.sample_rows(half, gen))
    stats = dac.update(d_obs, d_act, a_obs, a_act)
    batch = agent.transitions(agent.sample_rows(cfg.batch_size, gen))
    reward = dac.reward(batch["obs"], batch["action"])
    stats.update(sac.update(batch["obs"], batch["action"], reward, batch["next_obs"], batch["discount"]))
    stats["dac_reward_mean"] = float(reward.mean())
    return stats
