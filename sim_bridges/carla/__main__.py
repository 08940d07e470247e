"""Smoke-run the CARLA scenario with the privileged expert: ``python -m sim_bridges.carla --host H``.

Prints one line per episode (return, waypoints, termination, child). Exit code 2 when no
server answers, so scripts can tell a missing server from a failing scenario.
"""

from __future__ import annotations

import argparse
import sys

from sim_bridges.api import STATE
from sim_bridges.carla.connection import CarlaConnectionError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim_bridges.carla", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2000)
    p.add_argument("--timeout", type=float, default=10.0, help="client timeout per attempt (s)")
    p.add_argument("--attempts", type=int, default=3, help="connection attempts (exponential backoff)")
    p.add_argument(
        "--town", default=None, help="load this map first (e.g. Town01); default: keep the current one"
    )
    p.add_argument("--episodes", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv
    from sim_bridges.driving.expert import expert_action

    try:
        with CarlaOccludedPedestrianEnv(
            host=args.host, port=args.port, timeout_s=args.timeout, connect_attempts=args.attempts,
            town=args.town, seed=args.seed,
        ) as env:  # fmt: skip
            for ep in range(args.episodes):
                obs, info = env.reset()
                total, done = 0.0, False
                while not done:
                    obs, r, term, trunc, info = env.step(expert_action(obs[STATE], env.cfg, env.vehicle))
                    total, done = total + r, term or trunc
                print(
                    f"episode {ep}: return {total:.1f}, waypoints {info['waypoints_reached']}, "
                    f"end {info['termination']}, child {'yes' if info['child_present'] else 'no'}, "
                    f"child hit {info['child_collision']}"
                )
    except CarlaConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
