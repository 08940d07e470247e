"""BC, SQIL and DAC checkpoints export to ONNX like A2D and V-MAIL policies, and run there."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from baseline_helpers import QUIET, tiny_bc_config, tiny_offpolicy_config

from policies.export import read_metadata
from policies.export_cmd import add_arguments, export_checkpoint, run
from policies.runtime import PolicyRunner
from training.baselines_visual.bc import train_bc
from training.baselines_visual.evaluation import CHECKPOINT_FORMAT
from training.baselines_visual.export import policy_from_checkpoint
from training.baselines_visual.offpolicy import train_offpolicy
from training.checkpoint import load_checkpoint


def _train(method: str, demos: Path, run_dir: Path) -> None:
    torch.set_num_threads(1)
    if method == "bc":
        train_bc(tiny_bc_config(demos, run_dir, 3), **QUIET)
    else:
        train_offpolicy(tiny_offpolicy_config(method, demos, run_dir, 24), **QUIET)


@pytest.mark.parametrize("method, algorithm", [("bc", "BC"), ("sqil", "SQIL"), ("dac", "DAC")])
def test_baseline_checkpoint_exports_with_parity_and_runs(
    method: str, algorithm: str, demos: Path, tmp_path: Path
) -> None:
    run = tmp_path / method
    _train(method, demos, run)
    path, diff = export_checkpoint(run / "checkpoint.pt", "trainee", tmp_path / f"{method}.onnx")
    assert diff < 1e-4
    meta = read_metadata(path)
    assert meta.provenance.algorithm == algorithm
    assert (meta.observation.height, meta.observation.frame_window) == (16, 2)
    assert meta.action.size == 1 and meta.provenance.environment == "cartpole_swingup"
    # The ONNX Runtime policy gives the checkpoint's own deterministic action.
    policy, _ = policy_from_checkpoint(load_checkpoint(run, fmt=CHECKPOINT_FORMAT))
    frames = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = policy(torch.from_numpy(frames[None])).numpy()
    runner = PolicyRunner(path)
    runner.act(frames[0])  # the node's frame window: the first frame fills it ...
    runner.act(frames[1])  # ... the second makes it [frame 0, frame 1], as the trainer stacked
    np.testing.assert_allclose(runner.last_raw, expected, atol=1e-5)


def test_baseline_export_refuses_an_expert_clearly(demos: Path, tmp_path: Path, capsys) -> None:
    _train("bc", demos, tmp_path / "bc")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args([str(tmp_path / "bc" / "checkpoint.pt"), "--which", "expert"])) == 1
    assert "BC checkpoint holds only the image policy" in capsys.readouterr().err
