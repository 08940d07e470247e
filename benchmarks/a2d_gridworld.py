"""A2D gridworld reproduction (paper Figures 4 and 5): every method × env × seed, then plots.

    asymlearn benchmark a2d_gridworld --seeds 10
    python -m benchmarks.a2d_gridworld --seeds 3 --methods a2d_image,rl_mdp --envs tiger_door --steps 100000

Each run is a subprocess (``asymlearn train``) writing to runs/benchmark/<preset>/seed<k>/;
AIL and Pre-Enc reuse the RL (MDP) run of the same seed as their expert, so ``rl_mdp`` is
always run first when either is requested. A finished run is not repeated (its checkpoint
is complete), so an interrupted benchmark can simply be started again.

Writes docs/benchmarks/a2d_gridworld.json and PNGs: reward vs interactions (stochastic
evaluation as in the paper, and deterministic), median with interquartile bands, MDP/POMDP
optimum lines, symlog y; divergence vs interactions (log y). Prints steps-to-optimum and
wall-clock per seed.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, parse_method_counts, seed_range, write_json

ROOT = Path(__file__).resolve().parent.parent
NAME = "a2d_gridworld"
METHODS = ["rl_mdp", "a2d_image", "a2d_compact", "ail", "rl_image", "rl_asym", "preenc"]
LABELS = {
    "rl_mdp": "RL (MDP)",
    "a2d_image": "A2D (Image)",
    "a2d_compact": "A2D (Compact)",
    "ail": "AIL",
    "rl_image": "RL",
    "rl_asym": "RL (Asym)",
    "preenc": "Pre-Enc",
}
ENVS = ["tiger_door", "frozen_lake"]
OPTIMA = {"tiger_door": {"mdp": 6.0, "pomdp": 2.0}, "frozen_lake": {"mdp": 10.667, "pomdp": 4.0}}
TOLERANCE = 0.5  # "reached the optimum" = deterministic return ≥ optimum − 0.5


def preset_for(method: str, env: str) -> str:
    if method in ("a2d_image", "a2d_compact"):
        kind = method.split("_", 1)[1]
        return f"a2d_{kind}_{env}"
    return f"{method}_{env}"


def read_progress(run_dir: Path) -> dict[str, list[float]]:
    path = run_dir / "progress.csv"
    cols: dict[str, list[float]] = {}
    if not path.exists():
        return cols
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k in ("env_steps", "eval_return_det", "eval_return_stoch", "divergence", "wall_time", "beta"):
                v = row.get(k, "")
                cols.setdefault(k, []).append(float(v) if v not in ("", None) else math.nan)
    return cols


def steps_to(steps: list[float], returns: list[float], target: float) -> float | None:
    for s, r in zip(steps, returns, strict=False):
        if not math.isnan(r) and r >= target - TOLERANCE:
            return s
    return None


def run_one(
    preset: str, seed: int, steps: int | None, runs_root: Path, extra: list[str]
) -> tuple[Path, float]:
    run_dir = runs_root / preset / f"seed{seed}"
    cmd = [
        sys.executable,
        "-m",
        "training.cli",
        "train",
        "--preset",
        preset,
        "--seed",
        str(seed),
        "--run-dir",
        str(run_dir),
        "--no-progress",
        "--set",
        f"log.root={runs_root}",
    ]
    if steps is not None and not preset.startswith("rl_mdp"):
        cmd += ["--steps", str(steps)]
    for e in extra:
        cmd += ["--set", e]
    t0 = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
        raise RuntimeError(f"training {preset} seed {seed} failed (exit {proc.returncode})")
    return run_dir, time.perf_counter() - t0


def run_parallel(
    plan: list[tuple[str, str, int]], steps: int | None, runs_root: Path, extra: list[str], jobs: int
) -> dict[tuple[str, str, int], float]:
    """Run (env, method, seed) trainings, ``jobs`` at a time; each is its own 1-thread process."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item: tuple[str, str, int]) -> tuple[tuple[str, str, int], float]:
        env, method, seed = item
        preset = preset_for(method, env)
        print(f"[{NAME}] {preset} seed {seed} ...", flush=True)
        run_dir, wall = run_one(preset, seed, steps, runs_root, extra)
        r = collect_run(method, env, seed, run_dir, wall)
        if r["env_steps"]:
            print(
                f"[{NAME}]   {LABELS[method]} {env} seed {seed}: final det {r['eval_return_det'][-1]:.2f}, "
                f"steps-to-optimum {r['steps_to_optimum']}, train wall {r['wall_time_s']:.0f}s",
                flush=True,
            )
        return item, wall

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(one, plan))


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for r in runs:
        key = f"{r['method']}/{r['env']}"
        t = table.setdefault(
            key,
            {
                "method": r["method"],
                "env": r["env"],
                "seeds": [],
                "steps_to_optimum": [],
                "wall_time_s": [],
                "final_return_det": [],
                "final_divergence": [],
            },
        )
        t["seeds"].append(r["seed"])
        t["steps_to_optimum"].append(r["steps_to_optimum"])
        t["wall_time_s"].append(r["wall_time_s"])
        t["final_return_det"].append(r["eval_return_det"][-1] if r["eval_return_det"] else math.nan)
        t["final_divergence"].append(r["divergence"][-1] if r["divergence"] else math.nan)
    for t in table.values():
        reached = [s for s in t["steps_to_optimum"] if s is not None]
        t["reached"] = f"{len(reached)}/{len(t['seeds'])}"
        t["median_steps_to_optimum"] = float(np.median(reached)) if reached else None
        t["median_wall_time_s"] = float(np.median(t["wall_time_s"]))
        t["median_final_return_det"] = float(np.nanmedian(t["final_return_det"]))
        fd = [d for d in t["final_divergence"] if not math.isnan(d)]
        t["median_final_divergence"] = float(np.median(fd)) if fd else None
    return table


