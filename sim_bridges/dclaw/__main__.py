"""D'Claw checks from the command line.

    python -m sim_bridges.dclaw sim [--task turn|screw] [--steps 40] [--image out.png]
    python -m sim_bridges.dclaw hardware --port /dev/ttyUSB0 [--reset-pose]

``hardware`` reads and prints the joint, velocity, current and valve readings; with
``--reset-pose`` it eases the fingers to the reset pose in 0.1 rad steps through the
SafetyLayer. Exit code 2 on a hardware error (missing port, silent motor, refused command).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def _sim(args: argparse.Namespace) -> int:
    from sim_bridges.api import IMAGE
    from sim_bridges.dclaw.env import make_dclaw_screw, make_dclaw_turn
    from sim_bridges.dclaw.spec import RESET_POSE, normalize_positions

    make = make_dclaw_turn if args.task == "turn" else make_dclaw_screw
    with make(image_size=args.size, seed=args.seed) as env:
        obs, _ = env.reset(seed=args.seed)
        rng, total = np.random.default_rng(args.seed), 0.0
        hold = normalize_positions(RESET_POSE)
        for _ in range(args.steps):
            obs, r, term, trunc, info = env.step(np.clip(hold + 0.3 * rng.standard_normal(9), -1, 1))
            total += r
            if term or trunc:
                break
        print(
            f"{env.info.name}: return {total:.1f}, valve {info['valve_angle']:.2f} rad, "
            f"score {info['score']:.2f}"
        )
        if args.image:
            import cv2

            cv2.imwrite(args.image, obs[IMAGE][..., ::-1])
            print(f"wrote {args.image}")
    return 0


def _hardware(args: argparse.Namespace) -> int:
    from sim_bridges.dclaw.hardware import DClawHardware, DClawHardwareError
    from sim_bridges.dclaw.safety import UnsafeCommandError
    from sim_bridges.dclaw.spec import JOINT_NAMES, RESET_POSE

    try:
        with DClawHardware(args.port) as hw:
            s = hw.read_state()
            for name, q, v, c in zip(JOINT_NAMES, s.qpos, s.qvel, s.current_ma, strict=True):
                print(f"{name}: {q:+.3f} rad  {v:+.3f} rad/s  {c:+6.0f} mA")
            print(f"valve: {s.valve_angle:+.3f} rad")
            if args.reset_pose:
                for _ in range(60):
                    q = hw.read_state().qpos
                    if np.max(np.abs(RESET_POSE - q)) < 0.03:
                        break
                    cmd = hw.command(q + np.clip(RESET_POSE - q, -0.1, 0.1))
                    if cmd.adjustments:
                        print("safety:", cmd.adjustments)
                    time.sleep(0.1)
                print(
                    "at reset pose"
                    if np.max(np.abs(RESET_POSE - hw.read_state().qpos)) < 0.1
                    else "not there"
                )
    except (DClawHardwareError, UnsafeCommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim_bridges.dclaw", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sim", help="run a few simulated steps")
    s.add_argument("--task", choices=("turn", "screw"), default="turn")
    s.add_argument("--steps", type=int, default=40)
    s.add_argument("--size", type=int, default=128)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--image", default=None, help="save the last camera frame as PNG")
    h = sub.add_parser("hardware", help="read (and optionally pose) a real D'Claw")
    h.add_argument("--port", required=True, help="serial device, e.g. /dev/ttyUSB0")
    h.add_argument("--reset-pose", action="store_true")
    args = p.parse_args(argv)
    return _sim(args) if args.cmd == "sim" else _hardware(args)


if __name__ == "__main__":
    sys.exit(main())
