"""Long convergence checks against the paper's gridworld results (run with ``-m slow``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from training.config import make_config
from training.loop import train

QUIET = ["log.progress=false", "log.tensorboard=false"]


def _first_step_reaching(run: Path, target: float) -> float | None:
    with open(run / "progress.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("eval_return_det") and float(row["eval_return_det"]) >= target - 1e-6:
                return float(row["env_steps"])
    return None


@pytest.mark.slow
def test_rl_mdp_tiger_door_reaches_mdp_optimum(tmp_path: Path) -> None:
    out = train(make_config("rl_mdp_tiger_door", [*QUIET, "total_steps=60000"]), tmp_path, resume=False)
    assert out["last_eval"]["eval_return_det"] == pytest.approx(6.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a2d_image_tiger_door_reaches_pomdp_optimum_within_100k(tmp_path: Path) -> None:
    out = train(make_config("a2d_image_tiger_door", QUIET), tmp_path, resume=False)
    assert out["env_steps"] <= 100_352
    assert _first_step_reaching(tmp_path, 2.0) is not None
    assert out["last_eval"]["eval_return_det"] == pytest.approx(2.0)
    assert out["last_eval"]["divergence"] < 1e-2


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ail_tiger_door_converges_to_averaged_policy(tmp_path: Path) -> None:
    over = [*QUIET, f"log.root={tmp_path / 'runs'}", "trainee_input=partial_state", "total_steps=40000"]
    cfg = make_config("ail_tiger_door", over)
    out = train(cfg, tmp_path / "ail", resume=False)
    # The implicit policy walks to a random door: ½·6 + ½·(−114) = −54, with a large divergence.
    assert out["last_eval"]["eval_return_stoch"] < -20
    assert out["last_eval"]["divergence"] > 0.05