def print_table(table: dict[str, Any]) -> None:
    print(
        f"\n{'method':<14}{'env':<13}{'reached':>8}{'med.steps':>11}{'med.wall s':>11}{'final det':>10}"
        f"{'final div':>11}  steps-to-optimum per seed (k) / wall-clock per seed (s)"
    )
    for t in table.values():
        per = " ".join("-" if s is None else f"{s / 1000:.0f}" for s in t["steps_to_optimum"])
        walls = " ".join(f"{w:.0f}" for w in t["wall_time_s"])
        ms = t["median_steps_to_optimum"]
        md = t["median_final_divergence"]
        print(
            f"{LABELS.get(t['method'], t['method']):<14}{t['env']:<13}{t['reached']:>8}"
            f"{'-' if ms is None else f'{ms / 1000:.0f}k':>11}{t['median_wall_time_s']:>11.0f}"
            f"{t['median_final_return_det']:>10.2f}{'-' if md is None else f'{md:.1e}':>11}  {per} / {walls}"
        )


def _curves(
    runs: list[dict[str, Any]], method: str, env: str, key: str, grid: np.ndarray
) -> np.ndarray | None:
    ys = []
    for r in runs:
        if r["method"] != method or r["env"] != env:
            continue
        x = np.asarray(r["env_steps"], float)
        y = np.asarray(r[key], float) if r.get(key) else np.full_like(x, np.nan)
        ok = ~np.isnan(y)
        if ok.sum() < 2:
            continue
        yi = np.interp(grid, x[ok], y[ok], left=np.nan, right=np.nan)
        ys.append(yi)
    return np.asarray(ys) if ys else None


def plot(runs: list[dict[str, Any]], envs: list[str], methods: list[str], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    paths = []
    max_x = max((max(r["env_steps"]) for r in runs if r["env_steps"]), default=1.0)
    grid = np.linspace(0, max_x, 200)
    for key, title, fname in [
        ("eval_return_stoch", "stochastic policy", f"{NAME}_reward.png"),
        ("eval_return_det", "deterministic policy", f"{NAME}_reward_det.png"),
    ]:
        fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.2), squeeze=False)
        for ax, env in zip(axes[0], envs, strict=True):
            for m in methods:
                ys = _curves(runs, m, env, key, grid)
                if ys is None:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med, lo, hi = (np.nanpercentile(ys, q, axis=0) for q in (50, 25, 75))
                ax.plot(grid, med, color=colors.get(m), label=f"{LABELS.get(m, m)} (n={len(ys)})")
                ax.fill_between(grid, lo, hi, color=colors.get(m), alpha=0.2)
            ax.axhline(OPTIMA[env]["mdp"], color="k", ls="--", lw=1, label="MDP optimum")
            ax.axhline(OPTIMA[env]["pomdp"], color="k", ls=":", lw=1, label="POMDP optimum")
            ax.set_yscale("symlog", linthresh=10)
            ax.set_title(f"{env.replace('_', ' ').title()}: reward ({title})")
            ax.set_xlabel("environment interactions")
            ax.set_ylabel("episode return")
            ax.grid(alpha=0.3)
        axes[0][-1].legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        p = out_dir / fname
        fig.savefig(p, dpi=120)
        plt.close(fig)
        paths.append(p)
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for m in methods:
            ys = _curves(runs, m, env, "divergence", grid)
            if ys is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med, lo, hi = (np.nanpercentile(ys, q, axis=0) for q in (50, 25, 75))
            ax.plot(grid, med, color=colors.get(m), label=LABELS.get(m, m))
            ax.fill_between(grid, lo, hi, color=colors.get(m), alpha=0.2)
        ax.set_yscale("log")
        ax.set_title(f"{env.replace('_', ' ').title()}: divergence E[KL(π_θ ‖ π_ψ)]")
        ax.set_xlabel("environment interactions")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = out_dir / f"{NAME}_divergence.png"
    fig.savefig(p, dpi=120)
    plt.close(fig)
    paths.append(p)
    return paths


