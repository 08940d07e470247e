"""CARLA control and D'Claw joint message conversions of the bridge (no DDS traffic: safe anywhere)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from std_msgs.msg import Float32MultiArray, Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from asymlearn_ros.action_messages import VEHICLE_CONTROL, ActionEncoder, decode_action, message_class
from asymlearn_ros.carla_topics import (
    CONTROL_LABEL,
    action_to_control,
    carla_topics,
    control_to_action,
    odometry_message,
)
from asymlearn_ros.joint_commands import joint_state_message, targets_from_message
from asymlearn_ros.sim_bridge_node import resolve_profile
from policies.metadata import ActionSpec, MessageMapping

NAMES = ("A", "B", "C")


def test_carla_topic_names_follow_the_carla_ros_bridge() -> None:
    topics = carla_topics("hero")
    assert topics["image"] == "/carla/hero/rgb_front/image"
    assert topics["camera_info"] == "/carla/hero/rgb_front/camera_info"
    assert topics["action"] == "/carla/hero/vehicle_control_cmd"
    assert topics["odometry"] == "/carla/hero/odometry"


@pytest.mark.parametrize(
    ("action", "control"),
    [
        ((0.0, 1.0), (1.0, 0.0, 0.0)),  # straight, full throttle
        ((0.5, -0.25), (0.0, -0.5, 0.25)),  # left (env +) is CARLA's negative steer; braking
        ((-1.0, 0.0), (0.0, 1.0, 0.0)),  # full right
    ],
)
def test_action_and_vehicle_control_convert_both_ways(action, control) -> None:
    np.testing.assert_array_equal(action_to_control(np.array(action)), np.array(control, np.float32))
    np.testing.assert_array_equal(control_to_action(np.array(control)), np.array(action, np.float32))


def test_throttle_and_brake_together_give_their_difference() -> None:
    np.testing.assert_allclose(control_to_action(np.array([0.75, 0.0, 0.25])), [0.0, 0.5])


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([0.1, 0.2], "needs 3 values"),
        ([math.nan, 0.0, 0.0], "non-finite"),
        ([1.5, 0.0, 0.0], "throttle 1.5 outside"),
        ([0.0, -1.2, 0.0], "steer -1.2 outside"),
        ([0.0, 0.0, -0.1], "brake -0.1 outside"),
    ],
)
def test_bad_vehicle_control_raises_naming_the_problem(values, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        control_to_action(np.array(values))


def test_policy_encoder_publishes_labelled_vehicle_control() -> None:
    spec = ActionSpec(kind="continuous", size=2, low=[-1.0, -1.0], high=[1.0, 1.0])
    spec.message = MessageMapping(type="std_msgs/Float32MultiArray")
    encoder = ActionEncoder(spec, vehicle_control=True)
    assert encoder.type_name == VEHICLE_CONTROL and encoder.msg_class is Float32MultiArray
    msg = encoder.encode(np.array([0.25, -0.5], np.float32))
    assert msg.layout.dim[0].label == CONTROL_LABEL == "throttle,steer,brake"
    np.testing.assert_allclose(msg.data, [0.0, -0.25, 0.5])
    # the bridge decodes it back to the policy's action exactly
    np.testing.assert_array_equal(decode_action(msg, False, 2, vehicle_control=True), [0.25, -0.5])
    np.testing.assert_allclose(encoder.safe([0.0, -1.0]).data, [0.0, 0.0, 1.0])


def test_vehicle_control_needs_a_two_dimensional_continuous_policy() -> None:
    spec = ActionSpec(kind="continuous", size=3, message=MessageMapping(type="std_msgs/Float32MultiArray"))
    with pytest.raises(ValueError, match="continuous \\[steer, pedal\\]"):
        ActionEncoder(spec, vehicle_control=True)
    with pytest.raises(ValueError, match="vehicle_control"):
        message_class("carla_msgs/CarlaEgoVehicleControl")


def test_non_finite_actions_are_refused() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        decode_action(Float32MultiArray(data=[0.0, math.nan]), False, 2)
    with pytest.raises(ValueError, match="non-finite"):
        decode_action(Float32MultiArray(data=[math.inf]), True, 1)


def test_odometry_carries_pose_yaw_and_forward_speed() -> None:
    msg = odometry_message(3.0, -1.75, 0.3, 6.5, Time(sec=2), "route", "ego")
    assert (msg.pose.pose.position.x, msg.pose.pose.position.y) == (3.0, -1.75)
    assert 2 * math.atan2(msg.pose.pose.orientation.z, msg.pose.pose.orientation.w) == pytest.approx(0.3)
    assert msg.twist.twist.linear.x == 6.5
    assert (msg.header.frame_id, msg.child_frame_id, msg.header.stamp.sec) == ("route", "ego", 2)


def test_joint_state_lists_names_positions_velocities() -> None:
    msg = joint_state_message(NAMES, np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3]))
    assert list(msg.name) == list(NAMES)
    assert list(msg.position) == [1.0, 2.0, 3.0] and list(msg.velocity) == [0.1, 0.2, 0.3]


def test_trajectory_targets_are_matched_by_name_from_the_last_point() -> None:
    msg = JointTrajectory(joint_names=["C", "A", "B"])
    msg.points = [
        JointTrajectoryPoint(positions=[9.0, 9.0, 9.0]),
        JointTrajectoryPoint(positions=[3.0, 1.0, 2.0]),
    ]
    np.testing.assert_array_equal(targets_from_message(msg, NAMES), [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("msg", "problem"),
    [
        (Float64MultiArray(data=[1.0, 2.0]), "needs 3 positions"),
        (Float64MultiArray(data=[1.0, math.nan, 2.0]), "non-finite joint targets for B"),
        (JointTrajectory(joint_names=["A", "B", "X"]), r"unknown \['X'\], missing \['C'\]"),
        (JointTrajectory(joint_names=["A", "B", "B", "C"]), "once"),
        (JointTrajectory(joint_names=["A", "B", "C"]), "no points"),
    ],
)
def test_bad_joint_commands_raise_naming_the_problem(msg, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        targets_from_message(msg, NAMES)


def test_profiles_follow_the_environment_name() -> None:
    assert resolve_profile("auto", "dclaw_screw") == "dclaw"
    assert resolve_profile("auto", "carla_occluded_pedestrian") == "carla"
    assert resolve_profile("auto", "occluded_pedestrian") == "generic"
    assert resolve_profile("carla", "occluded_pedestrian") == "carla"
    with pytest.raises(ValueError, match="profile must be one of"):
        resolve_profile("ros1", "tiger_door")
