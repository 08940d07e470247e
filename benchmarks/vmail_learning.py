"""V-MAIL vs BC from 10 camera demonstrations: evaluation return vs environment steps.

Trains V-MAIL (``training/vmail/``) with a preset from training/configs/vmail.yaml and offline
BC (``training/baselines_visual/bc.py``) on the same demonstrations (recorded at the model's
32 px), then plots V-MAIL's deterministic evaluation return against agent steps, with BC's
final return and the expert's return as horizontal lines (BC takes no environment steps).

Tasks: ``cartpole_swingup``, ``cartpole_balance``, ``reacher_easy``, ``point_mass_easy`` (the
DMC wrapper repeats each action twice, so DMC environment steps are twice the agent steps, shown
on the top axis) and ``dclaw_turn`` (one agent step is one D'Claw step of 0.1 s; 40-step episodes).

Run: ``asymlearn benchmark vmail_learning [--task cartpole_swingup] [--steps 20000]
[--preset vmail_cpu]``; ``--plot-only`` redraws from the runs' progress.csv files without
training; ``--other LABEL=DIR`` adds more V-MAIL runs (e.g. other presets) to the same figure,
``--baseline LABEL=DIR`` SQIL/DAC runs; ``--set KEY=VALUE`` overrides the V-MAIL config. The last
checkpoint is also evaluated over ``--final-episodes`` (20) episodes, the figure to quote.
Writes docs/benchmarks/vmail_<name>.json and .png (name: cartpole, cartpole_balance,
reacher_easy, point_mass_easy, dclaw_turn).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json

# Per task: result name, control steps per agent step (sim_bridges' DMC envs repeat twice),
# the default run directory, and config overrides on top of the preset (the authors' D'Claw
# horizon 10; evaluation every 10 episodes).
TASKS: dict[str, dict[str, Any]] = {
    "cartpole_swingup": {
        "name": "cartpole",
        "action_repeat": 2,
        "run_dir": "runs/vmail_cartpole",
        "overrides": [],
    },
    "cartpole_balance": {
        "name": "cartpole_balance",
        "action_repeat": 2,
        "run_dir": "runs/vmail_cartpole_balance",
        "overrides": [],
    },
    "reacher_easy": {
        "name": "reacher_easy",
        "action_repeat": 2,
        "run_dir": "runs/vmail_reacher_easy",
        "overrides": [],
    },
    "point_mass_easy": {
        "name": "point_mass_easy",
        "action_repeat": 2,
        "run_dir": "runs/vmail_point_mass_easy",
        "overrides": [],
    },
    "dclaw_turn": {
        "name": "dclaw_turn",
        "action_repeat": 1,
        "run_dir": "runs/vmail_dclaw",
        "overrides": ["behavior.horizon=10", "train.eval_every=400"],
    },
}


def read_progress(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(f"no progress file {path}: train first or point --run-dir at the runs")
    with path.open() as f:
        return list(csv.DictReader(f))


def vmail_curve(rows: list[dict[str, str]], eval_every: int | None = None) -> list[tuple[int, float]]:
    """(agent steps, eval return) at each evaluation; the loop evaluates before collecting.

    Rows carry ``eval_steps`` (when the shown evaluation was taken). Runs written before that
    column existed are replayed through the loop's own counter (an evaluation before the
    first episode and whenever ``eval_every`` steps have passed since the last; a changed value
    also marks one), which is exact unless a resumed run repeated its last value; without
    ``eval_every`` only a changed value marks a new evaluation, which merges equal neighbours.
    """
    curve: list[tuple[int, float]] = []
    last: str | None = None
    prev_steps = 0
    since_eval = eval_every
    for row in rows:
        value, when = row.get("eval_return", ""), row.get("eval_steps", "")
        steps = int(row["env_steps"])
        if when:
            if value and (not curve or curve[-1][0] != int(when)):
                curve.append((int(when), float(value)))
        elif since_eval is not None and eval_every is not None:
            # A changed value is always a new evaluation (it re-syncs the counter after a resume).
            if since_eval >= eval_every or (value and value != last):
                if value:
                    curve.append((prev_steps, float(value)))
                since_eval = 0
            since_eval += steps - prev_steps
        elif value and value != last:
            curve.append((prev_steps, float(value)))
        last = value
        prev_steps = steps
    return curve


def expert_return(demos: Path) -> float:
    return float(json.loads((demos / "expert_returns.json").read_text())["mean_return"])


def hold_return(task: str) -> float | None:
    """D'Claw: the return of holding the reset pose (returns are negative); None elsewhere."""
    if task != "dclaw_turn":
        return None
    from benchmarks.vmail_transfer import hold_return as dclaw_hold

    return dclaw_hold(math.pi)


def run_config(args: argparse.Namespace) -> Any:
    from training.vmail.algorithm import vmail_config

    return vmail_config(
        args.preset,
        [
            *TASKS[args.task]["overrides"],
            f"env={args.task}",
            f"expert_dirs=[{args.demos}]",
            f"train.total_steps={args.steps}",
            f"threads={args.threads}",
            f"seed={args.seed}",
            *args.set,
        ],
    )


