"""`asymlearn`: one entry point for train, evaluate, export, deploy, benchmark and demo.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so
``asymlearn --help`` stays fast and a ROS-free install can still train.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("training.commands.train", "train a policy from a named preset"),
    "evaluate": ("training.commands.evaluate", "evaluate a checkpoint or an ONNX policy in simulation"),
    "export": ("policies.export_cmd", "export a trained checkpoint to ONNX with metadata"),
    "train-online": ("training.online", "train A2D online over ROS 2, driving N simulator bridge nodes"),
    "deploy": ("training.deploy", "run a simulated ROS 2 deployment from a launch file"),
    "benchmark": ("benchmarks.run", "run a benchmark and write JSON + PNG under docs/benchmarks"),
    "demo": ("training.demo", "the end-to-end demo: train, export, deploy over ROS 2, plot"),
    "demos": ("training.commands.demos", "record expert demonstrations (image episodes) for a task"),
    "train-visual": ("training.commands.train_visual", "visual imitation baselines (BC, SQIL, DAC) on demos"),
    "train-vmail": ("training.commands.train_vmail", "V-MAIL (model-based adversarial imitation) on demos"),
}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(prog="asymlearn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers = {}
    for name, (_module, help_text) in COMMANDS.items():
        subparsers[name] = sub.add_parser(name, help=help_text, description=help_text)
    return parser, subparsers


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, subparsers = build_parser()
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser.print_help()
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    module.add_arguments(subparsers[name])
    args = parser.parse_args(argv)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
