"""`asymlearn train`: train a named preset (A2D, AIL, RL baselines) with dotted overrides.

Examples::

    asymlearn train --preset a2d_image_tiger_door --seed 3
    asymlearn train --preset rl_mdp_frozen_lake --set rl.algo=ppo --set total_steps=200000
    asymlearn train --list
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="preset name(s) from training/configs/presets.yaml, comma-separated")
    parser.add_argument("--seed", type=int, default=None, help="seed (torch, numpy, python and env)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted config override, e.g. a2d.beta_decay=0.7 (repeatable)",
    )
    parser.add_argument("--steps", type=int, default=None, help="shortcut for --set total_steps=N")
    parser.add_argument("--run-dir", default=None, help="run directory (default runs/<preset>/seed<k>)")
    parser.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=True,
        help="continue from run-dir/checkpoint.pt when it exists (default)",
    )
    parser.add_argument("--no-resume", dest="resume", action="store_false", help="start afresh")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list the presets and exit")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    from training.checkpoint import CheckpointError
    from training.commands.presets import resolve_preset
    from training.config import ResumeConflictError, make_config, preset_names

    steps = [f"total_steps={args.steps}"] if args.steps is not None else []
    cfg = resolve_preset(args, "asymlearn train", preset_names, make_config, steps)
    if isinstance(cfg, int):
        return cfg
    from training.loop import train

    try:
        out = train(cfg, args.run_dir, resume=args.resume, progress=False if args.no_progress else None)
    except CheckpointError as exc:
        print(f"asymlearn train: {exc}\n(start afresh with --no-resume, or restore the previous checkpoint)")
        return 1
    except ResumeConflictError as exc:
        print(f"asymlearn train: {exc}")
        return 1
    print(json.dumps(out, indent=2, default=float))
    return 0
