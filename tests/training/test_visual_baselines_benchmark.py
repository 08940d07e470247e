"""benchmarks/visual_baselines: train-visual runs exported and scored beside the expert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from baseline_helpers import QUIET, tiny_bc_config, tiny_offpolicy_config

from benchmarks.visual_baselines import main
from training.baselines_visual.bc import train_bc
from training.baselines_visual.offpolicy import train_offpolicy
from training.commands.evaluate import EVAL_SEED, evaluate_onnx


def test_scores_bc_and_sqil_runs_and_writes_json_and_png(demos: Path, tmp_path: Path, capsys) -> None:
    torch.set_num_threads(1)
    train_bc(tiny_bc_config(demos, tmp_path / "bc", 3), **QUIET)
    train_offpolicy(tiny_offpolicy_config("sqil", demos, tmp_path / "sqil", 24), **QUIET)
    out = tmp_path / "out"
    argv = ["--run", f"BC={tmp_path / 'bc'}", "--run", f"SQIL={tmp_path / 'sqil'}", "--episodes", "2"]
    assert main([*argv, "--tag", "t", "--out", str(out)]) == 0
    report = json.loads((out / "visual_baselines_cartpole_swingup_t.json").read_text())
    assert (out / "visual_baselines_cartpole_swingup_t.png").stat().st_size > 10_000
    bc, sqil = report["runs"]["BC"], report["runs"]["SQIL"]
    assert (bc["agent_steps"], bc["updates"], bc["loop_evals"]) == (0, 3, [])
    assert sqil["agent_steps"] == 24 and [s for s, _ in sqil["loop_evals"]] == [12, 24]
    for label, run in report["runs"].items():
        assert run["parity"] < 1e-3 and run["seeds"] == [2024, 2025] and len(run["returns"]) == 2
        onnx = tmp_path / label.lower() / "policy.onnx"
        again = evaluate_onnx(onnx, None, 2, EVAL_SEED)["deterministic"]  # the file scores what was reported
        assert again["mean"] == pytest.approx(run["mean"])
    expert = report["expert_eval"]
    assert len(expert["returns"]) == 2 and expert["mean"] > 700.0  # the swing-up expert: 858.7 on demos
    text = capsys.readouterr().out
    assert f"BC at 3 updates: {bc['mean']:7.1f}" in text
    assert f"SQIL at 24 agent steps: {sqil['mean']:7.1f}" in text
    assert f"{100 * sqil['mean'] / expert['mean']:.1f}% of the expert" in text


def test_a_missing_run_or_spec_is_a_usage_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "checkpoint.pt").write_bytes(b"")
    for argv, message in (
        ([], "at least one --run"),
        (["--run", str(tmp_path)], "expects LABEL=DIR"),
        (["--run", f"a={tmp_path / 'half'}"], "progress.csv does not exist"),
        (["--run", f"a={tmp_path / 'half'}", "--episodes", "0"], "at least 1"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
