"""BC, SQIL and DAC resume after a kill: same networks, optimisers, RNG streams and replay."""

from __future__ import annotations

import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from baseline_helpers import QUIET, tiny_bc_config, tiny_offpolicy_config

from training.baselines_visual.bc import train_bc
from training.baselines_visual.dataset import FrameReplay
from training.baselines_visual.evaluation import CHECKPOINT_FORMAT
from training.baselines_visual.offpolicy import REPLAY_FILE, train_offpolicy
from training.checkpoint import CheckpointError, load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "progress.csv") as f:
        return list(csv.DictReader(f))


def test_replay_state_restores_only_the_checkpointed_prefix() -> None:
    def step(replay: FrameReplay, v: int) -> None:
        replay.add_step(np.array([v / 10]), np.full((4, 4, 3), v, np.uint8), float(v), 1.0)

    live = FrameReplay(20, (4, 4, 3), 1, frame_stack=2)
    live.begin_episode(np.zeros((4, 4, 3), np.uint8))
    for v in range(1, 6):
        step(live, v)
    size, frames = len(live), live.num_frames  # the checkpoint was written here ...
    for v in range(6, 9):
        step(live, v)  # ... and the replay file after three more steps
    saved = live.state_dict()
    assert saved["frames"].shape[0] == 9 and saved["actions"].shape[0] == 8  # filled part only

    back = FrameReplay(20, (4, 4, 3), 1, frame_stack=2)
    back.load_state_dict(saved, size, frames)
    assert len(back) == 5 and back.num_frames == 6
    rows = torch.arange(5)
    for key, value in back.transitions(rows).items():
        torch.testing.assert_close(value, live.transitions(rows)[key], msg=key)
    back.begin_episode(np.full((4, 4, 3), 99, np.uint8))  # a fresh episode: no stack reaches back
    step(back, 100)
    assert back.observations(torch.tensor([5]))[0][0, :, 0, 0, 0].tolist() == [99, 99]
    with pytest.raises(ValueError, match="fewer than the checkpoint"):
        FrameReplay(20, (4, 4, 3), 1, 2).load_state_dict(saved, 12, 13)
    with pytest.raises(ValueError, match="frames"):
        FrameReplay(20, (8, 8, 3), 1, 2).load_state_dict(saved, size, frames)


def test_resumes_at_episode_starts_and_early_ends_do_not_fill_the_replay() -> None:
    """A run resumed five times must still fit its last step (session 23's DAC run did not)."""

    def frame(v: int) -> np.ndarray:
        return np.full((4, 4, 3), v, np.uint8)

    live = FrameReplay(8, (4, 4, 3), 1, frame_stack=2)  # room planned for 6 steps in 2 episodes
    live.begin_episode(frame(1))
    live.add_step(np.array([0.1]), frame(2), 1.0, 1.0)
    live.begin_episode(frame(3))  # the episode ended; its successor begun just before a checkpoint
    saved, size, frames = live.state_dict(), len(live), live.num_frames
    for resume in range(5):
        back = FrameReplay(8, (4, 4, 3), 1, frame_stack=2)
        back.load_state_dict(saved, size, frames)
        back.begin_episode(frame(10 + resume))  # a resumed run starts a fresh episode
        assert back.num_frames == frames  # ... in the abandoned first frame's place
        saved = back.state_dict()
    back.add_step(np.array([0.2]), frame(20), 2.0, 1.0)
    tr = back.transitions(torch.tensor([0, 1]))
    assert tr["obs"][:, :, 0, 0, 0].tolist() == [[1, 1], [14, 14]]
    assert tr["next_obs"][:, :, 0, 0, 0].tolist() == [[1, 2], [14, 20]]

    for v in range(30, 36):  # six one-step episodes: 12 frames in a store planned for 8
        back.begin_episode(frame(v))
        back.add_step(np.array([0.3]), frame(v + 100), 0.0, 0.0)
    assert len(back) == 8 and back.num_frames == 16
    assert back.transitions(torch.tensor([7]))["next_obs"][0, :, 0, 0, 0].tolist() == [35, 135]
    assert back.transitions(torch.tensor([1]))["next_obs"][0, :, 0, 0, 0].tolist() == [14, 20]


def test_a_bad_first_frame_leaves_the_replay_as_it_was() -> None:
    data = FrameReplay(4, (4, 4, 3), 1, frame_stack=2)
    data.begin_episode(np.full((4, 4, 3), 7, np.uint8))  # unused: a resume would overwrite it
    with pytest.raises(ValueError, match=r"frame of shape \(5, 4, 3\)"):
        data.begin_episode(np.zeros((5, 4, 3), np.uint8))
    assert data.num_frames == 1
    data.add_step(np.array([0.5]), np.full((4, 4, 3), 8, np.uint8), 1.0, 1.0)
    assert data.transitions(torch.tensor([0]))["next_obs"][0, :, 0, 0, 0].tolist() == [7, 8]