def run_complete(run_dir: Path, steps: list[float]) -> bool:
    """Whether the run logged its last iteration (an interrupted run resumes when started again)."""
    import yaml

    cfg_path = run_dir / "config.yaml"
    if not steps or not cfg_path.exists():
        return False
    cfg = yaml.safe_load(cfg_path.read_text())
    per_iter = int(cfg["num_envs"]) * int(cfg["rollout_steps"])
    return steps[-1] >= math.ceil(int(cfg["total_steps"]) / per_iter) * per_iter


def collect_run(method: str, env: str, seed: int, run_dir: Path, wall: float | None) -> dict[str, Any]:
    prog = read_progress(run_dir)
    steps = prog.get("env_steps", [])
    det = prog.get("eval_return_det", [])
    target = OPTIMA[env]["mdp" if method == "rl_mdp" else "pomdp"]
    train_wall = prog.get("wall_time", [math.nan])[-1] if prog.get("wall_time") else math.nan
    return {
        "method": method,
        "env": env,
        "seed": seed,
        "run_dir": str(run_dir),
        "env_steps": steps,
        "eval_return_det": det,
        "eval_return_stoch": prog.get("eval_return_stoch", []),
        "divergence": prog.get("divergence", []) if method in ("a2d_image", "a2d_compact", "ail") else [],
        "beta": prog.get("beta", []),
        "optimum": target,
        "steps_to_optimum": steps_to(steps, det, target),
        "complete": run_complete(run_dir, steps),
        "wall_time_s": train_wall,
        "process_wall_time_s": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asymlearn benchmark a2d_gridworld", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--seeds-for",
        default="",
        help="per-method seed counts overriding --seeds, e.g. rl_image=3,rl_asym=3,preenc=3",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel (one torch thread each; ≤ number of cores)"
    )
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma list of {METHODS}")
    parser.add_argument("--envs", default=",".join(ENVS))
    parser.add_argument(
        "--steps", type=int, default=None, help="interactions per run (default: the presets')"
    )
    parser.add_argument("--runs-root", default=str(ROOT / "runs" / "benchmark"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config override")
    parser.add_argument("--plot-only", action="store_true", help="re-read the run directories, no training")
    parser.add_argument("--out-dir", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)

    methods = [m for m in args.methods.split(",") if m]
    envs = [e for e in args.envs.split(",") if e]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {METHODS}")
    order = (["rl_mdp"] if {"ail", "preenc"} & set(methods) and "rl_mdp" not in methods else []) + sorted(
        methods, key=METHODS.index
    )
    runs_root = Path(args.runs_root)
    seeds_for = parse_method_counts(args.seeds_for, METHODS, parser, "--seeds-for")
    plan = [
        (env, method, seed)
        for env in envs
        for method in order
        for seed in seed_range(args.first_seed, seeds_for.get(method, args.seeds))
    ]
    walls: dict[tuple[str, str, int], float | None] = {}
    if not args.plot_only:
        # AIL and Pre-Enc read the RL (MDP) checkpoint of the same seed: experts go first.
        # Then the paper's headline methods, so an interrupted run has the important curves first.
        rest = sorted(
            (p for p in plan if p[1] != "rl_mdp"), key=lambda p: (METHODS.index(p[1]), envs.index(p[0]))
        )
        phases = [[p for p in plan if p[1] == "rl_mdp"], rest]
        for phase in phases:
            walls.update(run_parallel(phase, args.steps, runs_root, args.overrides, args.jobs))
    runs: list[dict[str, Any]] = []
    for env, method, seed in plan:
        run_dir = runs_root / preset_for(method, env) / f"seed{seed}"
        r = collect_run(method, env, seed, run_dir, walls.get((env, method, seed)))
        if method in methods and r["env_steps"]:
            if r["complete"]:
                runs.append(r)
            else:
                print(f"[{NAME}] {run_dir} is unfinished: left out (run the benchmark again to finish it)")
    table = summarise(runs)
    print_table(table)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = plot(runs, envs, methods, out_dir) if runs else []
    path = write_json(
        NAME,
        {
            "description": "A2D and baselines on Tiger Door / Frozen Lake (paper Figs. 4-5); returns are "
            "mean episode returns over the eval copies, divergence = E[KL(expert||trainee)] on "
            "fresh trainee rollouts. steps_to_optimum: first eval with deterministic return "
            f">= optimum - {TOLERANCE} (POMDP optimum; MDP optimum for RL (MDP)).",
            "settings": {
                "seeds": list(seed_range(args.first_seed, args.seeds)),
                "seeds_for": seeds_for,
                "jobs": args.jobs,
                "methods": methods,
                "envs": envs,
                "steps": args.steps,
                "overrides": args.overrides,
                "optima": OPTIMA,
            },
            "summary": table,
            "runs": runs,
            "plots": [str(p) for p in pngs],
        },
        out_dir,
    )
    print(f"[{NAME}] wrote {path}" + "".join(f"\n[{NAME}] wrote {p}" for p in pngs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
