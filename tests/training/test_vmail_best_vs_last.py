"""benchmarks/vmail_best_vs_last: both policies of a run, exported and scored on common episodes."""

from __future__ import annotations

import json

import pytest
from vmail_helpers import one_episode_config, train_logged_run

from benchmarks.vmail_best_vs_last import main


def _run_with_best(tmp_path):
    pytest.importorskip("dm_control")
    cfg = one_episode_config(tmp_path, "train.total_steps=1000", "train.eval_every=500")
    (tmp_path / "expert" / "expert_returns.json").write_text(json.dumps({"mean_return": 400.0}))
    return train_logged_run(cfg, tmp_path / "run")


def test_scores_best_and_last_writes_json_png_and_caches(tmp_path, capsys) -> None:
    run_dir = _run_with_best(tmp_path)
    out = tmp_path / "out"
    argv = ["--run", f"seed0={run_dir}", "--episodes", "2", "--tag", "t", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "vmail_best_vs_last_cartpole_swingup_t.json").read_text())
    assert (out / "vmail_best_vs_last_cartpole_swingup_t.png").stat().st_size > 10_000
    run = report["runs"]["seed0"]
    assert run["expert_return"] == 400.0 and report["task"] == "cartpole_swingup"
    assert run["last"]["agent_steps"] == 1000 and run["best"]["agent_steps"] in (0, 500)
    assert run["best"]["loop_eval"] == max(r for _, r in run["loop_evals"])
    for which, onnx in (("best", "best.onnx"), ("last", "checkpoint.onnx")):
        s = run[which]
        assert s["episodes"] == 2 and s["seeds"] == [2024, 2025] and s["parity"] < 1e-3
        assert 0.0 <= s["mean"] <= 1000.0 and (run_dir / onnx).exists()
    assert len(run["exploring"]) == 2  # two collected episodes of 500 steps
    # The reference is the scripted expert on the same two episodes, not the demos' 400.
    expert = report["expert_eval"]
    assert len(expert["returns"]) == 2 and expert["mean"] > 700.0  # the swing-up expert: 858.7 on demos
    out_text = capsys.readouterr().out
    assert f"expert on the same 2 episodes: {expert['mean']:.1f}" in out_text
    assert f"{100 * run['last']['mean'] / expert['mean']:.1f}% of the expert" in out_text
    # A second call reads the scores from the run's cache instead of exporting again.
    (run_dir / "best.onnx").unlink()
    assert main(argv) == 0
    assert not (run_dir / "best.onnx").exists()
    assert "scoring" not in capsys.readouterr().out
    # A baseline is scored on the same episodes: the last policy's own ONNX scores what it did.
    assert main([*argv, "--baseline", f"same={run_dir / 'checkpoint.onnx'}"]) == 0
    report = json.loads((out / "vmail_best_vs_last_cartpole_swingup_t.json").read_text())
    assert report["baselines"]["same"]["mean"] == pytest.approx(run["last"]["mean"])
    assert "same (baseline):" in capsys.readouterr().out


def test_a_run_without_best_or_a_bad_spec_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"")
    (tmp_path / "full").mkdir()
    for name in ("checkpoint.pt", "best.pt"):
        (tmp_path / "full" / name).write_bytes(b"")
    for argv, message in (
        (["--run", str(tmp_path / "run")], "expects LABEL=DIR"),
        (["--run", f"a={tmp_path / 'run'}"], "best.pt does not exist"),
        ([], "at least one --run"),
        (
            ["--run", f"a={tmp_path / 'full'}", "--baseline", "bc=missing.onnx"],
            "not an exported .onnx policy",
        ),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
