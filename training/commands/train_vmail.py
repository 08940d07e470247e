"""`asymlearn train-vmail`: V-MAIL (Algorithm 1) from presets in training/configs/vmail.yaml.

Examples::

    asymlearn train-vmail --list
    asymlearn train-vmail --preset vmail_cpu --set env=walker_walk --set expert_dirs=[data/demos/walker_walk]
    asymlearn train-vmail --preset vmail_cpu ... --export runs/vmail/policy.onnx
"""

from __future__ import annotations

import argparse
import json
import logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="preset name(s) from training/configs/vmail.yaml, comma-separated")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted config override (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--run-dir", default=None, help="default runs/<preset>/seed<k>")
    parser.add_argument("--no-resume", dest="resume", action="store_false", default=True)
    parser.add_argument("--export", default=None, metavar="PATH", help="export the ONNX policy when done")
    parser.add_argument("--list", action="store_true", help="list the presets and exit")
    parser.add_argument("--print-config", action="store_true")


def run(args: argparse.Namespace) -> int:
    from training.commands.presets import resolve_preset
    from training.config import preset_names
    from training.vmail.algorithm import PRESETS, vmail_config

    cfg = resolve_preset(args, "asymlearn train-vmail", lambda: preset_names(PRESETS), vmail_config)
    if isinstance(cfg, int):
        return cfg
    from training.checkpoint import CheckpointError
    from training.logger import RunLogger
    from training.vmail.algorithm import VMAILTrainer
    from training.vmail.deploy import export_vmail

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_dir = args.run_dir or f"runs/{args.preset.replace(',', '+')}/seed{cfg.seed}"
    try:
        trainer = VMAILTrainer(cfg, run_dir, resume=args.resume)
    except (CheckpointError, FileNotFoundError, ValueError) as exc:
        print(f"asymlearn train-vmail: {exc}")
        return 1
    logger = RunLogger(run_dir, start_iteration=trainer.episodes, start_step=trainer.env_steps)
    try:
        out = trainer.train(logger)
    finally:
        logger.close()
    if args.export:
        out["onnx"] = export_vmail(trainer.agent, args.export, environment=cfg.env)
    print(json.dumps(out, indent=2, default=float))
    return 0
