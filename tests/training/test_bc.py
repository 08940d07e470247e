"""Visual BC: demo pair alignment, DrQ random shift, and that the BC loss actually decreases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.baselines_visual.augment import random_shift
from training.baselines_visual.bc import BCConfig, bc_loss, make_policy
from training.baselines_visual.dataset import FrameReplay


def _counting_episode(n: int, offset: int = 0) -> dict[str, np.ndarray]:
    """Frame t is filled with the value offset + t; action[t] = reward[t] = offset + t."""
    img = (offset + np.arange(n, dtype=np.uint8))[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    action = (offset + np.arange(n, dtype=np.float32))[:, None]
    action[0] = 0
    discount = np.ones(n, np.float32)
    discount[-1] = 0.0
    return {"image": img, "action": action, "reward": action[:, 0].copy(), "discount": discount}


def test_transitions_stack_past_frames_with_the_action_taken() -> None:
    data = FrameReplay.from_episodes([_counting_episode(5), _counting_episode(4, offset=100)], frame_stack=3)
    assert len(data) == 4 + 3 and data.num_frames == 9
    frames, actions = data.observations(torch.arange(len(data)))
    stacks = frames[:, :, 0, 0, 0].tolist()
    assert stacks[:4] == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]
    assert stacks[4:] == [[100, 100, 100], [100, 100, 101], [100, 101, 102]]  # no bleed across episodes
    assert actions[:, 0].tolist() == [1, 2, 3, 4, 101, 102, 103]  # action[t+1] was taken at obs t
    tr = data.transitions(torch.tensor([3, 6]))
    assert tr["next_obs"][:, :, 0, 0, 0].tolist() == [[2, 3, 4], [101, 102, 103]]
    assert tr["reward"].tolist() == [4, 103] and tr["discount"].tolist() == [0, 0]  # terminal steps
    for _ in range(2):  # 9 frames' worth of transitions fit; the frames themselves grow
        data.add_step(np.zeros(1), np.zeros((4, 4, 3), np.uint8), 0.0, 1.0)
    assert len(data) == 9 and data.num_frames == 11
    with pytest.raises(RuntimeError, match=r"replay full \(9 transitions\)"):
        data.add_step(np.zeros(1), np.zeros((4, 4, 3), np.uint8), 0.0, 1.0)


def test_random_shift_translates_whole_stacks_by_at_most_pad() -> None:
    n, k, h, w = 64, 2, 16, 16
    img = torch.zeros(n, k, h, w, 3, dtype=torch.uint8)
    img[:, :, 8, 8, :] = 255  # one bright pixel, far enough from the border
    out = random_shift(img, pad=3, generator=torch.Generator().manual_seed(0))
    assert out.shape == img.shape and out.dtype == torch.float32
    moves = set()
    for i in range(n):
        positions = [tuple(torch.nonzero(out[i, j, :, :, 0] == 255)[0].tolist()) for j in range(k)]
        assert positions[0] == positions[1]  # the stack moves together
        assert int((out[i] == 255).sum()) == k * 3  # a translation: the pixel is neither lost nor smeared
        r, c = positions[0]
        assert abs(r - 8) <= 3 and abs(c - 8) <= 3
        moves.add((r, c))
    assert len(moves) > 10  # independent shifts per sample
    torch.testing.assert_close(random_shift(img, pad=0), img.float())
    with pytest.raises(ValueError, match="N, K, H, W, C"):
        random_shift(img[0])


def test_bc_loss_decreases_on_demo_data() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    episodes = []
    for _ in range(4):
        cols = rng.integers(0, 16, 31)
        img = np.zeros((31, 16, 16, 3), np.uint8)
        img[np.arange(31), :, cols, :] = 255  # a bright column whose position sets the action
        action = np.zeros((31, 1), np.float32)
        action[1:, 0] = cols[:-1] / 7.5 - 1.0
        episodes.append({"image": img, "action": action, "reward": np.zeros(31), "discount": np.ones(31)})
    data = FrameReplay.from_episodes(episodes, frame_stack=1)
    cfg = BCConfig(task="none", demos="", run_dir="", frame_stack=1, hidden=(64,), features=32)
    policy = make_policy(cfg, data.image_shape, data.action_dim)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-3)
    frames, actions = data.observations(torch.arange(len(data)))
    with torch.no_grad():
        initial = float(bc_loss(policy, frames, actions))
    gen = torch.Generator().manual_seed(0)
    for _ in range(150):
        f, a = data.observations(data.sample_rows(32, gen))
        loss = bc_loss(policy, random_shift(f, 1, gen), a)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = float(bc_loss(policy, frames, actions))
    assert initial > 0.2  # the untrained policy outputs ~0 for targets spread over [-1, 1]
    assert final < 0.3 * initial, (initial, final)


def test_commands_report_bad_input_clearly(tmp_path, capsys) -> None:
    from training.cli import main

    missing = tmp_path / "nothing"
    assert (
        main(["train-visual", "--method", "bc", "--task", "cartpole_swingup", "--demos", str(missing)]) == 2
    )
    assert f"episode directory not found: {missing}" in capsys.readouterr().out
    assert main(["demos", "--task", "walker_walk", "--episodes", "1", "--out", str(tmp_path / "d")]) == 2
    assert "no scripted expert for task 'walker_walk'" in capsys.readouterr().out
