"""Checkpoints: kill-and-resume continues identically, corrupt files fail clearly, weights_only loads."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch

from training.checkpoint import CheckpointError, load_checkpoint, load_policy_for_export
from training.config import make_config
from training.loop import train

OVERRIDES = [
    "log.progress=false",
    "log.tensorboard=false",
    "num_envs=8",
    "rollout_steps=16",
    "total_steps=512",
    "eval.episodes=4",
    "projection.minibatch=32",
    "value.minibatch=64",
]
IGNORED = {"train_time", "eval_time", "wall_time"}


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "progress.csv", newline="") as f:
        return [
            {k: v for k, v in r.items() if k not in IGNORED and not k.startswith("time_")}
            for r in csv.DictReader(f)
        ]


@pytest.mark.parametrize("preset", ["a2d_image_tiger_door", "rl_mdp_tiger_door"])
def test_kill_and_resume_gives_identical_continuation(tmp_path: Path, preset: str) -> None:
    cfg = make_config(preset, OVERRIDES)
    full = tmp_path / "full"
    split = tmp_path / "split"
    out = train(cfg, full, resume=False)
    assert out["finished"] and out["iteration"] == 4
    part = train(cfg, split, resume=False, stop_after_iterations=2)  # "killed" after iteration 2
    assert not part["finished"] and part["iteration"] == 2
    # Emulate a crash that left a newer, torn temp file and one extra logged row behind.
    (split / ".checkpoint.pt.tmp.999").write_bytes(b"torn")
    resumed = train(cfg, split, resume=True)
    assert resumed["finished"] and resumed["env_steps"] == out["env_steps"]
    a, b = load_checkpoint(full), load_checkpoint(split)
    for name, sd in a["trainer"]["nets"].items():
        for k, v in sd.items():
            assert torch.equal(v, b["trainer"]["nets"][name][k]), (name, k)
    assert _rows(full) == _rows(split)
    assert (split / "checkpoint_prev.pt").exists()


def test_corrupt_checkpoint_clear_error(tmp_path: Path) -> None:
    cfg = make_config("rl_mdp_tiger_door", [*OVERRIDES, "total_steps=256"])
    train(cfg, tmp_path, resume=False)
    ckpt = tmp_path / "checkpoint.pt"
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(CheckpointError, match=re.escape(str(ckpt))):
        train(cfg, tmp_path, resume=True)
    with pytest.raises(CheckpointError, match=r"checkpoint\.pt"):
        load_policy_for_export(ckpt)
    ckpt.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=re.escape(str(ckpt))):
        load_checkpoint(ckpt)
    # the previous good checkpoint is kept and still loads
    assert load_checkpoint(tmp_path / "checkpoint_prev.pt")["trainer"]["iteration"] >= 1


def test_resume_refuses_other_hyperparameters_but_allows_a_longer_run(tmp_path: Path) -> None:
    cfg = make_config("rl_mdp_tiger_door", [*OVERRIDES, "total_steps=256"])
    train(cfg, tmp_path, resume=False)
    other = make_config("rl_mdp_tiger_door", [*OVERRIDES, "total_steps=256", "rl.lam=0.9"])
    with pytest.raises(ValueError, match=r"rl\.lam: 0\.95 in the checkpoint, 0\.9 now.*--no-resume"):
        train(other, tmp_path, resume=True)
    longer = make_config("rl_mdp_tiger_door", [*OVERRIDES, "total_steps=512"])
    assert train(longer, tmp_path, resume=True)["env_steps"] == 512


def test_weights_only_load_and_export_contract(tmp_path: Path) -> None:
    cfg = make_config("a2d_image_tiger_door", [*OVERRIDES, "total_steps=256"])
    train(cfg, tmp_path, resume=False)
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert {"config", "env_info", "trainer", "rng"} <= set(raw)
    module, meta = load_policy_for_export(tmp_path / "checkpoint.pt", "trainee")
    assert module.frame_window == 1
    out = module(torch.zeros(2, 1, 42, 42, 3, dtype=torch.uint8))
    assert out.shape == (2, 4) and out.dtype == torch.float32
    assert meta["observation"]["kind"] == "image" and meta["observation"]["height"] == 42
    assert meta["observation"]["encoding"] == "rgb8" and meta["action"]["kind"] == "discrete"
    assert meta["action"]["size"] == 4 and meta["environment"] == "tiger_door" and meta["env_steps"] == 256
    for key in ("algorithm", "seed", "eval_return", "control_rate_hz"):
        assert key in meta
    expert, emeta = load_policy_for_export(tmp_path / "checkpoint.pt", "expert")
    assert expert(torch.zeros(3, 30)).shape == (3, 4)
    assert emeta["observation"] == {**emeta["observation"], "kind": "state", "state_dim": 30}
