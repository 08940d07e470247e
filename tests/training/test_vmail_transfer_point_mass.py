"""benchmarks/vmail_transfer_point_mass: Algorithm 2 from a finished point_mass run to a moved target."""

from __future__ import annotations

import json

import pytest
from vmail_helpers import TINY, random_episodes, train_logged_run

from benchmarks.vmail_transfer_point_mass import main
from training.vmail.algorithm import vmail_config


def _source_run(tmp_path):
    pytest.importorskip("dm_control")
    random_episodes(tmp_path / "expert", 2, 20, action_dim=2)
    cfg = vmail_config(
        "vmail_cpu",
        [
            *TINY,
            "env=point_mass_easy",
            f"expert_dirs=[{tmp_path / 'expert'}]",
            "train.total_steps=500",
            "train.pretrain=2",
            "train.train_every=500",
            "train.train_steps=2",
            "train.eval_every=500",
        ],
    )
    return train_logged_run(cfg, tmp_path / "source")


def test_transfer_bc_and_direct_scored_against_the_expert_then_cached(tmp_path, capsys) -> None:
    source = _source_run(tmp_path)
    out, work = tmp_path / "out", tmp_path / "work"
    argv = [
        "--source", str(source), "--target", "0.1,-0.05", "--updates", "2", "--eval-every", "1",
        "--curve-episodes", "1", "--bc-updates", "2", "--episodes", "2",
        "--work-dir", str(work), "--out", str(out), "--tag", "t",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "vmail_transfer_point_mass_t.json").read_text())
    assert (out / "vmail_transfer_point_mass_t.png").stat().st_size > 10_000
    assert report["target"]["target"] == [0.1, -0.05] and report["seeds"] == [2024, 2025]
    expert = report["target"]["expert_return"]
    assert expert > 700.0  # the PD expert reaches the moved target
    assert len(report["target"]["expert_returns"]) == 2
    assert [u for u, _ in report["transfer_curve"]] == [1, 2]
    assert set(report["returns"]) == set(report["percent_of_expert"]) and len(report["returns"]) == 3
    for name, r in report["returns"].items():
        assert len(r["all"]) == 2 and 0.0 <= r["mean"] <= 1000.0
        assert report["percent_of_expert"][name] == pytest.approx(100 * r["mean"] / expert)
    assert report["source"]["agent_steps"] == 500 and report["target_env_steps_for_learning"] == 0
    assert len(list(work.glob("demos_*/*.npz"))) == 10
    assert "transfer update 2/2" in capsys.readouterr().out
    # A rerun with the same settings takes every phase from phases.json.
    assert main(argv) == 0
    assert "transfer update" not in capsys.readouterr().out
    assert json.loads((out / "vmail_transfer_point_mass_t.json").read_text())["returns"] == report["returns"]


def test_bad_source_or_target_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "run").mkdir()
    for argv, message in (
        (["--source", str(tmp_path / "run")], "checkpoint.pt is missing"),
        (["--source", str(tmp_path / "run"), "--target", "0.1"], "--target expects X,Y"),
        ([], "--source"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
