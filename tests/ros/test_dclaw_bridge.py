"""The D'Claw over ROS with real nodes: JointState out, joint targets in, bad commands refused."""

from __future__ import annotations

import math
import os
import pty

import numpy as np
import pytest
from builtin_interfaces.msg import Duration
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray, UInt32
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from sim_bridges.dclaw.models import RobelModelsMissingError, find_models_dir
from sim_bridges.dclaw.spec import JOINT_NAMES, RESET_POSE
from training.deploy import deploy, rollout_in_process
from training.ros_launch import NodeProcess

pytestmark = pytest.mark.ros

# Within the sim's action range and the SafetyLayer's band, less than 1.5 rad from the reset pose.
TARGET_A = np.array([0.2, -0.6, 0.9] * 3)
TARGET_B = np.array([-0.2, -0.3, 1.2, 0.1, -0.8, 0.5, 0.0, -0.5, 1.0])
MISSING_DEVICE = "/dev/ttyUSB_asymlearn_missing"
NO_DYNAMIXEL_SDK = "dynamixel-sdk is not installed (pip install -e '.[hardware]')"


def _need_robel_models() -> None:
    try:
        find_models_dir()
    except RobelModelsMissingError as exc:
        pytest.skip(f"D'Claw model files missing: {exc}")


@pytest.fixture
def claw_bridge(ros_env):
    _need_robel_models()
    args = [
        "--ros-args",
        "-p",
        "env_name:=dclaw_turn",
        "-p",
        "env_kwargs:='{horizon: 10000, image_size: 32}'",  # one long episode: no reset mid-test
        "-p",
        "mode:=realtime",
    ]
    with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
        assert bridge.wait_for_output("sim bridge ready", 30.0), bridge.output()
        yield bridge


def _latest_positions(states: list[JointState]) -> np.ndarray:
    return np.asarray(states[-1].position)


def _trajectory(names: list[str], positions: list[float]) -> JointTrajectory:
    msg = JointTrajectory()
    msg.joint_names = names
    msg.points = [JointTrajectoryPoint(positions=positions, time_from_start=Duration(sec=1))]
    return msg


def _converged(states: list[JointState], target: np.ndarray, tol: float) -> bool:
    return bool(states) and float(np.max(np.abs(_latest_positions(states) - target))) < tol


def test_joint_states_and_targets_move_the_simulated_claw(claw_bridge, probe) -> None:
    states = probe.collect(JointState, "joint_states")
    images = probe.collect(Image, "image")
    trajectory = probe.node.create_publisher(JointTrajectory, "joint_trajectory", 10)
    commands = probe.node.create_publisher(Float64MultiArray, "joint_commands", 10)
    assert probe.spin_until(lambda: len(states) >= 3 and len(images) >= 3, 15.0), claw_bridge.output()
    first = states[0]
    assert list(first.name) == list(JOINT_NAMES)
    assert len(first.position) == len(first.velocity) == 9
    # Held at the reset pose by the position servos; under gravity the middle joints settle
    # ~0.03 rad low (measured 0.032), and a late subscriber's first state is already settled.
    np.testing.assert_allclose(first.position, RESET_POSE, atol=0.05)
    assert (images[0].height, images[0].width, images[0].encoding) == (32, 32, "rgb8")
    # The JointState of a step carries the image's simulation stamp (pair them by stamp: the two
    # subscriptions may have matched at different steps).
    image_stamps = {(i.header.stamp.sec, i.header.stamp.nanosec) for i in images}
    assert any((j.header.stamp.sec, j.header.stamp.nanosec) in image_stamps for j in states), (
        [j.header.stamp for j in states],
        image_stamps,
    )

    # A trajectory lists the joints in any order: they are matched by name.
    order = list(reversed(range(9)))
    msg = _trajectory([JOINT_NAMES[i] for i in order], [float(TARGET_A[i]) for i in order])
    start = len(states)
    error_before = float(np.max(np.abs(_latest_positions(states) - TARGET_A)))
    assert error_before > 0.3
    assert probe.spin_until(
        lambda: _converged(states, TARGET_A, 0.05), 10.0, each=lambda: trajectory.publish(msg)
    ), f"last positions {states[-1].position}, target {TARGET_A}"
    assert len(states) - start <= 40, "took more than 4 s of simulation time"

    assert probe.spin_until(
        lambda: _converged(states, TARGET_B, 0.05),
        10.0,
        each=lambda: commands.publish(Float64MultiArray(data=TARGET_B.tolist())),
    ), f"last positions {states[-1].position}, target {TARGET_B}"
    assert claw_bridge.alive()


