"""dm_control tasks behind the asymmetric API: shapes, seeding, action repeat, time limit."""

from __future__ import annotations

import numpy as np
import pytest

import sim_bridges
from sim_bridges.api import IMAGE, STATE, AsymmetricEnv


@pytest.fixture
def cartpole():
    env = sim_bridges.make("cartpole_swingup", image_size=32)
    yield env
    env.close()


def test_cartpole_conforms_to_the_api(cartpole) -> None:
    env = cartpole
    assert isinstance(env, AsymmetricEnv)
    info = env.info
    assert info.image_shape == (32, 32, 3) and info.state_dim == 5 and info.action_dim == 1
    assert info.horizon == 500 and info.control_rate_hz == pytest.approx(50.0)
    obs, _ = env.reset(seed=0)
    assert obs[IMAGE].dtype == np.uint8 and obs[IMAGE].shape == (32, 32, 3)
    assert obs[STATE].dtype == np.float32 and obs[STATE].shape == (5,)
    assert env.observation_space.contains(obs)
    assert obs[IMAGE].std() > 5  # a real frame, not a blank buffer
    # swing-up starts with the pole hanging: cos(angle from upright) near -1
    assert obs[STATE][1] < -0.9
    obs2, reward, terminated, truncated, info2 = env.step(np.array([0.5], np.float32))
    assert env.observation_space.contains(obs2) and isinstance(reward, float)
    assert not terminated and not truncated and info2["discount"] == 1.0
    # fast rendering settings are applied before the first frame
    assert env.physics.model.vis.quality.offsamples == 0


@pytest.mark.parametrize(
    ("name", "state_dim", "action_dim"), [("cartpole_balance", 5, 1), ("reacher_easy", 6, 2)]
)
def test_the_cpu_sized_tasks_conform_to_the_api(name: str, state_dim: int, action_dim: int) -> None:
    env = sim_bridges.make(name, image_size=32)
    try:
        assert env.info.state_dim == state_dim and env.info.action_dim == action_dim
        obs, _ = env.reset(seed=1)
        assert env.observation_space.contains(obs) and obs[IMAGE].std() > 5
        before = obs[IMAGE].copy()
        for _ in range(10):
            obs, *_ = env.step(np.ones(action_dim, np.float32))
        assert env.observation_space.contains(obs)
        assert np.abs(obs[IMAGE].astype(int) - before).sum() > 0  # the camera sees the motion
    finally:
        env.close()


def test_reacher_names_its_unwrapped_joint_angles() -> None:
    """The suite reports reacher's joint angles unwrapped; learners predicting the state must
    know which dimensions those are (the V-MAIL state head turns them into cos/sin)."""
    env = sim_bridges.make("reacher_easy", image_size=32)
    try:
        assert env.state_angle_dims == (0, 1)
        assert [env.state_names[i] for i in env.state_angle_dims] == ["position[0]", "position[1]"]
        env.reset(seed=0)
        with env.physics.reset_context():
            env.physics.named.data.qpos["shoulder"] = 0.3 + 4 * np.pi
        spun = env.frame()
        with env.physics.reset_context():
            env.physics.named.data.qpos["shoulder"] = 0.3
        np.testing.assert_array_equal(spun, env.frame())  # two turns apart: the same picture
    finally:
        env.close()
    with pytest.raises(ValueError, match="not state dimensions"):
        sim_bridges.dmc.env.DMCEnv("reacher", "easy", image_size=32, angle_states=("elbow",))
    cheetah = sim_bridges.make("cheetah_run", image_size=32, render=False)
    try:  # the suite's position drops rootx, so index 1 is rooty, the body's pitch
        assert [cheetah.state_names[i] for i in cheetah.state_angle_dims] == ["position[1]"]
    finally:
        cheetah.close()


@pytest.mark.parametrize("size", [32, 64])
def test_the_upright_pole_is_visible_wherever_the_cart_is(size: int) -> None:
    """Unsupersampled 32 px frames lost the pole between pixel centres (dmc/env.py docstring)."""
    env = sim_bridges.make("cartpole_swingup", image_size=size)
    try:
        env.reset(seed=0)
        physics, top = env.physics, int(0.55 * size)  # the rows above the cart
        faint = []
        for x in np.linspace(-0.5, 0.5, 41):
            frames = []
            for angle in (0.0, np.pi):  # upright, and hanging out of those rows
                with physics.reset_context():
                    physics.named.data.qpos["slider"] = x
                    physics.named.data.qpos["hinge_1"] = angle
                frames.append(env.frame()[:top].astype(int))
            faint.append(np.abs(frames[0] - frames[1]).sum(-1).max())
        assert min(faint) >= 30, f"pole invisible at {np.sum(np.array(faint) < 30)} of 41 cart positions"
    finally:
        env.close()


def test_reset_seed_reproduces_state_and_pixels(cartpole) -> None:
    env = cartpole
    a, _ = env.reset(seed=7)
    env.step(np.array([1.0]))
    b, _ = env.reset(seed=7)
    c, _ = env.reset(seed=8)
    np.testing.assert_array_equal(a[STATE], b[STATE])
    np.testing.assert_array_equal(a[IMAGE], b[IMAGE])
    assert not np.array_equal(a[STATE], c[STATE])
    rollouts = []
    for _ in range(2):
        env.reset(seed=3)
        rollouts.append([env.step(np.array([np.sin(t)]))[1] for t in range(20)])
    assert rollouts[0] == rollouts[1]


def test_action_repeat_sums_rewards_over_physics_steps() -> None:
    twice = sim_bridges.make("cartpole_swingup", render=False, action_repeat=2)
    once = sim_bridges.make("cartpole_swingup", render=False, action_repeat=1)
    try:
        o2, _ = twice.reset(seed=1)
        o1, _ = once.reset(seed=1)
        np.testing.assert_array_equal(o1[STATE], o2[STATE])
        for t in range(5):
            a = np.array([0.8 * (-1) ** t])
            o2, r2, *_ = twice.step(a)
            o1, r1a, *_ = once.step(a)
            o1, r1b, *_ = once.step(a)
            np.testing.assert_allclose(o2[STATE], o1[STATE])
            assert r2 == pytest.approx(r1a + r1b)
    finally:
        twice.close()
        once.close()


def test_episode_is_truncated_after_500_agent_steps_and_bad_actions_fail() -> None:
    env = sim_bridges.make("cartpole_swingup", render=False)
    try:
        env.reset(seed=0)
        with pytest.raises(ValueError, match="non-finite"):
            env.step(np.array([np.nan]))
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(np.zeros(1))
            steps += 1
            done = terminated or truncated
            assert not terminated
        assert steps == 500 and truncated
    finally:
        env.close()


@pytest.mark.parametrize(
    ("name", "state_dim", "action_dim"), [("walker_walk", 24, 6), ("cheetah_run", 17, 6)]
)
def test_vmail_locomotion_tasks_load(name: str, state_dim: int, action_dim: int) -> None:
    env = sim_bridges.make(name, image_size=16)
    try:
        obs, _ = env.reset(seed=0)
        assert obs[IMAGE].shape == (16, 16, 3) and obs[STATE].shape == (state_dim,)
        assert env.info.action_dim == action_dim and env.action_space.shape == (action_dim,)
        obs, reward, *_ = env.step(np.ones(action_dim, np.float32))
        assert np.isfinite(reward) and env.observation_space.contains(obs)
    finally:
        env.close()
