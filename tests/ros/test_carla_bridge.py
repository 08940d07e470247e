"""carla-ros-bridge topic names over real nodes, with the embedded driving scenario (no CARLA server
here), and the CARLA bridge's clean failure without a server."""

from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32, Float32MultiArray, UInt32

from asymlearn_ros.carla_topics import carla_topics, control_message, control_to_action
from sim_bridges.api import IMAGE, STATE
from sim_bridges.driving.observations import STATE_NAMES
from sim_bridges.registry import make
from training.deploy import deploy, rollout_in_process
from training.ros_launch import NodeProcess

pytestmark = pytest.mark.ros

TOPICS = carla_topics("ego_vehicle")
EXPECTED_TYPES = {
    "/carla/ego_vehicle/rgb_front/image": "sensor_msgs/msg/Image",
    "/carla/ego_vehicle/rgb_front/camera_info": "sensor_msgs/msg/CameraInfo",
    "/carla/ego_vehicle/vehicle_control_cmd": "std_msgs/msg/Float32MultiArray",
    "/carla/ego_vehicle/odometry": "nav_msgs/msg/Odometry",
    "/carla/ego_vehicle/speedometer": "std_msgs/msg/Float32",
}
NO_CARLA_CLIENT = "the carla==0.9.16 client is not installed (pip install -e '.[carla]')"
X, Y, YAW, SPEED = (STATE_NAMES.index(n) for n in ("ego_x", "ego_y", "ego_yaw", "ego_speed"))


