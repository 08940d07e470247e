"""A2D (Image) on Tiger Door offline vs online over ROS 2, same seeds, one after the other.

Why: the online trainer must reach the POMDP optimum 2.0 in the same number of environment
steps as the offline pipeline, in at most 3x its wall clock. Both runs use the same preset
and seed; the online one drives batch bridge nodes (``asymlearn train-online``) in a private
network namespace. Writes docs/benchmarks/a2d_online.json and .png (return vs steps of
both, steps/s of both: whole training and rollouts alone).

    asymlearn benchmark a2d_online --seeds 0 --bridges 2
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.a2d_gridworld import read_progress, steps_to
from benchmarks.common import RESULTS_DIR, write_json

ROOT = Path(__file__).resolve().parent.parent
PRESET = "a2d_image_tiger_door"
OPTIMUM = 2.0


def _run(cmd: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed (exit {proc.returncode})")
    return time.perf_counter() - t0


def _rollout_seconds(run_dir: Path) -> float:
    with open(run_dir / "progress.csv", newline="") as f:
        return sum(float(r["time_rollout"]) for r in csv.DictReader(f))


def summarise(run_dir: Path, process_wall: float) -> dict[str, Any]:
    cols = read_progress(run_dir)
    steps, wall = cols["env_steps"], cols["wall_time"]
    rollout = _rollout_seconds(run_dir)
    return {
        "run_dir": str(run_dir),
        "env_steps": steps,
        "eval_return_det": cols["eval_return_det"],
        "steps_to_optimum": steps_to(steps, cols["eval_return_det"], OPTIMUM),
        "train_wall_s": wall[-1],
        "process_wall_s": process_wall,
        "steps_per_s": steps[-1] / wall[-1],
        "rollout_s": rollout,
        "rollout_steps_per_s": steps[-1] / rollout,
        "final_return_det": cols["eval_return_det"][-1],
    }


def run_seed(seed: int, bridges: int, runs_root: Path, steps: int | None) -> dict[str, Any]:
    common = ["--preset", PRESET, "--seed", str(seed), "--no-resume", "--no-progress"]
    common += ["--set", "log.tensorboard=false"] + (["--steps", str(steps)] if steps else [])
    off_dir, on_dir = runs_root / "offline" / f"seed{seed}", runs_root / "online" / f"seed{seed}"
    off_wall = _run([sys.executable, "-m", "training.cli", "train", *common, "--run-dir", str(off_dir)])
    on_cmd = [sys.executable, "-m", "training.cli", "train-online", *common, "--run-dir", str(on_dir)]
    on_cmd += ["--bridges", str(bridges), "--log-dir", str(runs_root / "online" / f"ros_log{seed}")]
    on_wall = _run(on_cmd)
    offline, online = summarise(off_dir, off_wall), summarise(on_dir, on_wall)
    same = offline["eval_return_det"] == online["eval_return_det"]
    return {
        "seed": seed,
        "offline": offline,
        "online": online,
        "identical_eval_curves": same,
        "wall_ratio_online_over_offline": online["train_wall_s"] / offline["train_wall_s"],
    }


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for r in results:
        for kind, style in (("offline", "-"), ("online", "--")):
            d = r[kind]
            ax.plot(d["env_steps"], d["eval_return_det"], style, label=f"{kind} seed {r['seed']}")
    ax.axhline(OPTIMUM, color="grey", lw=0.8, ls=":", label="POMDP optimum 2.0")
    ax.set(xlabel="environment steps", ylabel="deterministic eval return", title="A2D (Image), Tiger Door")
    ax.legend(fontsize=8)
    labels, values = [], []
    for r in results:
        for kind in ("offline", "online"):
            labels += [f"{kind}\ntraining s{r['seed']}", f"{kind}\nrollouts s{r['seed']}"]
            values += [r[kind]["steps_per_s"], r[kind]["rollout_steps_per_s"]]
    bx.bar(range(len(values)), values, color=["C0", "C0", "C1", "C1"] * len(results))
    bx.set_xticks(range(len(values)), labels, fontsize=7)
    bx.set(ylabel="environment steps / s", title="throughput (same machine, one after the other)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asymlearn benchmark a2d_online", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    parser.add_argument("--bridges", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="total_steps (default: the preset's)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "bench_a2d_online"))
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    results = [run_seed(int(s), args.bridges, Path(args.runs), args.steps) for s in args.seeds.split(",")]
    out = Path(args.out)
    payload = {"preset": PRESET, "bridges": args.bridges, "seeds": results}
    path = write_json("a2d_online", payload, out)
    plot(results, out / "a2d_online.png")
    for r in results:
        row = {k: r[k] for k in ("seed", "identical_eval_curves", "wall_ratio_online_over_offline")}
        for kind in ("offline", "online"):
            d = r[kind]
            row[kind] = {
                k: (round(v, 2) if isinstance(v, float) and not math.isnan(v) else v)
                for k, v in d.items()
                if k
                in (
                    "steps_to_optimum",
                    "train_wall_s",
                    "steps_per_s",
                    "rollout_steps_per_s",
                    "final_return_det",
                )
            }
        print(json.dumps(row))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
