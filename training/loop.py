"""The outer training loop: seeding, resume, evaluation cadence, logging, checkpoints, progress bar."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.a2d.algorithm import A2DTrainer, derive_seed
from training.checkpoint import (
    CheckpointError,
    env_info_to_dict,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from training.config import Config, ResumeConflictError, config_from_yaml, make_config, resume_conflicts
from training.logger import RunLogger


def run_dir_for(cfg: Config) -> Path:
    name = cfg.get("preset") or cfg.method
    return Path(cfg.log.root) / name.replace(",", "+") / f"seed{int(cfg.seed)}"


def make_envs(cfg: Config):
    from sim_bridges.registry import make_batched

    kwargs = dict(cfg.get("env_kwargs") or {})
    return make_batched(cfg.env, int(cfg.num_envs), **kwargs), make_batched(
        cfg.env, int(cfg.eval.episodes), **kwargs
    )


def expert_state_for(cfg: Config, progress: bool = False) -> dict[str, Any] | None:
    """The fixed expert's policy weights for AIL / Pre-Enc; trains the RL (MDP) preset first if needed."""
    if cfg.method not in ("ail", "preenc") or cfg.get("expert_script"):
        return None  # no expert, or a hand-coded one (policies/scripted.py) with no weights
    if cfg.expert_checkpoint:
        path = Path(cfg.expert_checkpoint)
    elif cfg.expert_preset:
        ecfg = make_config(
            cfg.expert_preset,
            [f"seed={int(cfg.seed)}", f"log.root={cfg.log.root}", f"threads={int(cfg.threads)}"],
        )
        path = run_dir_for(ecfg) / "checkpoint.pt"
        done = False
        if path.exists():
            st = load_checkpoint(path)
            done = int(st["trainer"]["env_steps"]) >= int(ecfg.total_steps)
        if not done:
            print(f"[asymlearn] training the expert first: preset {cfg.expert_preset}, seed {cfg.seed}")
            train(ecfg, progress=progress)
    else:
        raise ValueError(f"method {cfg.method!r} needs expert_checkpoint or expert_preset")
    state = load_checkpoint(path)
    nets = state["trainer"]["nets"]
    if "actor" not in nets:
        raise CheckpointError(f"{path} holds no state policy to use as the expert")
    return nets["actor"]


@dataclass
class TrainHooks:
    """Callbacks for drivers that run this loop over another environment (the online ROS trainer).

    ``retry(exc, attempt)`` is asked when an iteration raises: True runs the same iteration
    again (its data depends only on (seed, iteration), so nothing is lost but time), False
    re-raises. ``after_save(trainer, checkpoint_path)`` runs after each checkpoint.
    """

    retry: Callable[[Exception, int], bool] | None = None
    after_save: Callable[[A2DTrainer, Path], None] | None = None


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    random.seed(seed)


def train(
    cfg: Config,
    run_dir: Path | str | None = None,
    resume: bool = True,
    progress: bool | None = None,
    stop_after_iterations: int | None = None,
    envs: tuple[Any, Any] | None = None,
    hooks: TrainHooks | None = None,
) -> dict[str, Any]:
    """Train ``cfg`` into ``run_dir`` (default runs/<preset>/seed<k>); returns a summary dict.

    ``stop_after_iterations`` stops early (for tests that emulate a kill); a later call with
    ``resume=True`` continues from the checkpoint exactly as an uninterrupted run would.
    ``envs`` = (training env, evaluation env) replaces the ones built from ``cfg``.
    """
    torch.set_num_threads(int(cfg.threads))
    run_dir = Path(run_dir) if run_dir is not None else run_dir_for(cfg)
    progress = bool(cfg.log.progress) if progress is None else progress
    seed_everything(int(cfg.seed))
    env, eval_env = make_envs(cfg) if envs is None else envs
    hooks = hooks or TrainHooks()
    trainer = A2DTrainer(cfg, env, env.info, expert_state_for(cfg, progress))
    wall = 0.0
    last_eval: dict[str, float] = {}
    ckpt = run_dir / "checkpoint.pt"
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt)
        conflicts = resume_conflicts(config_from_yaml(state["config"]), cfg)
        if conflicts:
            raise ResumeConflictError(
                f"{ckpt} was trained with a different config ({'; '.join(conflicts)}); continue it with "
                "the same preset and --set values, or start afresh with --no-resume or another --run-dir"
            )
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"])
        wall = float(state.get("wall_time", 0.0))
        last_eval = dict(state.get("last_eval", {}) or {})
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(cfg.to_yaml())
    logger = RunLogger(run_dir, trainer.iteration, trainer.env_steps, bool(cfg.log.tensorboard))
    per_iter = int(cfg.num_envs) * int(cfg.rollout_steps)
    n_iters = math.ceil(int(cfg.total_steps) / per_iter)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=n_iters * per_iter,
            initial=trainer.env_steps,
            unit="step",
            dynamic_ncols=True,
            desc=str(cfg.get("preset") or cfg.method),
        )
    done_iters = 0
    try:
        while trainer.iteration < n_iters:
            if stop_after_iterations is not None and done_iters >= stop_after_iterations:
                break
            t0 = time.perf_counter()
            steps_before = trainer.env_steps
            stats = _iteration_with_retries(trainer, hooks)
            train_time = time.perf_counter() - t0
            row: dict[str, Any] = {"iteration": trainer.iteration, "env_steps": trainer.env_steps, **stats}
            every = int(cfg.eval.every)
            if every > 0 and (trainer.iteration % every == 0 or trainer.iteration == n_iters):
                t1 = time.perf_counter()
                last_eval = trainer.evaluate(eval_env, derive_seed(cfg.eval.seed))
                row.update(last_eval)
                row["eval_time"] = time.perf_counter() - t1
            wall += time.perf_counter() - t0
            row.update(train_time=train_time, wall_time=wall)
            logger.log(row)
            if trainer.iteration % int(cfg.log.checkpoint_every) == 0 or trainer.iteration == n_iters:
                t_save = time.perf_counter()
                save_checkpoint(
                    run_dir,
                    {
                        "config": cfg.to_yaml(),
                        "env_info": env_info_to_dict(env.info),
                        "trainer": trainer.state_dict(),
                        "rng": rng_state(),
                        "wall_time": wall,
                        "last_eval": last_eval,
                    },
                )
                if hooks.after_save is not None:
                    hooks.after_save(trainer, ckpt)
                wall += time.perf_counter() - t_save  # counted from the next row on
            done_iters += 1
            if bar is not None:
                bar.update(trainer.env_steps - steps_before)
                post = {"ret": last_eval.get("eval_return_det", float("nan")), "beta": stats.get("beta", 1.0)}
                if "divergence" in last_eval:
                    post["div"] = last_eval["divergence"]
                bar.set_postfix({k: f"{v:.3g}" for k, v in post.items()})
    finally:
        if bar is not None:
            bar.close()
        logger.close()
    return {
        "run_dir": str(run_dir),
        "iteration": trainer.iteration,
        "env_steps": trainer.env_steps,
        "wall_time": wall,
        "last_eval": last_eval,
        "finished": trainer.iteration >= n_iters,
    }


def _iteration_with_retries(trainer: A2DTrainer, hooks: TrainHooks) -> dict[str, float]:
    attempt = 0
    while True:
        try:
            return trainer.train_iteration()
        except Exception as exc:
            attempt += 1
            if hooks.retry is None or not hooks.retry(exc, attempt):
                raise
