"""`asymlearn demo`: the product's main job, end to end, on a CPU in minutes.

Stages (each prints what it does and how long it took; finished training is reused on a
second run, so the command is idempotent):
  1. ROS 2 check: a camera image makes a round trip through a node in another process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from training.ros_launch import in_private_netns, reexec_in_private_netns


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="where results go")
    parser.add_argument(
        "--no-isolate", action="store_true",
        help="do not re-exec into a private network namespace (DDS stays on localhost discovery)",
    )


def _stage(title: str) -> float:
    print(f"\n=== {title}", flush=True)
    return time.monotonic()


def _done(started: float) -> None:
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


def run(args: argparse.Namespace) -> int:
    if not args.no_isolate:
        reexec_in_private_netns()
    print(f"network: {'private loopback-only namespace' if in_private_netns() else 'localhost discovery'}")
    args.out.mkdir(parents=True, exist_ok=True)

    t = _stage("1. ROS 2 round trip of a camera image through a node")
    from training.ros_launch.round_trip import image_round_trip

    rt = image_round_trip()
    print(
        f"    {rt['count']} 84x84 mono8 images echoed through image_echo: "
        f"median {rt['median_ms']:.2f} ms, p99 {rt['p99_ms']:.2f} ms"
    )
    _done(t)
    return 0
