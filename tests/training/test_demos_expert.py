"""The scripted cart-pole expert: a real LQR from the model, and it swings up and balances."""

from __future__ import annotations

import numpy as np
import pytest

import sim_bridges
from training.demos.experts import CartpoleSwingupExpert, make_expert


@pytest.fixture
def env():
    e = sim_bridges.make("cartpole_swingup", render=False)
    yield e
    e.close()


def _episode_return(env, policy, seed: int) -> tuple[float, np.ndarray]:
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, r, terminated, truncated, _ = env.step(policy(obs["state"]))
        total += r
        done = terminated or truncated
    return total, obs["state"]


def test_lqr_gain_stabilises_the_linearised_upright_pole(env) -> None:
    expert = CartpoleSwingupExpert(env.physics)
    open_loop = np.abs(np.linalg.eigvals(expert._A)).max()
    closed_loop = np.abs(np.linalg.eigvals(expert._A - expert._B @ expert.gain)).max()
    assert open_loop > 1.0  # the inverted pendulum is unstable
    assert closed_loop < 1.0


def test_expert_swings_up_and_holds_the_pole(env) -> None:
    expert = make_expert("cartpole_swingup", env)
    ret, final = _episode_return(env, expert.act, seed=11)
    idle, _ = _episode_return(env, lambda s: np.zeros(1, np.float32), seed=11)
    assert ret > 800, ret  # the DMC maximum is 1000; swinging up costs the first ~100 steps
    assert idle < 100, idle
    assert final[1] > 0.99 and abs(final[0]) < 0.25  # upright, near the centre at the end


def _lowest_pole_cos(env, policy, seed: int) -> tuple[float, float]:
    obs, _ = env.reset(seed=seed)
    total, lowest, done = 0.0, 1.0, False
    while not done:
        obs, r, terminated, truncated, _ = env.step(policy(obs["state"]))
        total += r
        lowest = min(lowest, float(obs["state"][1]))
        done = terminated or truncated
    return total, lowest


def test_expert_keeps_the_balance_task_upright() -> None:
    balance = sim_bridges.make("cartpole_balance", render=False)
    try:
        expert = make_expert("cartpole_balance", balance)
        ret, lowest = _lowest_pole_cos(balance, expert.act, seed=3)
        idle, idle_lowest = _lowest_pole_cos(balance, lambda s: np.zeros(1, np.float32), seed=3)
    finally:
        balance.close()
    assert ret > 990, ret  # starts near upright: the LQR part holds it for the whole episode
    assert lowest > 0.99, lowest
    # Without control the pole falls over, yet the suite's shaped reward still pays ~770.
    assert idle_lowest < 0.0 and idle < ret - 150, (idle, idle_lowest)


@pytest.mark.parametrize(
    ("task", "expert_floor", "idle_ceiling"),
    [
        # 1 per control step inside the target (reached within ~20 steps); these seeds do not
        # start with the fingertip on the target
        ("reacher_easy", 950.0, 0.0),
        # paid near the centre, less a small control cost; a still point away from it earns nothing
        ("point_mass_easy", 850.0, 1.0),
    ],
)
def test_reaching_experts_reach_the_target(task: str, expert_floor: float, idle_ceiling: float) -> None:
    env = sim_bridges.make(task, render=False)
    try:
        expert = make_expert(task, env)
        rets = [_episode_return(env, expert.act, seed=s)[0] for s in (0, 1, 3)]
        idle = [_episode_return(env, lambda s: np.zeros(2, np.float32), seed=s)[0] for s in (0, 1, 3)]
    finally:
        env.close()
    assert min(rets) > expert_floor, rets
    assert max(idle) <= idle_ceiling, idle


def test_unknown_task_has_no_expert(env) -> None:
    with pytest.raises(ValueError, match="no scripted expert for task 'walker_walk'"):
        make_expert("walker_walk", env)


def test_dclaw_gait_turns_the_valve_to_the_target() -> None:
    from sim_bridges.dclaw import models

    try:
        models.find_models_dir()
    except models.RobelModelsMissingError as exc:
        pytest.skip(f"D'Claw model files missing: {exc}")
    env = sim_bridges.make("dclaw_turn", render=False)
    try:
        expert = make_expert("dclaw_turn", env)
        rets = {}
        for name, policy in (("expert", expert.act), ("hold", lambda s: np.tile([0.0, -1.0, 2 / 3], 3))):
            obs, _ = env.reset(seed=0)
            expert.reset()
            total, done, info = 0.0, False, {}
            while not done:
                obs, r, terminated, truncated, info = env.step(policy(obs["state"]))
                total += r
                done = terminated or truncated
            rets[name] = (total, info["score"])
        assert rets["expert"][1] > 0.97  # within 0.1 rad of pi at the end (score = 1 - err/pi)
        assert rets["hold"][1] < 0.01
        assert rets["expert"][0] > rets["hold"][0] + 500
        with pytest.raises(ValueError, match="velocity reward"):
            make_expert("dclaw_screw", sim_bridges.make("dclaw_screw", render=False, reward="velocity"))
    finally:
        env.close()


def test_car_racing_pursuit_drives_along_the_track() -> None:
    env = sim_bridges.make("car_racing", image_size=16)
    try:
        expert = make_expert("car_racing", env)
        obs, _ = env.reset(seed=0)
        total = 0.0
        for _ in range(100):
            obs, r, terminated, _, _ = env.step(expert.act(obs["state"]))
            total += r
            assert not terminated  # never leaves the playfield
        progress = float(obs["state"][-1])
        # driving straight at full gas gets 36.4 and 0.063 here (measured): the road bends away
        assert progress > 0.1 and total > 50
    finally:
        env.close()


def test_point_mass_target_family_moves_the_reward_the_picture_and_the_expert() -> None:
    centre = sim_bridges.make("point_mass_easy", image_size=32)
    moved = sim_bridges.make("point_mass_easy", image_size=32, target=(0.15, -0.1))
    try:
        np.testing.assert_allclose(moved.physics.named.data.geom_xpos["target", :2], [0.15, -0.1])
        # The camera shows the target where it now is: the frames of one start state differ.
        assert not np.array_equal(centre.reset(seed=0)[0]["image"], moved.reset(seed=0)[0]["image"])
        expert = make_expert("point_mass_easy", moved)
        ret, _ = _episode_return(moved, expert.act, seed=0)
        assert ret > 800.0  # reaches the moved target
        # The suite's centre expert earns nothing on the moved task: the reward moved too.
        ret_centre_expert, _ = _episode_return(moved, make_expert("point_mass_easy", centre).act, seed=0)
        assert ret_centre_expert < 1.0
    finally:
        centre.close()
        moved.close()
    for bad in ((0.3, 0.0), (0.1,), (float("nan"), 0.0)):
        with pytest.raises(ValueError, match="point_mass target must be"):
            sim_bridges.make("point_mass_easy", render=False, target=bad)
