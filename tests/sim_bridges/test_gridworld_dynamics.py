"""Gridworld dynamics: walls, moves, rewards, termination, truncation, button, info, API."""

from __future__ import annotations

import numpy as np
import pytest

from sim_bridges import make, make_batched
from sim_bridges.api import AsymmetricEnv, BatchedEnv
from sim_bridges.gridworld.layouts import SPECS

NAMES = sorted(SPECS)
PX, PY, MX, MY = 0, 1, 2, 3  # +x, +y, -x, -y


def agent_xy(env, obs) -> tuple[int, int]:
    """Decode the agent cell from the privileged state one-hot, (x-1)*n + (y-1)."""
    n = env.spec.interior
    i = int(np.argmax(obs["state"][: n * n]))
    assert obs["state"][: n * n].sum() == 1.0
    return 1 + i // n, 1 + i % n


def test_protocols_and_info() -> None:
    for name in NAMES:
        env = make(name)
        assert isinstance(env, AsymmetricEnv)
        assert isinstance(make_batched(name, 3), BatchedEnv)
        info = env.info
        assert info.name == name and info.image_encoding == "rgb8"
        assert info.discrete_actions == 4 and info.action_dim == 1
        assert info.action_names == ("+x", "+y", "-x", "-y")
        assert info.control_rate_hz == 10 and info.horizon == 100
        assert set(info.reference_returns) == {"mdp_optimal", "pomdp_optimal", "averaged_policy"}
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        expected = {"tiger_door": (42, 30, 30), "frozen_lake": (42, 34, 25)}.get(name, (54, 54, 54))
        assert obs["image"].shape == (expected[0], expected[0], 3) == info.image_shape
        assert (info.state_dim, info.partial_state_dim) == expected[1:]
        assert obs["state"].shape == (expected[1],) and obs["partial_state"].shape == (expected[2],)


def test_tiger_door_walls_and_moves() -> None:
    env = make("tiger_door", render_images=False)
    obs, _ = env.reset(seed=0)
    assert agent_xy(env, obs) == (1, 1)
    for blocked in (MX, MY, PX):  # outer wall left/top, interior wall at (2, 1)
        obs, reward, term, trunc, _ = env.step(blocked)
        assert agent_xy(env, obs) == (1, 1) and reward == -2 and not term and not trunc
    path = [(PY, (1, 2)), (PX, (1, 2)), (PY, (1, 3)), (PX, (2, 3)), (PY, (2, 3)), (PX, (3, 3)), (PX, (3, 3))]
    for a, cell in path:  # (2,2), (2,4) and (4,3) are walls
        obs, *_ = env.step(a)
        assert agent_xy(env, obs) == cell


def test_goal_hazard_rewards_and_button() -> None:
    env = make("tiger_door", render_images=False)
    to_door = [PY, PY, PX, PX, MY, PX, PX]  # ends at the top door (5, 2)
    for layout, success in ((0, True), (1, False)):  # layout 0: goal at the top door
        env.reset(seed=1, options={"layout": layout})
        rewards = []
        for a in to_door:
            obs, r, term, trunc, info = env.step(a)
            rewards.append(r)
        assert rewards[:-1] == [-2.0] * 6 and rewards[-1] == (18.0 if success else -102.0)
        assert term and not trunc and info["success"] == success and info["hazard"] == (not success)
        assert agent_xy(env, obs) == (5, 2)
        with pytest.raises(RuntimeError):
            env.step(PX)
    env.reset(seed=1)
    for a in (PY, PY, PY):
        obs, r, _, _, info = env.step(a)
        assert r == -2.0
    assert info["illuminated"] and agent_xy(env, obs) == (1, 4)
    obs, *_, info = env.step(MY)
    assert info["illuminated"]  # stays lit after leaving the button


def test_truncation_at_horizon() -> None:
    for name in NAMES:
        env = make(name, render_images=False)
        env.reset(seed=0)
        total = 0.0
        for t in range(1, 101):
            _, r, term, trunc, info = env.step(MY if name != "frozen_lake" else MX)  # into a wall
            total += r
            assert not term
            assert trunc == (t == 100)
        assert total == -200.0 and info["steps"] == 100


def test_frozen_lake_hazard_cells_and_straight_path() -> None:
    env = make("frozen_lake", render_images=False)
    for k in range(9):
        obs, _ = env.reset(seed=0, options={"layout": k})
        assert obs["state"][25:].tolist() == [float(j == k) for j in range(9)]
        hazard = (2 + k % 3, 2 + k // 3)
        assert agent_xy(env, obs) == (1, 3)
        total = 0.0
        for _ in range(4):
            obs, r, term, _, info = env.step(PX)
            total += r
            if term:
                break
        if hazard[1] == 3:
            assert info["hazard"] and agent_xy(env, obs) == hazard and total == -102 - 2 * (hazard[0] - 2)
        else:
            assert info["success"] and total == 12.0 and agent_xy(env, obs) == (5, 3)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_tiger_door_osc_geometry(version: int) -> None:
    env = make(f"tiger_door_{version}", render_images=False)
    obs, _ = env.reset(seed=0, options={"layout": 0})  # layout 0: goal column on the left
    assert agent_xy(env, obs) == (4, 4)
    obs, *_ = env.step(PY)  # row 5 is wall
    assert agent_xy(env, obs) == (4, 4)
    obs, _, _, _, info = env.step(MY)  # the button is directly above the start
    assert agent_xy(env, obs) == (4, 3) and info["illuminated"]
    obs, *_ = env.step(MY)  # row 2 is wall
    assert agent_xy(env, obs) == (4, 3)
    for _ in range(version):
        obs, r, term, _, info = env.step(MX)
    assert term and info["success"] and agent_xy(env, obs) == (4 - version, 3)
    env.reset(seed=0, options={"layout": 0})
    for _ in range(version):
        obs, r, term, _, info = env.step(PX)
    assert term and info["hazard"] and r == -102.0 and agent_xy(env, obs) == (4 + version, 4)


def test_invalid_actions_rejected() -> None:
    env = make("tiger_door", render_images=False)
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(4)
    batched = make_batched("tiger_door", 2, render_images=False)
    batched.reset(seed=0)
    with pytest.raises(ValueError):
        batched.step(np.array([0, 1, 2]))
    batched.step(np.array([[0], [1]]))  # (N, 1) is accepted
