"""Two real nodes in separate processes exchange a camera image over DDS."""

from __future__ import annotations

import time

import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from asymlearn_ros.ros_image import to_image_msg
from training.ros_launch import NodeProcess

pytestmark = pytest.mark.ros


def test_image_round_trip_through_echo_node(ros_env, rclpy_context) -> None:
    frame = (np.arange(84 * 84, dtype=np.uint32) % 251).astype(np.uint8).reshape(84, 84, 1)
    received: list[Image] = []
    with NodeProcess("asymlearn_ros.image_echo", env=ros_env) as echo:
        assert echo.wait_for_output("echoing"), echo.output()
        node = Node("round_trip_test", context=rclpy_context)
        executor = SingleThreadedExecutor(context=rclpy_context)
        executor.add_node(node)
        pub = node.create_publisher(Image, "image", 10)
        node.create_subscription(Image, "image_echo", received.append, 10)
        deadline = time.monotonic() + 20.0
        while not received and time.monotonic() < deadline:
            pub.publish(to_image_msg(frame, "mono8"))
            executor.spin_once(timeout_sec=0.1)
        executor.shutdown()
        node.destroy_node()
        assert echo.alive(), echo.output()
    assert received, "no image came back through the echo node within 20 s"
    msg = received[0]
    assert (msg.height, msg.width, msg.encoding, msg.step) == (84, 84, "mono8", 84)
    echoed = np.frombuffer(bytes(msg.data), np.uint8).reshape(84, 84, 1)
    np.testing.assert_array_equal(echoed, frame)