def _free_port() -> int:
    """A loopback port where nothing listens (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _count(*boxes: list) -> int:
    """Steps whose messages have all arrived."""
    return min(len(box) for box in boxes)


def _check_step(odometry: Odometry, speed: Float32, image: Image, obs: dict) -> None:
    """The bridge's messages of a step equal the in-process env's observation exactly."""
    state = obs[STATE]
    pose = odometry.pose.pose
    assert (pose.position.x, pose.position.y) == (float(state[X]), float(state[Y]))
    assert math.atan2(pose.orientation.z, pose.orientation.w) * 2 == pytest.approx(
        float(state[YAW]), abs=1e-12
    )
    assert odometry.twist.twist.linear.x == float(state[SPEED]) == speed.data
    assert (odometry.header.frame_id, odometry.child_frame_id) == ("route", "ego_vehicle")
    assert odometry.header.stamp == image.header.stamp
    np.testing.assert_array_equal(np.frombuffer(bytes(image.data), np.uint8), obs[IMAGE].reshape(-1))


def test_carla_names_and_types_with_the_embedded_scenario(ros_env, probe) -> None:
    seed = 4
    args = [
        "--ros-args",
        "-p",
        "env_name:=occluded_pedestrian",
        "-p",
        "profile:=carla",
        "-p",
        f"seed:={seed}",
    ]
    with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
        assert bridge.wait_for_output("sim bridge ready", 30.0), bridge.output()
        images = probe.collect(Image, TOPICS["image"])
        infos = probe.collect(CameraInfo, TOPICS["camera_info"])
        odoms = probe.collect(Odometry, TOPICS["odometry"])
        speeds = probe.collect(Float32, TOPICS["speedometer"])
        rejected = probe.collect(UInt32, "/sim_bridge/rejected_commands")
        control = probe.node.create_publisher(Float32MultiArray, TOPICS["action"], 10)
        assert probe.spin_until(lambda: bool(images and infos and odoms and speeds), 20.0), bridge.output()
        assert probe.spin_until(lambda: control.get_subscription_count() > 0, 5.0)
        types = dict(probe.node.get_topic_names_and_types())
        for topic, type_name in EXPECTED_TYPES.items():
            assert types.get(topic) == [type_name], (topic, types.get(topic))
        assert (images[0].encoding, images[0].height, images[0].width) == ("mono8", 64, 64)
        assert (infos[0].height, infos[0].width) == (64, 64)

        env = make("occluded_pedestrian")
        obs, _ = env.reset(seed=seed)
        _check_step(odoms[0], speeds[0], images[0], obs)
        # CARLA conventions: throttle, steer (right +), brake. Full throttle, then left, then brake.
        controls = [(0.8, 0.0, 0.0), (0.8, 0.0, 0.0), (0.0, -0.4, 0.0), (0.3, 0.2, 0.0), (0.0, 0.0, 1.0)]
        for k, values in enumerate(controls, start=1):
            control.publish(control_message(np.array(values)))
            assert probe.spin_until(lambda k=k: _count(images, odoms, speeds) > k, 5.0), bridge.output()
            obs, *_ = env.step(control_to_action(np.array(values)))
            _check_step(odoms[k], speeds[k], images[k], obs)
        assert float(obs[STATE][YAW]) > 0.0  # a left turn in CARLA's steer sign turned the car left

        # Malformed controls: refused one by one (repeated until counted), no step taken.
        count, steps = 0, len(images)
        for bad in ([0.5, 0.0], [math.nan, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 0.0, -0.2], [0.0, 2.0, 0.0]):
            msg = Float32MultiArray(data=bad)
            assert probe.spin_until(
                lambda c=count: bool(rejected) and rejected[-1].data > c,
                5.0,
                each=lambda m=msg: control.publish(m),
                period=0.2,
            ), (bad, bridge.output())
            count = rejected[-1].data
        assert len(images) == steps and bridge.alive()
        good = (0.5, 0.0, 0.0)
        control.publish(control_message(np.array(good)))
        assert probe.spin_until(lambda: _count(images, odoms, speeds) > steps, 5.0), bridge.output()
        obs, *_ = env.step(control_to_action(np.array(good)))
        _check_step(odoms[steps], speeds[steps], images[steps], obs)
        env.close()


def test_carla_launch_drives_the_embedded_scenario_like_in_process(ros_env, models, tmp_path) -> None:
    seed, episodes = 7, 2
    expected = rollout_in_process("occluded_pedestrian", models["drive"], seed, episodes)
    result = deploy(
        "carla",
        [
            "sim_bridge.env_name=occluded_pedestrian",  # the launch file's topics without a CARLA server
            f"sim_bridge.seed={seed}",
            f"policy_node.model_path={models['drive']}",
        ],
        episodes=episodes,
        timeout=120.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "episodes done", result
    assert result["returns"] == expected
    assert "vehicle_control" in (tmp_path / "deploy" / "policy_node.out").read_text()


def test_carla_bridge_without_server_fails_at_start_naming_host_port(ros_env) -> None:
    pytest.importorskip(
        "carla", reason="the carla==0.9.16 client is not installed (pip install -e '.[carla]')"
    )
    port = _free_port()
    args = [
        "--ros-args",
        "-p",
        "env_name:=carla_occluded_pedestrian",
        "-p",
        "carla_host:=127.0.0.1",
        "-p",
        f"carla_port:={port}",
        "-p",
        "carla_timeout_s:=1.0",
        "-p",
        "carla_connect_attempts:=1",
    ]
    start = time.monotonic()
    with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
        code = bridge.wait_for_exit(30.0)
        elapsed = time.monotonic() - start
        assert code == 1, bridge.output()
    output = bridge.output()
    assert "sim bridge failed to start" in output and f"127.0.0.1:{port}" in output, output
    assert "Traceback" not in output
    # one 1 s attempt plus process start-up (imports, rclpy); generous for a loaded 2-core machine
    assert elapsed < 20.0, elapsed


def test_deploy_carla_without_server_names_host_port(ros_env, models, tmp_path) -> None:
    pytest.importorskip(
        "carla", reason="the carla==0.9.16 client is not installed (pip install -e '.[carla]')"
    )
    port = _free_port()
    result = deploy(
        "carla",
        [
            f"sim_bridge.carla_port={port}",
            "sim_bridge.carla_timeout_s=1.0",
            "sim_bridge.carla_connect_attempts=1",
            f"policy_node.model_path={models['drive']}",
        ],
        timeout=40.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "node sim_bridge exited with 1", result
    assert f"127.0.0.1:{port}" in (tmp_path / "deploy" / "sim_bridge.out").read_text()
