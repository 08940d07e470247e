"""BC, SQIL and DAC checkpoints export to ONNX like A2D and V-MAIL policies, and run there."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from policies.export import read_metadata
from policies.export_cmd import add_arguments, export_checkpoint, run
from policies.runtime import PolicyRunner
from training.baselines_visual.bc import BCConfig, train_bc
from training.baselines_visual.evaluation import CHECKPOINT_FORMAT
from training.baselines_visual.export import policy_from_checkpoint
from training.baselines_visual.offpolicy import OffPolicyConfig, train_offpolicy
from training.baselines_visual.sac import SACConfig
from training.checkpoint import load_checkpoint

QUIET = {"log": lambda _: None}


def _train(method: str, demos: Path, run_dir: Path) -> None:
    torch.set_num_threads(1)
    if method == "bc":
        cfg = BCConfig(
            task="cartpole_swingup",
            demos=str(demos),
            run_dir=str(run_dir),
            frame_stack=2,
            updates=4,
            batch_size=8,
            hidden=(32,),
            features=16,
            eval_every=4,
            eval_episodes=1,
        )
        train_bc(cfg, **QUIET)
        return
    off = OffPolicyConfig(
        method=method,
        task="cartpole_swingup",
        demos=str(demos),
        run_dir=str(run_dir),
        env_steps=20,
        seed_steps=16,
        batch_size=8,
        eval_every=20,
        eval_episodes=1,
        sac=SACConfig(frame_stack=2, hidden=32, features=16, shift_pad=1),
    )
    train_offpolicy(off, **QUIET)


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
