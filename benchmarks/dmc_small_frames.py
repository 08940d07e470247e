"""Does the cartpole pole survive small camera frames? Direct vs supersampled rendering.

The fast render settings (no multisampling, platform.md) let a thin body fall between pixel
centres. This replays one episode of the scripted cartpole expert, re-renders every
balancing state (the pole within 25° of upright) at each size both ways, and counts the frames
whose pole is invisible: no pixel in the rows above the cart differs by 30 grey levels (summed
over RGB) from the same frame with the pole swung down out of those rows. It also times both
renderings side by side (interleaved rounds). The environments supersample below
``sim_bridges.supersample.MIN_RENDER`` px.

Run: ``asymlearn benchmark dmc_small_frames [--sizes 32 48 64]``.
Writes docs/benchmarks/dmc_small_frames.json and .png (example frames).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from benchmarks.common import RESULTS_DIR, write_json

VISIBLE_LEVELS = 30
ABOVE_CART = 0.55  # the rows above the cart, as a share of the frame height


def expert_states(seed: int = 0) -> np.ndarray:
    """(T, 2) cart position and pole angle (0 = upright) of one expert episode."""
    import sim_bridges
    from training.demos.experts import make_expert

    env = sim_bridges.make("cartpole_swingup", render=False)
    try:
        expert = make_expert("cartpole_swingup", env)
        obs, _ = env.reset(seed=seed)
        out = []
        for _ in range(env.info.horizon):
            x, cos, sin = obs["state"][:3]
            out.append((x, np.arctan2(sin, cos)))
            obs, _, terminated, truncated, _ = env.step(expert.act(obs["state"]))
            if terminated or truncated:
                break
        return np.asarray(out)
    finally:
        env.close()


def _render(physics: Any, size: int, factor: int, x: float, angle: float) -> np.ndarray:
    from sim_bridges.supersample import shrink

    with physics.reset_context():
        physics.named.data.qpos["slider"] = x
        physics.named.data.qpos["hinge_1"] = angle
    return shrink(physics.render(factor * size, factor * size, camera_id=0), size)


def pole_visible(physics: Any, size: int, factor: int, x: float, angle: float) -> bool:
    top = int(ABOVE_CART * size)
    up = _render(physics, size, factor, x, angle)[:top].astype(int)
    down = _render(physics, size, factor, x, np.pi)[:top].astype(int)
    return bool(np.abs(up - down).sum(-1).max() >= VISIBLE_LEVELS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    args = parser.parse_args(argv)

    import sim_bridges
    from sim_bridges.supersample import supersample_factor

    states = expert_states(args.seed)
    balancing = states[np.abs(states[:, 1]) < np.radians(25)]
    env = sim_bridges.make("cartpole_swingup", image_size=max(args.sizes))
    env.reset(seed=args.seed)
    env.frame()  # applies the fast render settings
    physics = env.physics
    rows = []
    for size in args.sizes:
        factor = max(2, supersample_factor(size))
        missing = {
            name: float(np.mean([not pole_visible(physics, size, k, x, a) for x, a in balancing]))
            for name, k in (("direct", 1), ("supersampled", factor))
        }
        timing: dict[str, list[float]] = {"direct": [], "supersampled": []}
        for _ in range(args.rounds):
            for name, k in (("direct", 1), ("supersampled", factor)):
                start = time.perf_counter()
                for x, a in balancing[:100]:
                    _render(physics, size, k, x, a)
                timing[name].append(min(100, len(balancing)) / (time.perf_counter() - start))
        fps = {name: float(np.median(v)) for name, v in timing.items()}
        rows.append({"size": size, "factor": factor, "pole_missing_share": missing, "frames_per_s": fps})
        print(
            f"{size:3d} px: pole missing in {missing['direct']:.1%} of {len(balancing)} balancing frames "
            f"direct, {missing['supersampled']:.1%} supersampled x{factor}; "
            f"{fps['direct']:.0f} vs {fps['supersampled']:.0f} frames/s"
        )
    example = balancing[np.argmax([not pole_visible(physics, 32, 1, x, a) for x, a in balancing])]
    pictures = {
        f"{s} px {name}": _render(physics, s, k, *example)
        for s in (32, 64)
        for name, k in (("direct", 1), ("x4", 4))
    }
    env.close()
    results = {
        "task": "cartpole_swingup",
        "seed": args.seed,
        "balancing_frames": len(balancing),
        "visible_threshold_levels": VISIBLE_LEVELS,
        "sizes": rows,
        "example_state": {"cart_x": float(example[0]), "pole_angle_rad": float(example[1])},
    }
    print(f"wrote {write_json('dmc_small_frames', results)}")
    plot(pictures, RESULTS_DIR / "dmc_small_frames.png")
    return 0


def plot(pictures: dict[str, np.ndarray], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(pictures), figsize=(2.4 * len(pictures), 2.8))
    for ax, (title, image) in zip(axes, pictures.items(), strict=True):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("one balancing state of the cartpole expert", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
