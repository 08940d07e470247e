"""The gridworld benchmark's collection, summary and plotting on synthetic run logs (no training)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from benchmarks import a2d_gridworld as bench


def _fake_run(root: Path, preset: str, seed: int, det: list[float], iterations: int = 4) -> None:
    run = root / preset / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(f"total_steps: {2048 * iterations}\nnum_envs: 32\nrollout_steps: 64\n")
    with open(run / "progress.csv", "w", newline="") as f:
        w = csv.DictWriter(
            f,
            [
                "iteration",
                "env_steps",
                "eval_return_det",
                "eval_return_stoch",
                "divergence",
                "wall_time",
                "beta",
            ],
        )
        w.writeheader()
        for i, r in enumerate(det):
            w.writerow(
                {
                    "iteration": i + 1,
                    "env_steps": 2048 * (i + 1),
                    "eval_return_det": r,
                    "eval_return_stoch": r - 1,
                    "divergence": 0.1 / (i + 1),
                    "wall_time": 3.0 * (i + 1),
                    "beta": 0.8**i,
                }
            )


def test_plot_only_writes_json_and_pngs(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for seed in range(3):
        _fake_run(
            root, "a2d_image_tiger_door", seed, [-200, -50, 2, 2] if seed < 2 else [-200, -200, -54, -54]
        )
        _fake_run(root, "rl_mdp_tiger_door", seed, [-200, 6, 6, 6])
    # An interrupted run (2 of 5 iterations) is left out, not reported as if it had ended.
    _fake_run(root, "a2d_image_tiger_door", 3, [-200, -50], iterations=5)
    out = tmp_path / "out"
    rc = bench.main(
        [
            "--plot-only",
            "--seeds",
            "4",
            "--methods",
            "rl_mdp,a2d_image",
            "--envs",
            "tiger_door",
            "--runs-root",
            str(root),
            "--out-dir",
            str(out),
        ]
    )
    assert rc == 0
    data = json.loads((out / "a2d_gridworld.json").read_text())
    row = data["summary"]["a2d_image/tiger_door"]
    assert row["reached"] == "2/3" and row["steps_to_optimum"] == [6144, 6144, None]
    assert row["seeds"] == [0, 1, 2]
    assert data["summary"]["rl_mdp/tiger_door"]["median_steps_to_optimum"] == 4096
    for name in ("a2d_gridworld_reward.png", "a2d_gridworld_reward_det.png", "a2d_gridworld_divergence.png"):
        assert (out / name).stat().st_size > 1000


def test_driving_table_gives_the_mean_and_each_seed() -> None:
    from benchmarks import a2d_driving

    runs = [
        {
            "method": "a2d",
            "seed": s,
            "mean_return": ret,
            "waypoints_pct": wp,
            "child_collision_pct": cc,
            "collision_pct": cc / 2,
            "env_steps": 401408,
            "train_wall_s": 3000.0,
        }
        for s, ret, wp, cc in ((0, 56.0, 96.8, 19.0), (1, 60.0, 100.0, 0.0))
    ]
    table = a2d_driving.summarise(runs)
    assert table["a2d"]["child_collision_pct"] == 9.5
    header, rows = a2d_driving.table_rows(table)
    row = dict(zip(header, rows[0], strict=True))
    assert row["child coll. %"] == "9.5 (19.0/0.0)"
    assert row["return"] == "58.0 (56.0/60.0)"
    assert row["env steps"] == "401k/401k"
    single = a2d_driving.table_rows(a2d_driving.summarise(runs[:1]))[1][0]
    assert single[3] == "19.0"
