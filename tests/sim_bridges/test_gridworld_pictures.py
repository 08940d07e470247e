"""Pictures and the throughput benchmark run end to end (tiny settings, temp output)."""

from __future__ import annotations

import json

import numpy as np

from sim_bridges import make
from sim_bridges.pictures import side_by_side, upscale


def test_upscale_is_nearest_neighbour() -> None:
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    big = upscale(img, 5)
    assert big.shape == (6, 6, 3) and np.all(big[:3, :3] == img[0, 0])


def test_side_by_side_and_privileged_view() -> None:
    env = make("tiger_door")
    picture = side_by_side(env, seed=0)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    privileged = env.render_privileged()
    assert privileged.shape == (42, 42, 3) and privileged.dtype == np.uint8
    np.testing.assert_array_equal(privileged, env.render_privileged())  # no noise


def test_benchmark_scripts_run(tmp_path) -> None:
    from benchmarks import env_pictures, gridworld_throughput

    assert gridworld_throughput.main(["--seconds", "0.05", "--sizes", "4", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "gridworld_throughput.json").read_text())
    assert {r["mode"] for r in result["results"]} >= {"single env, python loop", "batched N=4"}
    assert (tmp_path / "gridworld_throughput.png").stat().st_size > 0
    assert env_pictures.main(["--out", str(tmp_path / "envs"), "--names", "tiger_door"]) == 0
    assert (tmp_path / "envs" / "tiger_door.png").exists()
