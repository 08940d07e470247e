"""Message <-> numpy conversions of the nodes (no DDS traffic: safe anywhere)."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_msgs.msg import Twist
from std_msgs.msg import Float32MultiArray, Float64MultiArray, Int32

from asymlearn_ros.action_messages import ActionEncoder, decode_action, parse_mapping, resolve_mapping
from asymlearn_ros.diagnostics import LatencyWindow
from asymlearn_ros.ros_image import ImageFormatError, image_from_msg, to_image_msg
from asymlearn_ros.sim_bridge_node import parse_step_label, sim_stamp, step_label
from policies.metadata import ActionSpec, MessageMapping, MetadataError


def test_image_message_decodes_to_the_same_pixels() -> None:
    image = np.arange(6 * 5 * 3, dtype=np.uint8).reshape(6, 5, 3)
    np.testing.assert_array_equal(image_from_msg(to_image_msg(image, "bgr8")), image)


def test_padded_rows_are_skipped() -> None:
    msg = to_image_msg(np.ones((4, 3, 1), np.uint8), "mono8")
    msg.step = 8
    msg.data = bytes([1, 1, 1, 0, 0, 0, 0, 0] * 4)
    assert image_from_msg(msg).shape == (4, 3, 1)
    assert image_from_msg(msg).min() == 1


@pytest.mark.parametrize("damage", ["length", "step", "encoding", "zero"])
def test_malformed_images_raise_image_format_error(damage: str) -> None:
    msg = to_image_msg(np.zeros((4, 4, 3), np.uint8), "rgb8")
    if damage == "length":
        msg.data = bytes(msg.data)[:-1]
    elif damage == "step":
        msg.step = 4
    elif damage == "encoding":
        msg.encoding = "yuv422"
    else:
        msg.height = msg.width = msg.step = 0
        msg.data = b""
    with pytest.raises(ImageFormatError):
        image_from_msg(msg)


def test_discrete_action_round_trips_through_int32() -> None:
    spec = resolve_mapping(ActionSpec(kind="discrete", size=4), "auto")
    encoder = ActionEncoder(spec)
    msg = encoder.encode(3)
    assert isinstance(msg, Int32) and msg.data == 3
    assert decode_action(msg, discrete=True, action_dim=1) == 3


@pytest.mark.parametrize("type_name", ["std_msgs/Float32MultiArray", "std_msgs/Float64MultiArray"])
def test_continuous_action_round_trips_exactly(type_name: str) -> None:
    spec = resolve_mapping(ActionSpec(kind="continuous", size=3), type_name)
    action = np.array([0.1, -0.7, 1e-3], np.float32)
    msg = ActionEncoder(spec).encode(action)
    assert isinstance(msg, Float32MultiArray if "32" in type_name else Float64MultiArray)
    back = decode_action(msg, discrete=False, action_dim=3)
    np.testing.assert_array_equal(back, action)


def test_twist_mapping_and_scales_round_trip() -> None:
    spec = resolve_mapping(
        ActionSpec(kind="continuous", size=2), "geometry_msgs/Twist", "angular.z=0,linear.x=1", "linear.x=2.0"
    )
    msg = ActionEncoder(spec).encode(np.array([0.5, 0.25], np.float32))
    assert isinstance(msg, Twist)
    assert (msg.linear.x, msg.angular.z, msg.linear.y) == (0.5, 0.5, 0.0)
    back = decode_action(msg, False, 2, parse_mapping("angular.z=0,linear.x=1"), {"linear.x": 2.0})
    np.testing.assert_array_equal(back, np.array([0.5, 0.25], np.float32))


def test_embedded_mapping_is_used_and_safe_action_is_a_separate_message() -> None:
    mapping = MessageMapping(type="geometry_msgs/Twist", fields={"linear.x": 1, "angular.z": 0})
    spec = resolve_mapping(ActionSpec(kind="continuous", size=2, message=mapping), "auto")
    encoder = ActionEncoder(spec)
    safe = encoder.safe([0.0, -1.0])
    encoder.encode(np.array([0.3, 0.4], np.float32))
    assert (safe.linear.x, safe.angular.z) == (-1.0, 0.0)


def test_int32_for_a_continuous_policy_is_refused() -> None:
    with pytest.raises(MetadataError):
        resolve_mapping(ActionSpec(kind="continuous", size=2), "std_msgs/Int32")


def test_wrong_action_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        decode_action(Float32MultiArray(data=[1.0]), discrete=False, action_dim=2)
    with pytest.raises(ValueError):
        decode_action(Int32(data=1), discrete=False, action_dim=2)


def test_step_label_and_sim_stamp() -> None:
    assert parse_step_label(step_label(3, 17)) == (3, 17)
    stamp = sim_stamp(25, 10.0)
    assert (stamp.sec, stamp.nanosec) == (2, 500_000_000)


def test_latency_window_percentiles() -> None:
    window = LatencyWindow(size=100)
    for i in range(250):
        window.record((i % 100) / 1000.0)
    stats = window.stats_ms()
    assert window.count == 250
    assert stats["max"] == pytest.approx(99.0)
    assert stats["p50"] == pytest.approx(49.5)
