"""V-MAIL vs BC on cartpole-swingup from 10 camera demonstrations: return vs environment steps.

Trains V-MAIL (``training/vmail/``) with a preset from training/configs/vmail.yaml and offline
BC (``training/baselines_visual/bc.py``) on the same demonstrations, then plots V-MAIL's
deterministic evaluation return against steps, with BC's final return and the expert's
return as horizontal lines (BC takes no environment steps). Steps on the x axis are agent
steps; the DMC wrapper repeats each action twice, so the suite's environment (control) steps
are twice that, shown on the top axis.

Run: ``asymlearn benchmark vmail_cartpole [--steps 20000] [--preset vmail_cpu,vmail_authors]``;
``--plot-only`` redraws from the runs' progress.csv files without training; ``--other
LABEL=DIR`` adds more V-MAIL runs (e.g. other presets) to the same figure.
Writes docs/benchmarks/vmail_cartpole.json and .png.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, write_json

TASK = "cartpole_swingup"
ACTION_REPEAT = 2  # sim_bridges' DMC envs: control steps per agent step


def read_progress(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise FileNotFoundError(f"no progress file {path}: train first or point --run-dir at the runs")
    with path.open() as f:
        return list(csv.DictReader(f))


def vmail_curve(rows: list[dict[str, str]]) -> list[tuple[int, float]]:
    """(agent steps, eval return) at each new evaluation; the loop evaluates before collecting."""
    curve: list[tuple[int, float]] = []
    last: str | None = None
    prev_steps = 0
    for row in rows:
        value = row.get("eval_return", "")
        if value and value != last:
            curve.append((prev_steps, float(value)))
            last = value
        prev_steps = int(row["env_steps"])
    return curve


def expert_return(demos: Path) -> float:
    return float(json.loads((demos / "expert_returns.json").read_text())["mean_return"])


def train(args: argparse.Namespace) -> None:
    import torch

    from training.baselines_visual.bc import BCConfig, train_bc
    from training.logger import RunLogger
    from training.vmail.algorithm import VMAILTrainer, vmail_config

    torch.set_num_threads(args.threads)
    cfg = vmail_config(
        args.preset,
        [
            f"env={TASK}",
            f"expert_dirs=[{args.demos}]",
            f"train.total_steps={args.steps}",
            f"threads={args.threads}",
            f"seed={args.seed}",
        ],
    )
    vmail_dir = Path(args.run_dir) / "vmail"
    trainer = VMAILTrainer(cfg, vmail_dir)
    logger = RunLogger(vmail_dir, start_iteration=trainer.episodes, start_step=trainer.env_steps)
    try:
        trainer.train(logger)
    finally:
        logger.close()
    bc = BCConfig(
        task=TASK,
        demos=args.bc_demos,
        run_dir=str(Path(args.run_dir) / "bc"),
        updates=args.bc_updates,
        seed=args.seed,
    )
    train_bc(bc)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    curves = {f"V-MAIL {results['preset']}": results["vmail_curve"], **results.get("other_runs", {})}
    for label, curve in curves.items():
        if curve:
            steps, returns = zip(*curve, strict=True)
            ax.plot(steps, returns, "o-", ms=4, label=label)
    ax.axhline(results["expert_return"], color="k", ls="--", label=f"expert {results['expert_return']:.0f}")
    ax.axhline(0.9 * results["expert_return"], color="k", ls=":", lw=0.8, label="90% of expert")
    if results.get("bc_return") is not None:
        ax.axhline(
            results["bc_return"], color="tab:red", ls="-.", label=f"BC (offline) {results['bc_return']:.0f}"
        )
    ax.set_xlabel("agent steps (action repeat 2)")
    ax.set_ylabel("evaluation return (1 episode)")
    top = ax.secondary_xaxis("top", functions=(lambda x: x * ACTION_REPEAT, lambda x: x / ACTION_REPEAT))
    top.set_xlabel("DMC environment steps")
    ax.set_title(f"cartpole-swingup from 10 camera demos, 1 CPU thread (seed {results['seed']})")
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="vmail_cpu,vmail_authors")
    parser.add_argument("--steps", type=int, default=20_000, help="V-MAIL agent steps")
    parser.add_argument("--demos", default=f"data/demos/{TASK}")
    parser.add_argument("--bc-demos", default=f"data/demos/{TASK}_32", help="BC's demos (32 px, as V-MAIL)")
    parser.add_argument("--bc-updates", type=int, default=3000)
    parser.add_argument("--run-dir", default="runs/vmail_cartpole")
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
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if not args.plot_only:
        train(args)
    run_dir = Path(args.run_dir)
    curve = vmail_curve(read_progress(run_dir / "vmail" / "progress.csv"))
    bc_path = Path(args.bc_dir or run_dir / "bc") / "progress.csv"
    bc_rows = read_progress(bc_path) if bc_path.exists() else []
    results: dict[str, Any] = {
        "task": TASK,
        "preset": args.preset,
        "seed": args.seed,
        "x_axis": "agent steps; DMC environment steps = 2 x agent steps",
        "expert_return": expert_return(Path(args.demos)),
        "vmail_curve": curve,
        "vmail_best": max((r for _, r in curve), default=None),
        "bc_return": float(bc_rows[-1]["eval_return_mean"]) if bc_rows else None,
        "bc_progress": str(bc_path) if bc_rows else None,
        "other_runs": {},
    }
    for item in args.other:
        label, _, directory = item.partition("=")
        if not directory:
            parser.error(f"--other expects LABEL=DIR, got {item!r}")
        results["other_runs"][label] = vmail_curve(read_progress(Path(directory) / "progress.csv"))
    out = Path(args.out)
    write_json("vmail_cartpole", results, out)
    plot(results, out / "vmail_cartpole.png")
    print(json.dumps({k: results[k] for k in ("expert_return", "vmail_best", "bc_return")}, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
