"""Where benchmark results go, and how they are written."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"


def machine_facts() -> dict[str, Any]:
    """What ran the benchmark, so numbers are never quoted without their machine."""
    import os

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write_json(name: str, results: dict[str, Any], out_dir: Path = RESULTS_DIR) -> Path:
    """Write results/<name>.json with the machine facts attached; returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    payload = {"benchmark": name, "machine": machine_facts(), **results}
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def parse_labelled_paths(
    items: list[str], parser: argparse.ArgumentParser, flag: str, what: str
) -> dict[str, Path]:
    """Repeated ``flag LABEL=PATH`` arguments as {label: path}; a malformed one is a usage error."""
    paths: dict[str, Path] = {}
    for item in items:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            parser.error(f"{flag} expects LABEL={what}, got {item!r}")
        paths[label] = Path(path)
    return paths


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--threads, --tag and --out, shared by the benchmarks that read finished runs."""
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="", help="suffix of the output files")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)


def only_task(tasks: set[str], what: str) -> str | None:
    """The one task all inputs share; None (after saying why on stderr) if they differ."""
    if len(tasks) != 1:
        print(f"error: the {what} are on different tasks: {sorted(tasks)}", file=sys.stderr)
        return None
    return next(iter(tasks))


def parse_method_counts(
    text: str, methods: list[str], parser: argparse.ArgumentParser, flag: str
) -> dict[str, int]:
    """``a2d=3,ail=1`` -> {"a2d": 3, "ail": 1}; a bad item is a usage error naming ``flag``."""
    counts: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if name not in methods or not value.isdigit():
            parser.error(f"{flag}: expected METHOD=N with METHOD in {methods}, got {item!r}")
        counts[name] = int(value)
    return counts


def seed_range(first: int, count: int) -> range:
    """Seeds first..first+count-1: ``--seeds N`` for every method, ``--seeds-for m=K`` for one."""
    return range(first, first + count)


def expert_on_eval_episodes(task: str, episodes: int) -> dict[str, Any]:
    """The scripted expert on the very episodes ``asymlearn evaluate`` scores policies on.

    Why: the demos' mean is on other start states; a share of the expert is judged on the
    same episodes as the policy.
    """
    import numpy as np

    from training.commands.evaluate import EVAL_SEED
    from training.demos.collect import expert_returns

    returns = expert_returns(task, episodes, seed=EVAL_SEED)
    return {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "returns": returns}


def share_of_expert(mean: float, std: float, expert: float) -> str:
    """``mean ± std (p% of the expert)``, the figure the V-MAIL target is stated in."""
    return f"{mean:7.1f} ± {std:6.1f} ({100 * mean / expert:.1f}% of the expert)"
