"""Tiny BC / SQIL / DAC configurations on the 16 px cartpole demo (the `demos` fixture)."""

from __future__ import annotations

from pathlib import Path

from training.baselines_visual.bc import BCConfig
from training.baselines_visual.offpolicy import OffPolicyConfig
from training.baselines_visual.sac import SACConfig

QUIET = {"log": lambda _: None}


def tiny_bc_config(demos: Path, run_dir: Path, updates: int) -> BCConfig:
    return BCConfig(
        task="cartpole_swingup",
        demos=str(demos),
        run_dir=str(run_dir),
        frame_stack=2,
        updates=updates,
        batch_size=16,
        hidden=(32,),
        features=16,
        shift_pad=1,
        eval_every=3,
        eval_episodes=1,
    )


def tiny_offpolicy_config(
    method: str, demos: Path, run_dir: Path, env_steps: int, batch_size: int = 8
) -> OffPolicyConfig:
    return OffPolicyConfig(
        method=method,
        task="cartpole_swingup",
        demos=str(demos),
        run_dir=str(run_dir),
        env_steps=env_steps,
        seed_steps=16,
        batch_size=batch_size,
        eval_every=12,
        eval_episodes=1,
        sac=SACConfig(frame_stack=2, hidden=32, features=16, shift_pad=1),
    )
