"""The cartpole benchmark's curve: each evaluation is placed at the steps collected before it."""

from __future__ import annotations

import csv

import pytest

from benchmarks.vmail_cartpole import read_progress, vmail_curve


def test_eval_points_sit_at_the_steps_before_collection(tmp_path) -> None:
    rows = [
        {"env_steps": "500", "eval_return": "70.0"},  # evaluated at 0 steps, then one episode
        {"env_steps": "1000", "eval_return": "70.0"},
        {"env_steps": "1500", "eval_return": "120.5"},  # evaluated after 1000 steps
        {"env_steps": "2000", "eval_return": ""},
    ]
    path = tmp_path / "progress.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["env_steps", "eval_return"])
        w.writeheader()
        w.writerows(rows)
    assert vmail_curve(read_progress(path)) == [(0, 70.0), (1000, 120.5)]
    with pytest.raises(FileNotFoundError, match="no progress file"):
        read_progress(tmp_path / "missing.csv")
