"""Scripted drivers on the occluded-pedestrian scenario: what the reward and collision numbers look like.

Evaluates the privileged expert, the two blind drivers (always fast, always cautious) and
two camera-realistic drivers that react to what ``partial_state`` shows (fast + brake on
sight, cautious + brake on sight) on the same seeded episodes, so the child appears in the
same episodes for every driver. These are the reference points for learned policies: the
expert is the MDP upper reference, reactive-cautious the POMDP one, and blind-fast what an
imitator that ignores the child would do.

State-only by default (``render_images=False``: none of these drivers looks at the image,
so the numbers are identical and 200 episodes take seconds); ``--render`` renders anyway.

Run: ``python -m benchmarks.driving_baselines [--episodes 200] [--seed 0] [--render]``.
Writes docs/benchmarks/driving_baselines.json and .png (and driving_scenario.png, a picture
of the scene).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json

# Driver name -> (function name in sim_bridges.driving.expert, observation key it reads).
DRIVERS: dict[str, tuple[str, str]] = {
    "expert": ("expert_action", "state"),
    "blind_fast": ("blind_fast_action", "state"),
    "blind_cautious": ("blind_cautious_action", "state"),
    "reactive_fast": ("reactive_fast_action", "partial_state"),
    "reactive_cautious": ("reactive_cautious_action", "partial_state"),
}


def evaluate(
    policy: Callable[[np.ndarray], np.ndarray], obs_key: str, episodes: int, seed: int, render: bool
) -> dict[str, Any]:
    """Run seeded episodes (seed + i) and summarise return, waypoints, collisions and length."""
    from sim_bridges.driving.env import OccludedPedestrianEnv

    env = OccludedPedestrianEnv(render_images=render)
    returns: list[float] = []
    final_infos: list[dict[str, Any]] = []
    try:
        for i in range(episodes):
            obs, info = env.reset(seed=seed + i)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, info = env.step(policy(obs[obs_key]))
                total += reward
                done = terminated or truncated
            returns.append(total)
            final_infos.append(info)
    finally:
        env.close()
    return summarize_episodes(returns, final_infos)


def summarize_episodes(returns: Sequence[float], final_infos: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The scenario's metrics from each episode's return and the ``info`` of its last step.

    Child collisions are a share of the episodes that had a child (the paper's metric);
    waypoints are the mean fraction of the route's waypoints reached.
    """
    if len(returns) != len(final_infos) or not returns:
        raise ValueError(
            f"need one final info per episode, got {len(returns)} returns and {len(final_infos)} infos"
        )
    r = np.asarray(returns, np.float64)
    field = lambda key: np.asarray([info[key] for info in final_infos])
    child, hits = field("child_present").astype(bool), field("child_collision").astype(bool)
    lengths = field("t")
    return {
        "episodes": len(r),
        "child_episodes": int(child.sum()),
        "mean_return": float(r.mean()),
        "median_return": float(np.median(r)),
        "stderr_return": float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else 0.0,
        "mean_return_child": float(r[child].mean()) if child.any() else float("nan"),
        "mean_return_no_child": float(r[~child].mean()) if (~child).any() else float("nan"),
        "waypoints_pct": 100.0 * float(np.mean(field("waypoint_fraction"))),
        "success_pct": 100.0 * float(np.mean(field("success"))),
        "child_collision_pct": 100.0 * float(hits[child].mean()) if child.any() else float("nan"),
        "collision_pct": 100.0 * float(np.mean(field("collision"))),
        "lane_invasion_pct": 100.0 * float(np.mean(field("lane_invasion"))),
        "mean_steps": float(np.mean(lengths)),
        "max_steps": int(np.max(lengths)),
    }


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """The results as a fixed-width text table."""
    header = (
        f"{'driver':<18} {'return':>14} {'child/none':>13} {'waypoints%':>10} {'child coll%':>11} "
        f"{'coll%':>6} {'steps':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, m in results.items():
        lines.append(
            f"{name:<18} {m['mean_return']:>7.2f} ± {m['stderr_return']:<4.2f} "
            f"{m['mean_return_child']:>6.1f}/{m['mean_return_no_child']:<6.1f}"
            f"{m['waypoints_pct']:>10.1f} {m['child_collision_pct']:>11.1f} {m['collision_pct']:>6.1f} "
            f"{m['mean_steps']:>5.1f}/{m['max_steps']:<2d}"
        )
    return "\n".join(lines)


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    """Bar charts of mean return and child-collision rate per driver."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = (
        ("mean_return", "mean return (unscaled)", "stderr_return"),
        ("waypoints_pct", "waypoints reached (%)", None),
        ("child_collision_pct", "child collisions (% of child episodes)", None),
    )
    for ax, (key, title, err) in zip(axes, panels, strict=True):
        values = [results[n][key] for n in names]
        errors = [results[n][err] for n in names] if err else None
        ax.bar(
            range(len(names)),
            values,
            yerr=errors,
            color=["#2a7", "#d44", "#48c", "#e93", "#6a4"][: len(names)],
        )
        ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Occluded pedestrian: scripted drivers (same seeded episodes)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scene_picture(path: Path, seed: int = 3) -> None:
    """Top-down privileged view above front-camera frames of a child episode (for the docs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim_bridges.driving.env import OccludedPedestrianEnv
    from sim_bridges.driving.expert import reactive_cautious_action

    env = OccludedPedestrianEnv()
    try:
        obs, _ = env.reset(seed=seed, options={"child_present": True, "child_speed": 2.0})
        frames, tops, done = [], [], False
        while not done:
            obs, _, terminated, truncated, info = env.step(reactive_cautious_action(obs["partial_state"]))
            done = terminated or truncated
            if info["t"] in (8, 20, 26, 32, 40):
                frames.append((info["t"], obs["image"][..., 0], info["child_visible"]))
            if info["t"] in (8, 26):
                tops.append(env.render_privileged())
    finally:
        env.close()
    fig = plt.figure(figsize=(12, 6))
    grid = fig.add_gridspec(3, len(frames))
    for row, top in enumerate(tops):
        ax = fig.add_subplot(grid[row, :])
        ax.imshow(top)
        ax.set_axis_off()
        ax.set_title(f"privileged top-down view, step {(8, 26)[row]} (waypoints green, ego blue)", fontsize=9)
    for col, (t, image, seen) in enumerate(frames):
        ax = fig.add_subplot(grid[2, col])
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"camera t={t} ({'child visible' if seen else 'no child visible'})", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="render the camera too (slower, same numbers)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-picture", action="store_true", help="skip the scene picture")
    args = parser.parse_args(argv)

    from sim_bridges.driving import expert

    start = time.perf_counter()
    results = {}
    for name, (fn, key) in DRIVERS.items():
        results[name] = evaluate(getattr(expert, fn), key, args.episodes, args.seed, args.render)
    elapsed = time.perf_counter() - start
    print(format_table(results))
    print(
        f"({args.episodes} episodes per driver, seeds {args.seed}..{args.seed + args.episodes - 1}, "
        f"render={args.render}, {elapsed:.1f} s)"
    )
    path = write_json(
        "driving_baselines",
        {
            "episodes": args.episodes,
            "seed": args.seed,
            "render_images": args.render,
            "seconds": elapsed,
            "results": results,
        },
        args.out_dir,
    )
    plot(results, path.with_suffix(".png"))
    if not args.no_picture:
        scene_picture(args.out_dir / "driving_scenario.png")
    print(f"wrote {path} and {path.with_suffix('.png').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
