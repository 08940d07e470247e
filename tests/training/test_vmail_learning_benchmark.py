"""The V-MAIL learning benchmark's curve: each evaluation is placed at the steps collected before it."""

from __future__ import annotations

import csv

import pytest

from benchmarks.vmail_learning import read_progress, vmail_curve


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
    # Knowing the cadence, the loop's counter places evaluations even when values repeat.
    assert vmail_curve(read_progress(path), eval_every=1000) == [(0, 70.0), (1000, 120.5)]
    same = [{"env_steps": str(500 * (k + 1)), "eval_return": "0.0"} for k in range(4)]
    assert vmail_curve(same, eval_every=1000) == [(0, 0.0), (1000, 0.0)]
    # With the loop's eval_steps column, two equal evaluations in a row stay two points.
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["env_steps", "eval_return", "eval_steps"])
        w.writeheader()
        w.writerows(
            [
                {"env_steps": "500", "eval_return": "0.0", "eval_steps": "0"},
                {"env_steps": "1000", "eval_return": "0.0", "eval_steps": "0"},
                {"env_steps": "1500", "eval_return": "0.0", "eval_steps": "1000"},
                {"env_steps": "2000", "eval_return": "9.5", "eval_steps": "1500"},
            ]
        )
    assert vmail_curve(read_progress(path)) == [(0, 0.0), (1000, 0.0), (1500, 9.5)]
    with pytest.raises(FileNotFoundError, match="no progress file"):
        read_progress(tmp_path / "missing.csv")


def test_plot_only_writes_a_result_per_task(tmp_path) -> None:
    pytest.importorskip("mujoco")
    import json

    from benchmarks.vmail_learning import main

    run = tmp_path / "run"
    (run / "vmail").mkdir(parents=True)
    (run / "vmail" / "progress.csv").write_text("env_steps,eval_return\n40,-700.5\n440,-20.0\n")
    (run / "bc").mkdir()
    (run / "bc" / "progress.csv").write_text("updates,eval_return_mean\n250,108.0\n500,12.5\n")
    (run / "dac").mkdir()
    (run / "dac" / "progress.csv").write_text("env_steps,eval_return_mean\n200,-600.0\n400,-90.5\n")
    demos = tmp_path / "demos"
    demos.mkdir()
    (demos / "expert_returns.json").write_text(json.dumps({"mean_return": 109.8}))
    out = tmp_path / "out"
    argv = [
        "--task",
        "dclaw_turn",
        "--plot-only",
        "--run-dir",
        str(run),
        "--demos",
        str(demos),
        "--out",
        str(out),
        "--baseline",
        f"DAC={run / 'dac'}",
        "--other",
        f"disc.inputs=state={run / 'vmail'}",
    ]
    assert main(argv) == 0
    result = json.loads((out / "vmail_dclaw_turn.json").read_text())
    assert result["vmail_curve"] == [[0, -700.5], [40, -20.0]]
    assert (result["bc_return"], result["expert_return"], result["action_repeat"]) == (12.5, 109.8, 1)
    assert result["bc_curve"] == [[250, 108.0], [500, 12.5]]
    assert result["baselines"] == {"DAC": [[200, -600.0], [400, -90.5]]}
    assert result["vmail_final"] is None  # no checkpoint in the run directory to evaluate
    assert result["hold_return"] == pytest.approx(-630.5, abs=0.5)  # D'Claw: holding the reset pose
    assert (out / "vmail_dclaw_turn.png").stat().st_size > 0
    assert result["other_runs"] == {"disc.inputs=state": [[0, -700.5], [40, -20.0]]}  # label keeps its '='
    assert result["other_finals"] == {}  # no checkpoint there either
    # A run's last-checkpoint mean is drawn in its curve's colour.
    from benchmarks.vmail_learning import plot

    final = {"agent_steps": 40, "episodes": 20, "mean": -15.0, "std": 3.0}
    result["other_finals"] = {"disc.inputs=state": final}
    plot(result, tmp_path / "with_final.png")
    assert (tmp_path / "with_final.png").stat().st_size > 0


def test_transfer_score_is_zero_at_holding_still_and_100_at_the_expert() -> None:
    from benchmarks.vmail_transfer import normalised

    assert normalised(-630.5, hold=-630.5, expert=109.8) == 0.0
    assert normalised(109.8, hold=-630.5, expert=109.8) == pytest.approx(100.0)
    assert normalised(-836.3, hold=-630.5, expert=109.8) == pytest.approx(-27.8, abs=0.05)
    with pytest.raises(ValueError, match="undefined"):
        normalised(1.0, hold=5.0, expert=5.0)
