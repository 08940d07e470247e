"""Zero-shot transfer (V-MAIL Algorithm 2) on a CPU-sized task family: D'Claw turn targets.

Task family: DClawTurnFixed with the valve target at another angle. The target is not drawn
in the camera image, so only the demonstrations say which task is meant. Source tasks turn
to +pi/2 and -pi/2; the new task turns to +pi (ROBEL's own DClawTurnFixed). Each task has
10 scripted-expert demonstrations at 32 px.

Compared, all with zero environment steps on the new task:
- V-MAIL transfer: Algorithm 1 on the sources with one shared world model and a pooled
  agent buffer, then a fresh actor, value and discriminator trained on the new task's demos
  and the pooled buffer, with the model fine-tuned (``training/vmail/transfer.py``);
- BC on the new task's demonstrations (``training/baselines_visual/bc.py``);
- direct transfer: each source task's V-MAIL policy run on the new task.

D'Claw returns are negative for most behaviour (the reward penalises distance to the
target), so "% of expert" is reported as a normalised score: 0 = holding the reset pose,
100 = the expert, (R - R_hold) / (R_expert - R_hold) x 100. Raw returns are in the JSON.
Evaluation episodes (deterministic policies) are the only steps taken on the new task.

Run: ``asymlearn benchmark vmail_transfer [--source-episodes 150] [--target-updates 1000]``;
writes docs/benchmarks/vmail_transfer.json and .png (runs and demos under --work-dir).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json

TASK = "dclaw_turn"
SOURCES = {"turn +pi/2": math.pi / 2, "turn -pi/2": -math.pi / 2}
TARGET = ("turn +pi", math.pi)
IMAGE_SIZE = 32


def normalised(ret: float, hold: float, expert: float) -> float:
    """0 = holding the reset pose, 100 = the expert."""
    if expert == hold:
        raise ValueError("expert and reset-pose returns coincide: the score is undefined")
    return 100.0 * (ret - hold) / (expert - hold)


def hold_return(target: float) -> float:
    """Return of holding the reset pose for a whole episode (the scripted expert's hold action)."""
    import sim_bridges
    from training.demos.experts import DClawGaitExpert

    env = sim_bridges.make(TASK, image_size=IMAGE_SIZE, target=target, render=False)
    try:
        obs, _ = env.reset(seed=0)
        hold = DClawGaitExpert().act(np.zeros_like(obs["state"]))  # zero target error: hold
        total, done = 0.0, False
        while not done:
            _, r, terminated, truncated, _ = env.step(hold)
            total, done = total + float(r), terminated or truncated
        return total
    finally:
        env.close()


def vmail_return(agent: Any, cfg: Any, target: float) -> float:
    """One deterministic episode (the task has no randomness)."""
    import sim_bridges
    from training.vmail.algorithm import run_episode

    env = sim_bridges.make(TASK, image_size=IMAGE_SIZE, target=target)
    try:
        return float(run_episode(env, agent, cfg, 0.0, seed=10_000)[1])
    finally:
        env.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import sim_bridges
    from training.baselines_visual.bc import BCConfig, train_bc
    from training.demos.collect import collect_demos
    from training.vmail.algorithm import vmail_config
    from training.vmail.replay import SequenceReplay
    from training.vmail.transfer import make_source_tasks, train_sources, zero_shot_transfer

    torch.set_num_threads(args.threads)
    work = Path(args.work_dir)
    tasks = {**SOURCES, TARGET[0]: TARGET[1]}
    demo_dirs, experts = {}, {}
    for name, target in tasks.items():
        d = work / "demos" / name.replace(" ", "_").replace("/", "").replace("+", "p").replace("-", "m")
        if not (d / "expert_returns.json").exists():
            collect_demos(TASK, 10, d, image_size=IMAGE_SIZE, env_kwargs={"target": target})
        demo_dirs[name] = d
        experts[name] = json.loads((d / "expert_returns.json").read_text())["mean_return"]
    holds = {name: hold_return(target) for name, target in tasks.items()}
    print(f"expert returns {experts}; reset-pose returns {holds}", flush=True)

    cfg = vmail_config(args.preset, ["behavior.horizon=10", f"threads={args.threads}", f"seed={args.seed}"])

    def replay(name: str, seed: int) -> SequenceReplay:
        r = SequenceReplay(cfg.image_size, cfg.channels, seed=seed)
        r.load_dir(demo_dirs[name])
        return r

    torch.manual_seed(args.seed)
    source_specs = [
        (name, sim_bridges.make(TASK, image_size=IMAGE_SIZE, target=target), replay(name, args.seed + i))
        for i, (name, target) in enumerate(SOURCES.items())
    ]
    sources, world = make_source_tasks(cfg, source_specs)
    pool = SequenceReplay(cfg.image_size, cfg.channels, seed=args.seed + 100)
    t0 = time.perf_counter()
    train_sources(cfg, sources, pool, args.source_episodes, seed=args.seed)
    source_s = time.perf_counter() - t0
    for task in sources:
        task.env.close()
    source_returns = {task.name: vmail_return(task.agent, cfg, SOURCES[task.name]) for task in sources}
    direct = {task.name: vmail_return(task.agent, cfg, TARGET[1]) for task in sources}
    print(f"sources trained in {source_s:.0f} s; own-task returns {source_returns}; on the new task {direct}")

    t0 = time.perf_counter()
    agent, _ = zero_shot_transfer(
        cfg,
        world,
        replay(TARGET[0], args.seed + 50),
        pool,
        args.target_updates,
        seed=args.seed,
        model_opt=sources[0].agent.opts["model"],
    )
    target_s = time.perf_counter() - t0
    transfer = vmail_return(agent, cfg, TARGET[1])
    print(
        f"V-MAIL zero-shot: {transfer:.1f} after {args.target_updates} updates ({target_s:.0f} s)", flush=True
    )

    bc = train_bc(
        BCConfig(
            task=TASK,
            demos=str(demo_dirs[TARGET[0]]),
            run_dir=str(work / "bc_target"),
            updates=args.bc_updates,
            eval_every=args.bc_updates,
            eval_episodes=1,
            seed=args.seed,
            env_kwargs={"target": TARGET[1]},
        )
    )
    hold, expert = holds[TARGET[0]], experts[TARGET[0]]
    score = {
        "V-MAIL zero-shot": transfer,
        "BC (target demos)": float(bc["eval_return_mean"]),
        **{f"direct: {name} policy": r for name, r in direct.items()},
    }
    return {
        "task_family": "D'Claw turn, target angle (not visible in the image)",
        "sources": {
            name: {"target_rad": t, "expert_return": experts[name], "vmail_return": source_returns[name]}
            for name, t in SOURCES.items()
        },
        "target": {"name": TARGET[0], "target_rad": TARGET[1], "expert_return": expert, "hold_return": hold},
        "preset": args.preset,
        "seed": args.seed,
        "source_episodes": args.source_episodes,
        "source_env_steps": pool.steps,  # every source episode lands in the pooled B_π
        "source_wall_s": source_s,
        "target_updates": args.target_updates,
        "target_wall_s": target_s,
        "target_env_steps_for_learning": 0,
        "returns": score,
        "normalised_score": {k: normalised(v, hold, expert) for k, v in score.items()},
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["normalised_score"])
    values = [results["normalised_score"][n] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.barh(names, values, color=["tab:blue", "tab:red"] + ["tab:gray"] * (len(names) - 2))
    for bar, v, n in zip(bars, values, names, strict=True):
        ax.text(v, bar.get_y() + bar.get_height() / 2, f" {v:.0f} ({results['returns'][n]:.0f})", va="center")
    ax.axvline(100, color="k", ls="--", lw=0.8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("score on the new task: 0 = hold reset pose, 100 = expert (raw return)")
    ax.set_title(
        f"Zero-shot transfer to {results['target']['name']}, 0 target env steps (seed {results['seed']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vmail_cpu")
    parser.add_argument("--source-episodes", type=int, default=150, help="40-step episodes, round robin")
    parser.add_argument("--target-updates", type=int, default=1000)
    parser.add_argument("--bc-updates", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work-dir", default="runs/vmail_transfer")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    results = run(args)
    out = Path(args.out)
    write_json("vmail_transfer", results, out)
    plot(results, out / "vmail_transfer.png")
    print(json.dumps(results["normalised_score"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
