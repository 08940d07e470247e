"""The sim bridge with real nodes: lockstep closed loop through ROS equals in-process evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float32MultiArray, Int32, String
from std_srvs.srv import Trigger

from asymlearn_ros.sim_bridge_node import parse_step_label
from sim_bridges.registry import make
from training.deploy import deploy, rollout_in_process
from training.ros_launch import NodeProcess

pytestmark = pytest.mark.ros


@pytest.mark.parametrize(
    ("launch", "env_name", "seed"), [("tiger_door", "tiger_door", 3), ("frozen_lake", "frozen_lake", 11)]
)
def test_lockstep_returns_through_ros_equal_in_process(
    ros_env, models, tmp_path, launch, env_name, seed
) -> None:
    episodes = 4
    expected = rollout_in_process(env_name, models["grid_a"], seed, episodes)
    assert len(set(expected)) > 1, "test policy too trivial: all returns equal"
    result = deploy(
        launch,
        [f"policy_node.model_path={models['grid_a']}", f"sim_bridge.seed={seed}"],
        episodes=episodes,
        timeout=25.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "episodes done", result
    assert [s["seed"] for s in result["episodes"]] == [seed + i for i in range(episodes)]
    assert result["returns"] == expected


def test_reset_service_starts_the_next_seeded_episode(ros_env, probe) -> None:
    seed = 5
    args = ["--ros-args", "-p", "env_name:=tiger_door", "-p", f"seed:={seed}"]
    with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
        assert bridge.wait_for_output("sim bridge ready"), bridge.output()
        images = probe.collect(Image, "image")
        states = probe.collect(Float32MultiArray, "/sim_bridge/privileged_state")
        latched = QoSProfile(
            depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        summaries = probe.collect(String, "/sim_bridge/episode_summary", latched)
        actions = probe.node.create_publisher(Int32, "action", 10)
        assert probe.spin_until(lambda: bool(images), 15.0), bridge.output()
        for step in range(1, 3):  # two lockstep steps
            actions.publish(Int32(data=1))
            assert probe.spin_until(lambda s=step: len(images) > s, 5.0)
        assert images[-1].header.stamp.nanosec == 200_000_000  # step 2 at 10 Hz
        response = probe.call(Trigger, "/sim_bridge/reset", Trigger.Request())
        assert response.success and f"seed {seed + 1}" in response.message
        assert probe.spin_until(lambda: len(images) > 3 and bool(summaries), 5.0)
        first = images[3]
        assert (first.header.stamp.sec, first.header.stamp.nanosec) == (0, 0)
        expected, _ = make("tiger_door").reset(seed=seed + 1)
        got = np.frombuffer(bytes(first.data), np.uint8).reshape(expected["image"].shape)
        np.testing.assert_array_equal(got, expected["image"])
        summary = json.loads(summaries[-1].data)
        assert summary["aborted"] and summary["episode"] == 0 and summary["length"] == 2
        assert probe.spin_until(
            lambda: any(parse_step_label(s.layout.dim[0].label) == (1, 0) for s in states), 3.0
        )
        assert bridge.alive()
