"""How fast one occluded-pedestrian environment steps, with and without the camera.

A2D on this scenario needs ~400k environment steps, so the single-env rate with rendering
sets the wall-clock floor of training on a CPU. Measured: env.step (+ reset at episode
ends) with the 64x64 mono8 camera, the same without rendering (bicycle model, child,
MuJoCo kinematics and collision distances, rewards), and the camera render call alone.
Only time inside the environment counts; the driving policy (the scripted expert) is
excluded. Each figure is the median of ``--repeats`` rounds.

Run: ``python -m benchmarks.driving_throughput [--steps 2000] [--repeats 3]``.
Writes docs/benchmarks/driving_throughput.json and .png.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json


def _env_rate(render: bool, steps: int, seed: int) -> float:
    """Environment steps per second over `steps` steps driven by the expert."""
    from sim_bridges.driving.env import OccludedPedestrianEnv
    from sim_bridges.driving.expert import expert_action

    env = OccludedPedestrianEnv(render_images=render)
    try:
        obs, _ = env.reset(seed=seed)
        inside = 0.0
        for _ in range(steps):
            action = expert_action(obs["state"])
            t0 = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
            inside += time.perf_counter() - t0
    finally:
        env.close()
    return steps / inside


def _render_rate(frames: int) -> float:
    """Front-camera frames per second (update_scene + render + grayscale), nothing else."""
    from sim_bridges.driving.env import OccludedPedestrianEnv

    env = OccludedPedestrianEnv()
    try:
        env.reset(seed=0)
        cams = env._cams()
        t0 = time.perf_counter()
        for _ in range(frames):
            cams.front_mono(env.data)
        return frames / (time.perf_counter() - t0)
    finally:
        env.close()


def measure(steps: int, repeats: int) -> dict[str, Any]:
    """Median rates over repeats for the three configurations."""
    rendered, physics, render_only = [], [], []
    for r in range(repeats):  # interleaved, so a burst of load from elsewhere hits all three alike
        rendered.append(_env_rate(True, steps, seed=r))
        physics.append(_env_rate(False, steps * 10, seed=r))
        render_only.append(_render_rate(steps))
    return {
        "steps_per_s_with_camera": float(np.median(rendered)),
        "steps_per_s_physics_only": float(np.median(physics)),
        "camera_frames_per_s": float(np.median(render_only)),
        "runs": {"with_camera": rendered, "physics_only": physics, "camera_only": render_only},
    }


def plot(results: dict[str, Any], path: Path) -> None:
    """Bar chart (log scale) of the three rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["env step\n+ 64x64 camera", "env step\nphysics only", "camera render\nonly"]
    values = [
        results["steps_per_s_with_camera"],
        results["steps_per_s_physics_only"],
        results["camera_frames_per_s"],
    ]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    bars = ax.bar(labels, values, color=["#48c", "#2a7", "#999"])
    ax.set_yscale("log")
    ax.axhline(200, color="#d44", ls="--", lw=1, label="target 200 steps/s")
    for bar, v in zip(bars, values, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, v * 1.08, f"{v:,.0f}", ha="center", fontsize=9)
    ax.set_ylabel("per second (one env, one process)")
    ax.set_title("Occluded pedestrian throughput (MuJoCo, EGL software rendering)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per rendered round (x10 physics-only)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    import sim_bridges.driving  # noqa: F401  (sets MUJOCO_GL before MuJoCo is imported)

    results = measure(args.steps, args.repeats)
    results["settings"] = {
        "steps": args.steps,
        "repeats": args.repeats,
        "image": "64x64x1 mono8",
        "MUJOCO_GL": os.environ.get("MUJOCO_GL", ""),
        "LP_NUM_THREADS": os.environ.get("LP_NUM_THREADS", ""),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
    }
    print(f"env step with 64x64 camera : {results['steps_per_s_with_camera']:>9,.0f} steps/s")
    print(f"env step, physics only     : {results['steps_per_s_physics_only']:>9,.0f} steps/s")
    print(f"camera render only         : {results['camera_frames_per_s']:>9,.0f} frames/s")
    path = write_json("driving_throughput", results, args.out_dir)
    plot(results, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
