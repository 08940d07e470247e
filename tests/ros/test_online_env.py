"""Online A2D over ROS: transitions through batch bridges equal the offline batched env's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from online_helpers import bridge

from sim_bridges.registry import make_batched

pytestmark = pytest.mark.ros


def test_transitions_match_offline_for_the_same_seed_and_actions(
    ros_env, rclpy_context, tmp_path: Path
) -> None:
    from rclpy.node import Node

    from asymlearn_ros.ros_batched_env import RosBatchedEnv

    log = Path(ros_env["ROS_LOG_DIR"])
    with bridge(ros_env, "b0", 3, log), bridge(ros_env, "b1", 2, log):
        node = Node("online_env_test", context=rclpy_context)
        online = RosBatchedEnv(node, ["b0", "b1"], timeout_s=10.0, connect_timeout_s=30.0)
        offline = make_batched("tiger_door", 5)
        assert online.num_envs == 5 and online.info == offline.info
        rng = np.random.default_rng(7)
        for seed in (11, 500):  # two iterations' re-seeding through the reset channel
            obs_on, _ = online.reset(seed=seed)
            obs_off, _ = offline.reset(seed=seed)
            for key in ("image", "state", "partial_state"):
                np.testing.assert_array_equal(obs_on[key], obs_off[key])
            finals = 0
            for _ in range(130):  # past the 100-step horizon: truncations and autoresets
                actions = rng.integers(0, 4, 5)
                on = online.step(actions)
                off = offline.step(actions)
                for key in ("image", "state", "partial_state"):
                    np.testing.assert_array_equal(on[0][key], off[0][key])
                for i in (1, 2, 3):
                    np.testing.assert_array_equal(on[i], off[i])
                assert on[1].dtype == np.float32
                assert sorted(on[4]["final_obs"]) == sorted(off[4]["final_obs"])
                for i, final in off[4]["final_obs"].items():
                    for key, value in final.items():
                        np.testing.assert_array_equal(on[4]["final_obs"][i][key], value)
                    finals += 1
            assert finals >= 5, "the run never crossed an episode end"
        online.close()
        node.destroy_node()
