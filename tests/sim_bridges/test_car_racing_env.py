"""gymnasium CarRacing behind the asymmetric API: shapes, seeding, actions, privileged state."""

from __future__ import annotations

import numpy as np
import pytest

import sim_bridges
from sim_bridges.api import IMAGE, STATE, AsymmetricEnv
from sim_bridges.car_racing.env import STATE_NAMES


@pytest.fixture(scope="module")
def env():
    e = sim_bridges.make("car_racing", image_size=48)
    yield e
    e.close()


def test_api_shapes_and_seeded_tracks(env) -> None:
    assert isinstance(env, AsymmetricEnv)
    assert env.info.image_shape == (48, 48, 3) and env.info.state_dim == len(STATE_NAMES) == 23
    assert env.info.horizon == 475 and env.info.action_dim == 3
    a, _ = env.reset(seed=4)
    b, _ = env.reset(seed=4)
    c, _ = env.reset(seed=5)
    assert a[IMAGE].dtype == np.uint8 and a[IMAGE].shape == (48, 48, 3)
    assert a[STATE].dtype == np.float32 and env.observation_space.contains(a)
    np.testing.assert_array_equal(a[IMAGE], b[IMAGE])
    np.testing.assert_array_equal(a[STATE], b[STATE])
    assert not np.array_equal(a[STATE], c[STATE])  # another track, another start pose


def test_gas_drives_forward_along_the_track(env) -> None:
    obs, _ = env.reset(seed=4)
    speed = STATE_NAMES.index("v_forward")
    ahead = STATE_NAMES.index("track0_forward")
    assert obs[STATE][speed] == pytest.approx(0.0, abs=1e-3)
    assert obs[STATE][ahead] > 0  # the next track point lies in front of the car at the start
    total = 0.0
    for _ in range(15):
        obs, reward, terminated, _, info = env.step(np.array([0.0, 1.0, -1.0]))  # full gas, no brake
        total += reward
    assert not terminated and info["discount"] == 1.0
    assert obs[STATE][speed] > 0.3  # > 15 units/s forward
    assert total > 0  # new tiles visited outweigh the -0.1 per frame
    with pytest.raises(ValueError, match="non-finite"):
        env.step(np.array([np.nan, 0.0, 0.0]))
