"""`asymlearn demos`: record expert demonstrations (images, actions, state) as episode files.

Example::

    asymlearn demos --task cartpole_swingup --episodes 10 --out data/demos/cartpole_swingup
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", required=True, help="environment name with a scripted expert")
    parser.add_argument("--episodes", type=int, default=10, help="number of demonstrations (default 10)")
    parser.add_argument("--out", required=True, help="directory for the .npz episode files")
    parser.add_argument("--seed", type=int, default=0, help="episode i is reset with seed + i")
    parser.add_argument("--image-size", type=int, default=None, help="square camera size (env default)")


def run(args: argparse.Namespace) -> int:
    from training.demos.collect import collect_demos

    try:
        results = collect_demos(
            args.task, args.episodes, args.out, seed=args.seed, image_size=args.image_size
        )
    except ValueError as exc:
        print(f"asymlearn demos: {exc}")
        return 2
    for r in results:
        print(f"seed {r.seed}: return {r.ret:.1f}, {r.length} entries -> {r.path}")
    mean = sum(r.ret for r in results) / len(results)
    print(f"expert mean return over {len(results)} episodes: {mean:.1f}")
    return 0
