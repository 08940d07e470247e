"""The preset handling every training command shares: --list, --preset, --set, --seed, --print-config."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from training.config import Config


def resolve_preset(
    args: argparse.Namespace,
    prog: str,
    names: Callable[[], list[str]],
    build: Callable[[str, list[str]], Config],
    extra_overrides: list[str] | None = None,
) -> Config | int:
    """The config to train, or the exit code when the command is done (listed, printed, bad input)."""
    if args.list:
        print("\n".join(names()))
        return 0
    if not args.preset:
        print(f"{prog}: --preset is required (see --list)")
        return 2
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    overrides += extra_overrides or []
    try:
        cfg = build(args.preset, overrides)
    except (KeyError, ValueError) as exc:
        print(f"{prog}: {exc}")
        return 2
    if args.print_config:
        print(cfg.to_yaml())
        return 0
    return cfg
