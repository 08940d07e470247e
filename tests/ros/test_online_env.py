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


def test_a_reset_reply_waits_until_every_output_has_a_subscriber(ros_env, probe, tmp_path: Path) -> None:
    """The start race: a reset arrives before the bridge's publishers match their readers."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float32MultiArray, Int64MultiArray

    from asymlearn_ros import batch_protocol as bp

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    with bridge(ros_env, "b0", 2, tmp_path) as node:
        assert node.wait_for_output("batch bridge ready"), node.output()
        reset = probe.node.create_publisher(Int64MultiArray, f"/b0/{bp.RESET_TOPIC}", reliable)
        assert probe.spin_until(lambda: reset.get_subscription_count() > 0, 15.0), "reset topic not matched"
        reset.publish(bp.rows_msg(np.asarray([3, 4], np.int64), bp.tick_label(1), Int64MultiArray))
        assert node.wait_for_output("reset reply held"), node.output()

        states = probe.collect(Float32MultiArray, f"/b0/{bp.OBS_TOPICS['state']}", reliable)
        images = probe.collect(Image, f"/b0/{bp.OBS_TOPICS['image']}", reliable)
        others = [bp.OBS_TOPICS["partial_state"], bp.STEP_TOPIC]
        others += [bp.FINAL_PREFIX + topic for topic in bp.OBS_TOPICS.values()]
        for topic in others:
            msg_type = Image if topic.endswith(bp.OBS_TOPICS["image"]) else Float32MultiArray
            probe.collect(msg_type, f"/b0/{topic}", reliable)

        assert probe.spin_until(lambda: bool(states) and bool(images), 10.0), node.output()
        expected, _ = make_batched("tiger_door", 2).reset(seed=3)
        label, rows = bp.rows_from_msg(states[0])
        assert bp.parse_tick_label(label) == (1, None)
        np.testing.assert_array_equal(rows, expected["state"])
        image = np.frombuffer(bytes(images[0].data), np.uint8).reshape(expected["image"].shape)
        np.testing.assert_array_equal(image, expected["image"])
        assert "held reset reply for tick 1 sent" in node.output()
