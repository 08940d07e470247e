"""A2D driving reproduction (paper section 6.2): A2D, AIL, RL (POMDP) and RL (MDP) on the occluded pedestrian.

    asymlearn benchmark a2d_driving                       # train (or resume) all four, evaluate, plot
    asymlearn benchmark a2d_driving --methods a2d --steps 200000
    asymlearn benchmark a2d_driving --eval-only           # evaluate whatever the checkpoints reached

Each run is an ``asymlearn train`` subprocess (``benchmarks.a2d_gridworld.run_one``) into
runs/benchmark/<preset>/seed<k>/; runs checkpoint every iteration, so the same command
continues an interrupted run and skips a finished one. The deployable policy of each run
(the camera trainee for A2D/AIL/RL (POMDP), the state policy for RL (MDP)) is then evaluated
deterministically (mean action) on ``--episodes`` seeded episodes, seeds ``--eval-seed`` + i:
the same episodes ``benchmarks/driving_baselines.py`` uses for the scripted drivers, with its
metrics (mean return, % of waypoints reached, % of child episodes with a child collision).

Writes docs/benchmarks/a2d_driving.json and a2d_driving.png (deterministic evaluation return
vs environment steps per method, and the table with each run's steps and wall-clock).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.a2d_gridworld import ROOT, read_progress, run_one
from benchmarks.common import RESULTS_DIR, parse_method_counts, seed_range, write_json
from benchmarks.driving_baselines import summarize_episodes

NAME = "a2d_driving"
ENV = "occluded_pedestrian"
# method -> preset; the order is the run order (A2D is the must-show, the RL baselines last).
PRESETS = {
    "a2d": "a2d_image_driving",
    "ail": "ail_driving",
    "rl_mdp": "rl_mdp_driving",
    "rl_pomdp": "rl_image_driving",
}
METHODS = list(PRESETS)
LABELS = {
    "a2d": "A2D (camera)",
    "ail": "AIL (camera)",
    "rl_mdp": "RL (MDP, state)",
    "rl_pomdp": "RL (POMDP, camera)",
}
# Paper section 6.2 / the reference's logs (spec av_scenario.md): return, waypoints %, child collisions %.
PAPER = {
    "a2d": (55.1, 97.0, 0.0),
    "ail": (50.4, 91.0, 32.8),
    "rl_mdp": (61.2, 100.0, 0.0),
    "rl_pomdp": (33.4, 75.0, 46.7),
}


def evaluate_policy(checkpoint: Path, episodes: int, seed: int, chunk: int) -> dict[str, Any]:
    """Deterministic driving metrics of a run's deployable policy on episodes seed..seed+episodes-1."""
    import torch

    from sim_bridges.registry import make_batched
    from training.a2d.rollout import Actor
    from training.checkpoint import load_policy_for_export
    from training.evaluate import run_episodes

    torch.set_num_threads(1)
    module, meta = load_policy_for_export(checkpoint, "trainee")
    key = meta["observation"]["input"]
    window = int(meta["observation"]["frame_window"] or 1)
    returns: list[float] = []
    infos: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for start in range(0, episodes, chunk):
        n = min(chunk, episodes - start)
        env = make_batched(ENV, n, render_images=key == "image")
        try:
            finals: list[dict[str, Any] | None] = []
            r, _ = run_episodes(env, Actor(module, key), True, seed + start, window, final_infos=finals)
        finally:
            env.close()
        if any(f is None for f in finals):
            raise RuntimeError(f"{checkpoint}: an evaluation episode did not finish")
        returns += [float(x) for x in r]
        infos += finals  # type: ignore[arg-type]
    metrics = summarize_episodes(returns, infos)
    metrics.update(input=key, env_steps=int(meta["env_steps"]), iteration=int(meta["iteration"]))
    metrics["eval_seconds"] = time.perf_counter() - t0
    return metrics


