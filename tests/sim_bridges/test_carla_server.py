"""Against a real CARLA 0.9.16 server: run with CARLA_HOST=<host> [CARLA_PORT=2000] pytest -m carla."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sim_bridges.api import IMAGE, STATE

HOST = os.environ.get("CARLA_HOST")
PORT = int(os.environ.get("CARLA_PORT", "2000"))

pytestmark = [
    pytest.mark.carla,
    pytest.mark.skipif(HOST is None, reason="set CARLA_HOST (and CARLA_PORT) to a running CARLA server"),
]


def test_episode_runs_and_server_is_left_as_found() -> None:
    import carla

    from sim_bridges.carla.env import CarlaOccludedPedestrianEnv

    client = carla.Client(HOST, PORT)
    client.set_timeout(20.0)
    world = client.get_world()
    before = world.get_settings()
    actors_before = {a.id for a in world.get_actors()}
    with CarlaOccludedPedestrianEnv(host=HOST, port=PORT, timeout_s=20.0, seed=0) as env:
        for present in (True, False):
            obs, _ = env.reset(options={"child_present": present})
            assert obs[IMAGE].shape == env.info.image_shape and obs[IMAGE].dtype == np.uint8
            egos = [a for a in world.get_actors() if a.attributes.get("role_name") == "ego_vehicle"]
            assert len(egos) == 1
            for _ in range(30):
                obs, reward, term, trunc, info = env.step([0.0, 0.6])
                assert np.all(np.isfinite(obs[STATE])) and np.isfinite(reward)
                if term or trunc:
                    break
            assert info["waypoints_reached"] >= 1, info
    after = world.get_settings()
    assert after.synchronous_mode == before.synchronous_mode
    assert after.fixed_delta_seconds == before.fixed_delta_seconds
    assert {a.id for a in world.get_actors()} <= actors_before
