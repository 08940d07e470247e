"""Dispatch `asymlearn benchmark NAME [args...]` to benchmarks/NAME.py's main(argv)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import benchmarks


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in ("run", "common")
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=available(), help="which benchmark")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"benchmarks.{args.name}")
    return int(module.main(args.rest) or 0)