def final_evaluation(args: argparse.Namespace, vmail_dir: Path) -> dict[str, Any] | None:
    """Deterministic return of the last checkpoint over ``--final-episodes`` episodes.

    The curve's evaluations are one episode each, which on reacher (random target, 0/1 reward)
    swing from 0 to 900; the headline needs a mean. The episodes are `asymlearn evaluate`'s
    (seeds from EVAL_SEED), so an exported policy's figure is comparable; the seed set matters
    on reacher: doing nothing returns 0 on seeds 2024-2043 but 200 on 50000-50019 (4 targets
    start under the fingertip). Cached next to the run, keyed by its steps and seeds.
    """
    if args.final_episodes <= 0 or not (vmail_dir / "checkpoint.pt").exists():
        return None
    import torch

    from training.checkpoint import load_checkpoint, set_rng_state
    from training.commands.evaluate import EVAL_SEED
    from training.vmail.algorithm import FORMAT, agent_from_checkpoint, make_env, run_episode

    state = load_checkpoint(vmail_dir, fmt=FORMAT)
    seeds = range(EVAL_SEED, EVAL_SEED + args.final_episodes)
    key = {"agent_steps": int(state["env_steps"]), "episodes": len(seeds), "seeds": [seeds[0], seeds[-1]]}
    cache = vmail_dir / "final_eval.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if all(cached.get(k) == v for k, v in key.items()):
            return cached
    torch.set_num_threads(args.threads)
    cfg, agent = agent_from_checkpoint(state)  # the weights only: evaluation needs no replay
    env = make_env(cfg)
    set_rng_state(state["rng"])  # the posterior is sampled: evaluate from the run's own RNG state
    print(f"evaluating the final V-MAIL policy over {args.final_episodes} episodes", flush=True)
    try:
        returns = [run_episode(env, agent, cfg, 0.0, seed=seed)[1] for seed in seeds]
    finally:
        env.close()
    result = {
        **key,
        "mean": float(np.mean(returns)),
        "std": float(np.std(returns)),
        "returns": [float(r) for r in returns],
    }
    cache.write_text(json.dumps(result, indent=1))
    return result


def baseline_curve(rows: list[dict[str, str]]) -> list[tuple[int, float]]:
    """(agent steps, mean evaluation return) of a SQIL/DAC run's progress.csv."""
    return [(int(r["env_steps"]), float(r["eval_return_mean"])) for r in rows if r.get("eval_return_mean")]