def test_bad_joint_commands_are_refused_and_the_bridge_keeps_running(claw_bridge, probe) -> None:
    states = probe.collect(JointState, "joint_states")
    rejected = probe.collect(UInt32, "/sim_bridge/rejected_commands")
    trajectory = probe.node.create_publisher(JointTrajectory, "joint_trajectory", 10)
    commands = probe.node.create_publisher(Float64MultiArray, "joint_commands", 10)
    assert probe.spin_until(
        lambda: (
            len(states) >= 2
            and trajectory.get_subscription_count() > 0
            and commands.get_subscription_count() > 0
        ),
        15.0,
    ), claw_bridge.output()
    # Hold a known target first: refused commands must leave it unchanged.
    assert probe.spin_until(
        lambda: _converged(states, TARGET_A, 0.05),
        10.0,
        each=lambda: commands.publish(Float64MultiArray(data=TARGET_A.tolist())),
    ), claw_bridge.output()
    far = TARGET_A.copy()
    far[4] = 3.0  # MFJ21 far beyond the safe band: refused, not clamped
    jump = TARGET_A.copy()
    jump[1] += 1.7  # FFJ11 to 1.1 rad: inside the band but a 1.7 rad jump
    bad = [
        (commands, Float64MultiArray(data=[0.1] * 8)),  # wrong length
        (commands, Float64MultiArray(data=[*TARGET_A[:8], math.nan])),  # NaN
        (commands, Float64MultiArray(data=far.tolist())),  # unsafe: outside the band
        (commands, Float64MultiArray(data=jump.tolist())),  # unsafe: jump
        (trajectory, _trajectory([*JOINT_NAMES[:8], "valve_OBJRx"], TARGET_B.tolist())),  # wrong name
        (trajectory, _trajectory(list(JOINT_NAMES), [0.0] * 5)),  # too few positions
        (trajectory, JointTrajectory(joint_names=list(JOINT_NAMES))),  # no points
    ]
    # One at a time, repeated until its refusal is counted (the first messages after discovery
    # may be lost), so every kind is known to have been received and refused.
    count = 0
    for publisher, msg in bad:
        assert probe.spin_until(
            lambda c=count: bool(rejected) and rejected[-1].data > c,
            5.0,
            each=lambda p=publisher, m=msg: p.publish(m),
            period=0.2,
        ), (msg, claw_bridge.output())
        count = rejected[-1].data
    assert count >= len(bad)
    probe.spin_until(lambda: False, 0.5)
    # Nothing moved: the claw still holds TARGET_A.
    np.testing.assert_allclose(_latest_positions(states), TARGET_A, atol=0.05)
    assert claw_bridge.alive()
    assert "rejected so far" in claw_bridge.output()
    # ... and a good command still works afterwards.
    assert probe.spin_until(
        lambda: _converged(states, TARGET_B, 0.05),
        10.0,
        each=lambda: commands.publish(Float64MultiArray(data=TARGET_B.tolist())),
    )


def test_missing_serial_device_is_named_and_the_bridge_exits(ros_env) -> None:
    pytest.importorskip("dynamixel_sdk", reason=NO_DYNAMIXEL_SDK)
    args = [
        "--ros-args",
        "-p",
        "env_name:=dclaw_turn",
        "-p",
        "backend:=hardware",
        "-p",
        f"device:={MISSING_DEVICE}",
    ]
    with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
        assert bridge.wait_for_exit(20.0) == 1, bridge.output()
    output = bridge.output()
    assert "sim bridge failed to start" in output and MISSING_DEVICE in output, output
    assert "Traceback" not in output


def test_silent_bus_names_the_motor_and_the_bridge_exits(ros_env) -> None:
    """A pseudo-terminal is a real serial device on which no motor answers."""
    pytest.importorskip(
        "dynamixel_sdk", reason="dynamixel-sdk is not installed (pip install -e '.[hardware]')"
    )
    master, slave = pty.openpty()
    device = os.ttyname(slave)
    args = ["--ros-args", "-p", "env_name:=dclaw_turn", "-p", "backend:=hardware", "-p", f"device:={device}"]
    try:
        with NodeProcess("asymlearn_ros.sim_bridge_node", args, env=ros_env) as bridge:
            assert bridge.wait_for_exit(20.0) == 1, bridge.output()
    finally:
        os.close(master)
        os.close(slave)
    assert f"motor 10 on {device} did not answer a ping" in bridge.output(), bridge.output()


def test_deploy_dclaw_hardware_without_device_names_it(ros_env, models, tmp_path) -> None:
    pytest.importorskip("dynamixel_sdk", reason=NO_DYNAMIXEL_SDK)
    result = deploy(
        "dclaw_hardware",
        [f"sim_bridge.device={MISSING_DEVICE}", f"policy_node.model_path={models['claw']}"],
        timeout=30.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "node sim_bridge exited with 1", result
    log = (tmp_path / "deploy" / "sim_bridge.out").read_text()
    assert MISSING_DEVICE in log


def test_deploy_dclaw_sim_returns_equal_in_process(ros_env, models, tmp_path) -> None:
    _need_robel_models()
    seed, episodes = 2, 1
    expected = rollout_in_process("dclaw_turn", models["claw"], seed, episodes)
    result = deploy(
        "dclaw",
        [f"policy_node.model_path={models['claw']}", f"sim_bridge.seed={seed}"],
        episodes=episodes,
        timeout=60.0,
        env=ros_env,
        log_dir=tmp_path / "deploy",
    )
    assert result["exit"] == "episodes done", result
    assert result["returns"] == expected
    assert result["episodes"][0]["length"] == 40
