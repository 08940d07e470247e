"""Camera frames per second of the dm_control tasks: suite defaults vs the fast settings.

Collecting image demonstrations and V-MAIL's own episodes is bounded by software rendering on
a CPU (EGL on Mesa llvmpipe). ``DMCEnv`` switches off multisampling, shadows and reflections
before its first frame (platform.md); this measures what that buys, as a ratio taken side by
side (rounds interleaved, so load from elsewhere hits both alike), plus the rate of a full
``env.step`` with the camera (action repeat 2 physics steps + one frame).

Run: ``asymlearn benchmark dmc_render [--frames 200] [--repeats 3] [--sizes 32 64]``.
Writes docs/benchmarks/dmc_render.json.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from benchmarks.common import write_json

TASKS = (("cartpole", "swingup"), ("walker", "walk"), ("cheetah", "run"))


def _suite_default_fps(domain: str, task: str, size: int, frames: int) -> float:
    from dm_control import suite

    env = suite.load(domain, task, task_kwargs={"random": 0})
    env.reset()
    try:
        env.physics.render(size, size, camera_id=0)  # context creation outside the timing
        t0 = time.perf_counter()
        for _ in range(frames):
            env.physics.render(size, size, camera_id=0)
        return frames / (time.perf_counter() - t0)
    finally:
        env.physics.free()


def _env_rates(domain: str, task: str, size: int, frames: int) -> tuple[float, float]:
    """(fast-settings frames/s, env.step with camera per s) through DMCEnv."""
    from sim_bridges.dmc.env import DMCEnv

    env = DMCEnv(domain, task, image_size=size, seed=0)
    try:
        env.reset(seed=0)
        t0 = time.perf_counter()
        for _ in range(frames):
            env._render(size)
        fps = frames / (time.perf_counter() - t0)
        action = np.zeros(env.info.action_dim)
        t0 = time.perf_counter()
        for _ in range(frames):
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        return fps, frames / (time.perf_counter() - t0)
    finally:
        env.close()


def measure(frames: int, repeats: int, sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for domain, task in TASKS:
        for size in sizes:
            default, fast, steps = [], [], []
            for _ in range(repeats):
                default.append(_suite_default_fps(domain, task, size, frames))
                f, s = _env_rates(domain, task, size, frames)
                fast.append(f)
                steps.append(s)
            out[f"{domain}_{task}_{size}px"] = {
                "default_frames_per_s": float(np.median(default)),
                "fast_frames_per_s": float(np.median(fast)),
                "speedup": float(np.median(np.asarray(fast) / np.asarray(default))),
                "env_steps_per_s_with_camera": float(np.median(steps)),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    args = parser.parse_args(argv)
    results = measure(args.frames, args.repeats, args.sizes)
    for name, r in results.items():
        print(
            f"{name}: default {r['default_frames_per_s']:.0f} frames/s, fast {r['fast_frames_per_s']:.0f} "
            f"frames/s (x{r['speedup']:.1f}), env.step with camera {r['env_steps_per_s_with_camera']:.0f}/s"
        )
    path = write_json("dmc_render", {"frames": args.frames, "repeats": args.repeats, "results": results})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
