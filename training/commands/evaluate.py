"""`asymlearn evaluate`: returns of a checkpoint (trainee or expert) or an ONNX policy in simulation.

Runs one episode on each of ``--episodes`` vectorised copies, deterministic (argmax/mean),
stochastic (sampled) or both, and prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

# First reset seed of evaluation episodes; the V-MAIL benchmark uses the same episodes, so its
# figures and `asymlearn evaluate`'s are comparable (reacher's targets differ per seed).
EVAL_SEED = 2024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", help="checkpoint file or run directory, or an exported .onnx policy")
    parser.add_argument(
        "--which",
        choices=["trainee", "expert"],
        default="trainee",
        help="checkpoint policy: the deployable trainee (default) or the state expert",
    )
    parser.add_argument("--env", default=None, help="environment name (default: the one it was trained on)")
    parser.add_argument("--episodes", type=int, default=64)
    parser.add_argument("--mode", choices=["deterministic", "stochastic", "both"], default="both")
    parser.add_argument("--seed", type=int, default=EVAL_SEED)


def evaluate_checkpoint(
    path: str | Path, which: str, episodes: int, mode: str, seed: int, env_name: str | None = None
) -> dict[str, Any]:
    import torch

    from sim_bridges.registry import make_batched
    from training.a2d.rollout import Actor
    from training.checkpoint import load_policy_for_export
    from training.evaluate import run_episodes

    torch.set_num_threads(1)
    module, meta = load_policy_for_export(path, which)
    env = make_batched(env_name or meta["environment"], episodes)
    actor = Actor(module, meta["observation"]["input"])  # type: ignore[arg-type]
    out: dict[str, Any] = {
        "policy": str(path),
        "which": which,
        "environment": env.info.name,
        "episodes": episodes,
        "algorithm": meta["algorithm"],
        "env_steps": meta["env_steps"],
    }
    for det in [True, False] if mode == "both" else [mode == "deterministic"]:
        r, _ = run_episodes(env, actor, det, seed, int(meta["observation"]["frame_window"] or 1))
        key = "deterministic" if det else "stochastic"
        out[key] = {
            "mean": float(r.mean()),
            "std": float(r.std()),
            "min": float(r.min()),
            "max": float(r.max()),
        }
    return out


def evaluate_onnx(path: str | Path, env_name: str | None, episodes: int, seed: int) -> dict[str, Any]:
    """Deterministic returns of an exported policy through the ONNX Runtime runner."""
    from policies.runtime import PolicyRunner
    from sim_bridges.registry import make_batched

    runner = PolicyRunner(path)
    md = runner.metadata
    name = env_name or md.provenance.environment
    if not name:
        raise ValueError("pass --env: the ONNX metadata names no environment")
    key = "image" if md.observation.kind == "image" else "state"
    env = None
    if key == "image" and md.observation.height == md.observation.width:
        # Render at the model's size where the environment can (dm_control, D'Claw): the frames
        # the policy was trained on, not a larger frame shrunk by the runner.
        try:
            env = make_batched(name, episodes, image_size=int(md.observation.height))
        except TypeError:  # this environment has a fixed camera size; the runner resizes
            env = None
    if env is None:
        env = make_batched(name, episodes)
    obs, _ = env.reset(seed=seed)
    start = np.ones(episodes, bool)
    active = np.ones(episodes, bool)
    ret = np.zeros(episodes)
    for _ in range(2 * int(env.info.horizon) + 1):
        a = runner.act_batch(obs[key], episode_start=start)
        obs, r, term, trunc, _ = env.step(a)
        done = np.asarray(term) | np.asarray(trunc)
        ret += np.where(active, r, 0.0)
        active &= ~done
        start = done
        if not active.any():
            break
    return {
        "policy": str(path),
        "environment": name,
        "episodes": episodes,
        "deterministic": {"mean": float(ret.mean()), "std": float(ret.std()), "returns": ret.tolist()},
    }


def run(args: argparse.Namespace) -> int:
    from training.checkpoint import CheckpointError

    try:
        if str(args.policy).endswith(".onnx"):
            out = evaluate_onnx(args.policy, args.env, args.episodes, args.seed)
        else:
            out = evaluate_checkpoint(args.policy, args.which, args.episodes, args.mode, args.seed, args.env)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"asymlearn evaluate: {exc}")
        return 1
    print(json.dumps(out, indent=2))
    return 0