def train(args: argparse.Namespace) -> None:
    import torch

    from training.baselines_visual.bc import BCConfig, train_bc
    from training.logger import RunLogger
    from training.vmail.algorithm import VMAILTrainer

    torch.set_num_threads(args.threads)
    if not (Path(args.demos) / "expert_returns.json").exists():  # first run: record the demos
        from training.demos.collect import collect_demos

        print(f"recording 10 expert demos of {args.task} at 32 px in {args.demos}", flush=True)
        collect_demos(args.task, 10, args.demos, image_size=32)
    cfg = run_config(args)
    vmail_dir = Path(args.run_dir) / "vmail"
    trainer = VMAILTrainer(cfg, vmail_dir)
    logger = RunLogger(vmail_dir, start_iteration=trainer.episodes, start_step=trainer.env_steps)
    try:
        trainer.train(logger)
    finally:
        logger.close()
    bc = BCConfig(
        task=args.task,
        demos=args.demos,
        run_dir=str(Path(args.run_dir) / "bc"),
        updates=args.bc_updates,
        seed=args.seed,
    )
    train_bc(bc)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.4))
    curves = {f"V-MAIL {results['preset']}": results["vmail_curve"], **results.get("other_runs", {})}
    other_finals = results.get("other_finals", {})
    for label, curve in curves.items():
        if curve:
            steps, returns = zip(*curve, strict=True)
            (line,) = ax.plot(steps, returns, "o-", ms=4, label=label)
            final = other_finals.get(label)
            if final is not None:  # the run's last checkpoint over many episodes, in its colour
                ax.errorbar(
                    [final["agent_steps"]],
                    [final["mean"]],
                    yerr=[final["std"]],
                    fmt="D",
                    color=line.get_color(),
                    ms=6,
                    capsize=3,
                    label=f"{label}: last checkpoint, {final['episodes']} episodes: "
                    f"{final['mean']:.0f} ± {final['std']:.0f}",
                )
    for label, curve in results.get("baselines", {}).items():
        if curve:
            steps, returns = zip(*curve, strict=True)
            ax.plot(steps, returns, "s--", ms=3, lw=1, label=f"{label} (mean of its eval episodes)")
    final = results.get("vmail_final")
    if final is not None:
        ax.errorbar(
            [final["agent_steps"]],
            [final["mean"]],
            yerr=[final["std"]],
            fmt="D",
            color="tab:blue",
            ms=7,
            capsize=4,
            label=f"V-MAIL last checkpoint, {final['episodes']} episodes: "
            f"{final['mean']:.0f} ± {final['std']:.0f}",
        )
    ax.axhline(results["expert_return"], color="k", ls="--", label=f"expert {results['expert_return']:.0f}")
    if results.get("hold_return") is None:  # returns start at 0 (cartpole): 90% is meaningful
        ax.axhline(0.9 * results["expert_return"], color="k", ls=":", lw=0.8, label="90% of expert")
    else:  # D'Claw penalises distance to the target: show the do-nothing reference instead
        ax.axhline(
            results["hold_return"],
            color="tab:gray",
            ls=":",
            label=f"hold reset pose {results['hold_return']:.0f}",
        )
    if results.get("bc_return") is not None:
        best_updates, best = max(results["bc_curve"], key=lambda c: c[1])
        label = f"BC (offline), final {results['bc_return']:.0f} (best {best:.0f} at update {best_updates})"
        ax.axhline(results["bc_return"], color="tab:red", ls="-.", label=label)
    repeat = int(results["action_repeat"])
    ax.set_xlabel("agent steps" + (f" (action repeat {repeat})" if repeat > 1 else ""))
    ax.set_ylabel("evaluation return (V-MAIL curve: 1 episode)")
    if repeat > 1:
        top = ax.secondary_xaxis("top", functions=(lambda x: x * repeat, lambda x: x / repeat))
        top.set_xlabel("environment (control) steps")
    ax.set_title(f"{results['task']} from 10 camera demos, 1 CPU thread (seed {results['seed']})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # outside: curves stay visible
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="cartpole_swingup")
    parser.add_argument("--preset", default="vmail_cpu")
    parser.add_argument("--steps", type=int, default=20_000, help="V-MAIL agent steps")
    parser.add_argument("--demos", default=None, help="32 px demos (default data/demos/<task>_32)")
    parser.add_argument("--bc-updates", type=int, default=3000)
    parser.add_argument("--run-dir", default=None, help="default runs/vmail_cartpole or runs/vmail_dclaw")
    parser.add_argument("--bc-dir", default=None, help="BC run to plot (default <run-dir>/bc)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot-only", action="store_true", help="redraw from existing progress.csv files")
    parser.add_argument(
        "--other",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="more V-MAIL runs to plot (repeatable)",
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="SQIL/DAC runs (asymlearn train-visual) to plot against agent steps (repeatable)",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="V-MAIL config override (repeatable)"
    )
    parser.add_argument(
        "--final-episodes", type=int, default=20, help="episodes for the last checkpoint's mean (0: skip)"
    )
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    task = TASKS[args.task]
    args.demos = args.demos or f"data/demos/{args.task}_32"
    args.run_dir = args.run_dir or task["run_dir"]
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if not args.plot_only:
        train(args)
    run_dir = Path(args.run_dir)
    eval_every = int(run_config(args).train.eval_every)
    curve = vmail_curve(read_progress(run_dir / "vmail" / "progress.csv"), eval_every)
    bc_path = Path(args.bc_dir or run_dir / "bc") / "progress.csv"
    bc_rows = read_progress(bc_path) if bc_path.exists() else []
    results: dict[str, Any] = {
        "task": args.task,
        "preset": args.preset,
        "seed": args.seed,
        "action_repeat": task["action_repeat"],
        "x_axis": f"agent steps; environment (control) steps = {task['action_repeat']} x agent steps",
        "expert_return": expert_return(Path(args.demos)),
        "vmail_curve": curve,
        "vmail_best": max((r for _, r in curve), default=None),
        "bc_return": float(bc_rows[-1]["eval_return_mean"]) if bc_rows else None,
        "bc_curve": [(int(r["updates"]), float(r["eval_return_mean"])) for r in bc_rows],
        "bc_progress": str(bc_path) if bc_rows else None,
        "hold_return": hold_return(args.task),
        "vmail_final": final_evaluation(args, run_dir / "vmail"),
        "other_runs": {},
        "other_finals": {},
        "baselines": {},
    }
    for item in args.other:
        label, _, directory = item.rpartition("=")
        if not directory:
            parser.error(f"--other expects LABEL=DIR, got {item!r}")
        other = read_progress(Path(directory) / "progress.csv")
        results["other_runs"][label] = vmail_curve(other, eval_every)  # assumes the same cadence
        other_final = final_evaluation(args, Path(directory))
        if other_final is not None:
            results["other_finals"][label] = other_final
    for item in args.baseline:
        label, _, directory = item.rpartition("=")
        if not directory:
            parser.error(f"--baseline expects LABEL=DIR, got {item!r}")
        results["baselines"][label] = baseline_curve(read_progress(Path(directory) / "progress.csv"))
    out = Path(args.out)
    name = f"vmail_{task['name']}"
    write_json(name, results, out)
    plot(results, out / f"{name}.png")
    final = results["vmail_final"]
    summary = {k: results[k] for k in ("expert_return", "vmail_best", "bc_return")}
    if final is not None:
        summary["vmail_final_mean"] = final["mean"]
    summary.update({f"{label} final mean": f["mean"] for label, f in results["other_finals"].items()})
    summary.update({label: curve[-1][1] for label, curve in results["baselines"].items() if curve})
    print(json.dumps(summary, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
