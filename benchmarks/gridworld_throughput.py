"""Gridworld env throughput: natively batched numpy vs one env stepped in a Python loop.

Run: python -m benchmarks.gridworld_throughput [--seconds S] [--sizes 64 256]
(or `asymlearn benchmark gridworld_throughput`). Images and camera noise are on, on one
thread; steps/s is the median wall-clock rate over 5 time slices, with the best slice and
the rate per second of process CPU time (the one-core figure on a shared machine) beside
it; speedups use the median. Writes docs/benchmarks/gridworld_throughput.{json,png} and prints a table. The
reference implementation renders about 620 steps/s (specs/a2d.md section 5).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.common import RESULTS_DIR, write_json  # noqa: E402

REFERENCE_STEPS_PER_S = 620.0
ENVS = ("tiger_door", "frozen_lake")


def _measure(chunk: Callable[[], int], seconds: float, slices: int = 5) -> dict[str, Any]:
    """Run `chunk` for `seconds` split into slices; report wall-clock and CPU-time rates.

    The machine is shared, so besides the median wall-clock slice rate we report steps per
    second of this process's CPU time, which is what one uncontended core would deliver.
    """
    chunk()  # warm-up
    rates, steps = [], 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(slices):
        slice_steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / slices:
            slice_steps += chunk()
        rates.append(slice_steps / (time.perf_counter() - t0))
        steps += slice_steps
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "steps": steps,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "steps_per_s": float(np.median(rates)),
        "best_slice_steps_per_s": max(rates),
        "steps_per_cpu_s": steps / cpu,
    }


def _time_single(name: str, seconds: float, **kwargs: Any) -> dict[str, Any]:
    """One env, stepped and reset by hand in a Python loop (the naive baseline)."""
    from sim_bridges.registry import make

    env = make(name, **kwargs)
    env.reset(seed=0)
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 4, 512)]

    def chunk() -> int:
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        return len(actions)

    return _measure(chunk, seconds)


def _time_batched(name: str, num_envs: int, seconds: float, **kwargs: Any) -> dict[str, Any]:
    """num_envs copies stepped together with autoreset."""
    from sim_bridges.registry import make_batched

    env = make_batched(name, num_envs, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, (64, num_envs))

    def chunk() -> int:
        for a in actions:
            env.step(a)
        return actions.size

    return _measure(chunk, seconds)


def _chart(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(r["mode"] for r in rows))
    envs = list(dict.fromkeys(r["env"] for r in rows))
    width = 0.8 / len(modes)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for j, mode in enumerate(modes):
        values = [next(r["steps_per_s"] for r in rows if r["env"] == e and r["mode"] == mode) for e in envs]
        bars = ax.bar(np.arange(len(envs)) + (j - (len(modes) - 1) / 2) * width, values, width, label=mode)
        ax.bar_label(bars, labels=[f"{v / 1000:.1f}k" for v in values], fontsize=7)
    ax.axhline(REFERENCE_STEPS_PER_S, color="k", ls="--", lw=1, label="reference (~620/s)")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(envs)), envs)
    ax.set_ylabel("env steps / s (one core, images + noise)")
    ax.set_title("Gridworld throughput")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table, write JSON and PNG; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256], help="batch sizes")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    rows: list[dict[str, Any]] = []
    for name in ENVS:
        rows.append(
            {
                "env": name,
                "mode": "single env, python loop",
                "num_envs": 1,
                **_time_single(name, args.seconds),
            }
        )
        for n in args.sizes:
            rows.append(
                {"env": name, "mode": f"batched N={n}", "num_envs": n, **_time_batched(name, n, args.seconds)}
            )
        n = max(args.sizes)
        rows.append(
            {
                "env": name,
                "mode": f"batched N={n}, state only",
                "num_envs": n,
                **_time_batched(name, n, args.seconds, render_images=False),
            }
        )
    for r in rows:
        naive = next(x for x in rows if x["env"] == r["env"] and x["num_envs"] == 1)
        r["speedup_vs_loop"] = r["steps_per_s"] / naive["steps_per_s"]
        r["speedup_vs_reference"] = r["steps_per_s"] / REFERENCE_STEPS_PER_S

    header = (
        f"{'env':<12} {'mode':<28} {'steps/s':>11} {'best':>11} {'per CPU-s':>11} {'x loop':>7} {'x ref':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rates = (
            f"{r['steps_per_s']:>11,.0f} {r['best_slice_steps_per_s']:>11,.0f} {r['steps_per_cpu_s']:>11,.0f}"
        )
        ratios = f"{r['speedup_vs_loop']:>7.1f} {r['speedup_vs_reference']:>7.1f}"
        print(f"{r['env']:<12} {r['mode']:<28} {rates} {ratios}")
    settings = {
        "seconds_per_measurement": args.seconds,
        "images": True,
        "noise": True,
        "threads": 1,
        "reference_steps_per_s": REFERENCE_STEPS_PER_S,
    }
    path = write_json("gridworld_throughput", {"settings": settings, "results": rows}, args.out)
    _chart(rows, args.out / "gridworld_throughput.png")
    print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