def collect_run(method: str, seed: int, run_dir: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """Training curve, wall-clock and the 200-episode evaluation of one run (None if never started)."""
    ckpt = run_dir / "checkpoint.pt"
    if not ckpt.exists():
        return None
    prog = read_progress(run_dir)
    walls = prog.get("wall_time", [])
    print(f"[{NAME}] evaluating {LABELS[method]} seed {seed} on {args.episodes} episodes ...", flush=True)
    metrics = evaluate_policy(ckpt, args.episodes, args.eval_seed, args.chunk)
    return {
        "method": method,
        "preset": PRESETS[method],
        "seed": seed,
        "run_dir": str(run_dir),
        "train_wall_s": walls[-1] if walls else math.nan,
        "curve": {
            k: prog.get(k, []) for k in ("env_steps", "eval_return_det", "eval_return_stoch", "wall_time")
        },
        **metrics,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per method: the mean over its seeds of each table column."""
    table: dict[str, dict[str, Any]] = {}
    for m in METHODS:
        rs = [r for r in runs if r["method"] == m]
        if not rs:
            continue
        mean = lambda k, rs=rs: float(np.mean([r[k] for r in rs]))
        table[m] = {
            "label": LABELS[m],
            "seeds": [r["seed"] for r in rs],
            "mean_return": mean("mean_return"),
            "waypoints_pct": mean("waypoints_pct"),
            "child_collision_pct": mean("child_collision_pct"),
            "collision_pct": mean("collision_pct"),
            "per_seed": {
                k: [r[k] for r in rs] for k in ("mean_return", "waypoints_pct", "child_collision_pct")
            },
            "env_steps": [r["env_steps"] for r in rs],
            "train_wall_s": [r["train_wall_s"] for r in rs],
            "paper": dict(
                zip(("mean_return", "waypoints_pct", "child_collision_pct"), PAPER[m], strict=True)
            ),
        }
    return table


def table_rows(table: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "method",
        "return",
        "waypoints %",
        "child coll. %",
        "env steps",
        "wall-clock",
        "paper (ret/wp/cc)",
    ]
    rows = []
    for t in table.values():
        p = t["paper"]

        def cell(key: str, t: dict[str, Any] = t) -> str:
            """The mean over seeds, then each seed's value when there are several."""
            seeds = t.get("per_seed", {}).get(key, [])
            each = f" ({'/'.join(f'{v:.1f}' for v in seeds)})" if len(seeds) > 1 else ""
            return f"{t[key]:.1f}{each}"

        rows.append(
            [
                t["label"],
                cell("mean_return"),
                cell("waypoints_pct"),
                cell("child_collision_pct"),
                "/".join(f"{s / 1000:.0f}k" for s in t["env_steps"]),
                "/".join(f"{w / 60:.1f} min" for w in t["train_wall_s"]),
                f"{p['mean_return']:.1f} / {p['waypoints_pct']:.0f} / {p['child_collision_pct']:.0f}",
            ]
        )
    return header, rows


def run_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per trained seed (the plot's table: per-seed values do not fit in one cell)."""
    header = ["method", "seed", "return", "waypoints %", "child coll. %", "env steps", "wall-clock", "paper"]
    rows = [
        [
            LABELS[r["method"]],
            str(r["seed"]),
            f"{r['mean_return']:.1f}",
            f"{r['waypoints_pct']:.1f}",
            f"{r['child_collision_pct']:.1f}",
            f"{r['env_steps'] / 1000:.0f}k",
            f"{r['train_wall_s'] / 60:.1f} min",
            " / ".join(f"{v:.0f}" if i else f"{v:.1f}" for i, v in enumerate(PAPER[r["method"]])),
        ]
        for r in sorted(runs, key=lambda r: (METHODS.index(r["method"]), r["seed"]))
    ]
    return header, rows


def print_table(table: dict[str, dict[str, Any]], episodes: int) -> None:
    header, rows = table_rows(table)
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
    print(f"\n{episodes} deterministic evaluation episodes per policy")
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Return vs environment steps per method (left) and the results table (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim_bridges.driving.env import REFERENCE_RETURNS

    fig, (ax, tab) = plt.subplots(1, 2, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1, 1.35]})
    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    markers = "os^vD*"
    for r in runs:
        x = np.asarray(r["curve"]["env_steps"], float)
        y = np.asarray(r["curve"]["eval_return_det"], float)
        ok = ~np.isnan(y)
        ax.plot(
            x[ok],
            y[ok],
            "-",
            marker=markers[r["seed"] % len(markers)],
            ms=3,
            lw=1,
            alpha=0.8,
            color=colors[r["method"]],
            label=f"{LABELS[r['method']]} s{r['seed']}",
        )
    ax.axhline(REFERENCE_RETURNS["mdp_expert"], color="k", ls="--", lw=1, label="scripted privileged expert")
    ax.axhline(
        REFERENCE_RETURNS["pomdp_reactive_cautious"], color="k", ls=":", lw=1, label="scripted camera driver"
    )
    ax.axhline(
        REFERENCE_RETURNS["blind_fast"], color="r", ls=":", lw=1, label="blind fast (hits every child)"
    )
    ax.set_xlabel("environment steps (training)")
    ax.set_ylabel("episode return (deterministic eval, 16 episodes)")
    ax.set_title("Occluded pedestrian: return during training")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    header, rows = run_rows(runs)
    tab.set_axis_off()
    if rows:
        t = tab.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
        t.auto_set_font_size(False)
        t.set_fontsize(8)
        t.scale(1.0, 1.6)
    episodes = runs[0]["episodes"] if runs else 0
    tab.set_title(
        f"{episodes} deterministic evaluation episodes per policy (paper: CARLA, 10 seeds)", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"asymlearn benchmark {NAME}", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma list of {METHODS}, run in that order"
    )
    parser.add_argument("--seeds", type=int, default=1, help="seeds first-seed..first-seed+N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--seeds-for", default="", help="per-method seed counts overriding --seeds, e.g. a2d=3"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps per run (default: presets', 400k)"
    )
    parser.add_argument("--steps-for", default="", help="per-method steps, e.g. rl_pomdp=100000")
    parser.add_argument("--episodes", type=int, default=200, help="evaluation episodes per policy")
    parser.add_argument("--eval-seed", type=int, default=0, help="episode seeds eval-seed + i")
    parser.add_argument("--chunk", type=int, default=50, help="evaluation copies simulated together")
    parser.add_argument("--runs-root", default=str(ROOT / "runs" / "benchmark"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config override")
    parser.add_argument(
        "--eval-only", action="store_true", help="no training: evaluate the checkpoints as they are"
    )
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw table and plot from the JSON in --out-dir"
    )
    parser.add_argument("--out-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    if args.plot_only:
        json_path = Path(args.out_dir) / f"{NAME}.json"
        if not json_path.exists():
            parser.error(f"--plot-only: no {json_path}; run the benchmark (or --eval-only) first")
        saved = json.loads(json_path.read_text())
        print_table(summarise(saved["runs"]), int(saved["episodes"]))
        plot(saved["runs"], json_path.with_suffix(".png"))
        print(f"wrote {json_path.with_suffix('.png')}")
        return 0

    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {METHODS}")
    methods.sort(key=METHODS.index)
    seeds_for = parse_method_counts(args.seeds_for, METHODS, parser, "--seeds-for")
    steps_for = parse_method_counts(args.steps_for, METHODS, parser, "--steps-for")
    runs_root = Path(args.runs_root)
    plan = [(m, s) for m in methods for s in seed_range(args.first_seed, seeds_for.get(m, args.seeds))]
    process_wall: dict[str, float] = {}
    if not args.eval_only:
        for m, s in plan:
            steps = steps_for.get(m, args.steps)
            extra = [*args.overrides, *([f"total_steps={steps}"] if steps else [])]
            print(f"[{NAME}] training {PRESETS[m]} seed {s} ({steps or 'preset'} steps) ...", flush=True)
            _, wall = run_one(PRESETS[m], s, None, runs_root, extra)
            process_wall[f"{m}/seed{s}"] = wall
    runs = []
    for m, s in plan:
        r = collect_run(m, s, runs_root / PRESETS[m] / f"seed{s}", args)
        if r is None:
            print(f"[{NAME}] {PRESETS[m]} seed {s}: no checkpoint, skipped")
            continue
        r["process_wall_s"] = process_wall.get(f"{m}/seed{s}")
        runs.append(r)
    table = summarise(runs)
    print_table(table, args.episodes)
    out_dir = Path(args.out_dir)
    path = write_json(
        NAME,
        {"episodes": args.episodes, "eval_seed": args.eval_seed, "table": table, "runs": runs},
        out_dir,
    )
    plot(runs, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
