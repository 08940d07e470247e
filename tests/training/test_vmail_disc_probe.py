"""benchmarks/vmail_disc_probe: D on the agent's own episodes and the demos, binned by reward."""

from __future__ import annotations

import json

import numpy as np
import pytest
from vmail_helpers import one_episode_config

from benchmarks.vmail_disc_probe import main, summarise
from training.vmail.algorithm import VMAILTrainer


def test_summarise_bins_steps_by_reward_and_correlates_log_d() -> None:
    r = np.array([0.0, 0.0, 1.0, 1.0, 2.0])
    d = np.array([0.1, 0.3, 0.5, 0.5, 0.9])
    s = summarise(d, r, np.array([0.0, 1.0, 2.0]), [10.0, 20.0])
    assert s["steps_per_reward_bin"] == [2, 3]  # [0, 1) and [1, 2]
    assert s["d_per_reward_bin"] == pytest.approx([0.2, (0.5 + 0.5 + 0.9) / 3])
    assert s["return_mean"] == 15.0 and s["steps"] == 5
    assert 0.8 < s["corr_log_d_reward"] <= 1.0
    flat = summarise(np.full(3, 0.5), np.array([0.0, 1.0, 2.0]), np.linspace(0, 2, 5), [1.0])
    assert flat["corr_log_d_reward"] is None  # no spread in D: no correlation to report
    assert flat["d_per_reward_bin"][1] is None and flat["steps_per_reward_bin"] == [1, 0, 1, 1]


def test_probe_writes_json_png_for_a_trained_checkpoint(tmp_path, capsys) -> None:
    pytest.importorskip("dm_control")
    cfg = one_episode_config(tmp_path)
    run_dir = tmp_path / "run"
    VMAILTrainer(cfg, run_dir, resume=False).train()
    out = tmp_path / "out"
    argv = ["--policy", f"last={run_dir / 'checkpoint.pt'}", "--noise", "0", "0.5", "--episodes", "1"]
    assert main([*argv, "--tag", "t", "--out", str(out)]) == 0
    report = json.loads((out / "vmail_disc_probe_cartpole_swingup_t.json").read_text())
    assert (out / "vmail_disc_probe_cartpole_swingup_t.png").stat().st_size > 10_000
    probe = report["policies"]["last"]
    assert probe["agent_steps"] == 500 and list(probe["sets"]) == [
        "expert demos",
        "agent, noise 0",
        "agent, noise 0.5",
    ]
    assert probe["sets"]["expert demos"]["steps"] == 20  # one 20-step demo
    for name in ("agent, noise 0", "agent, noise 0.5"):
        s = probe["sets"][name]
        assert s["steps"] == 500 and sum(s["steps_per_reward_bin"]) == 500  # cartpole: 500 agent steps
        assert 0.0 < s["d_mean"] < 1.0
    assert "corr(log D, r)" in capsys.readouterr().out


def test_bad_specs_and_wrong_files_are_clear_errors(tmp_path, capsys) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    for argv, message in (
        (["--policy", str(garbage)], "expects LABEL=CHECKPOINT"),
        (["--policy", f"a={tmp_path / 'missing.pt'}"], "does not exist"),
        ([], "at least one --policy"),
        (["--policy", f"a={garbage}", "--noise", "-1"], "must be >= 0"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert main(["--policy", f"a={garbage}", "--out", str(tmp_path)]) == 2
    assert "corrupt or unreadable checkpoint" in capsys.readouterr().err