def test_bc_resumed_run_matches_an_uninterrupted_one(demos: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    whole = train_bc(tiny_bc_config(demos, tmp_path / "whole", 6), **QUIET)
    train_bc(tiny_bc_config(demos, tmp_path / "split", 3), **QUIET)  # stopped after update 3 ...
    resumed = train_bc(tiny_bc_config(demos, tmp_path / "split", 6), **QUIET)  # ... and resumed
    a = load_checkpoint(tmp_path / "whole", fmt=CHECKPOINT_FORMAT)
    b = load_checkpoint(tmp_path / "split", fmt=CHECKPOINT_FORMAT)
    for name, value in a["policy"].items():
        torch.testing.assert_close(b["policy"][name], value, rtol=0, atol=0, msg=name)
    assert [r["loss"] for r in _rows(tmp_path / "split")] == [r["loss"] for r in _rows(tmp_path / "whole")]
    assert resumed["eval_return_mean"] == whole["eval_return_mean"]
    with pytest.raises(ValueError, match="batch_size: 16 there, 32 here"):
        train_bc(dataclasses.replace(tiny_bc_config(demos, tmp_path / "split", 9), batch_size=32), **QUIET)


def test_dac_resume_restores_replay_optimisers_and_discriminator(demos: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    run = tmp_path / "dac"
    train_offpolicy(tiny_offpolicy_config("dac", demos, run, 24), **QUIET)
    first = torch.load(run / REPLAY_FILE, weights_only=True)
    assert first["size"] == 24
    train_offpolicy(tiny_offpolicy_config("dac", demos, run, 36), **QUIET)
    assert [int(r["env_steps"]) for r in _rows(run)] == [12, 24, 36]
    state = load_checkpoint(run, fmt=CHECKPOINT_FORMAT)
    assert state["env_steps"] == 36 and state["replay_size"] == 36
    # 20 updates (steps 17..36): the optimisers continued from the 8 of the first part
    assert int(state["sac_optimizers"]["critic"]["state"][0]["step"]) == 20
    assert int(state["discriminator_optimizer"]["state"][0]["step"]) == 20
    second = torch.load(run / REPLAY_FILE, weights_only=True)
    for key in ("obs_index", "actions", "rewards", "discounts"):
        torch.testing.assert_close(second[key][:24], first[key], msg=key)
    torch.testing.assert_close(second["frames"][: first["num_frames"]], first["frames"])

    with pytest.raises(ValueError, match="batch_size"):
        train_offpolicy(tiny_offpolicy_config("dac", demos, run, 48, batch_size=16), **QUIET)
    with pytest.raises(ValueError, match="method"):
        train_offpolicy(tiny_offpolicy_config("sqil", demos, run, 48), **QUIET)
    (run / REPLAY_FILE).write_bytes(b"not a replay")
    with pytest.raises(CheckpointError, match="corrupt replay file"):
        train_offpolicy(tiny_offpolicy_config("dac", demos, run, 48), **QUIET)
    (run / REPLAY_FILE).unlink()
    with pytest.raises(CheckpointError, match="missing"):
        train_offpolicy(tiny_offpolicy_config("dac", demos, run, 48), **QUIET)
    assert load_checkpoint(run, fmt=CHECKPOINT_FORMAT)["env_steps"] == 36  # nothing lost
    train_offpolicy(tiny_offpolicy_config("dac", demos, run, 24), resume=False, **QUIET)  # afresh on request
    assert [int(r["env_steps"]) for r in _rows(run)] == [12, 24]


def test_killed_sqil_run_resumes_from_its_last_checkpoint(demos: Path, tmp_path: Path) -> None:
    run = tmp_path / "sqil"

    def command(env_steps: int) -> list[str]:
        return [
            sys.executable, "-m", "training.cli", "train-visual", "--method", "sqil",
            "--task", "cartpole_swingup", "--demos", str(demos), "--run-dir", str(run),
            "--env-steps", str(env_steps), "--seed-steps", "16", "--batch-size", "8",
            "--frame-stack", "2", "--eval-every", "12", "--eval-episodes", "1",
        ]  # fmt: skip

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        command(10_000), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline, killed_at = time.monotonic() + 240, 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (run / "checkpoint.pt").exists():
                try:
                    killed_at = int(load_checkpoint(run, fmt=CHECKPOINT_FORMAT)["env_steps"])
                except CheckpointError:
                    killed_at = 0  # caught between the rename of the old and the new file
                if killed_at >= 36:
                    break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    assert killed_at >= 36, err.decode()[-2000:]
    saved = int(load_checkpoint(run, fmt=CHECKPOINT_FORMAT)["env_steps"])  # may be later than killed_at
    out = subprocess.run(command(saved + 12), cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"resumed {run} at env step {saved}" in out.stdout
    steps = [int(r["env_steps"]) for r in _rows(run)]
    assert steps == list(range(12, saved + 13, 12))  # no row lost or repeated across the kill
    assert load_checkpoint(run, fmt=CHECKPOINT_FORMAT)["replay_size"] == saved + 12
