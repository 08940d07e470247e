"""Republishes every image it receives: the DDS round-trip floor for latency benchmarks,
and the smallest real node the setup command uses to prove ROS 2 works end to end."""

from __future__ import annotations

from rclpy.node import Node
from sensor_msgs.msg import Image

from asymlearn_ros.node_main import run_node


class ImageEcho(Node):
    def __init__(self) -> None:
        super().__init__("image_echo")
        self.declare_parameter("input_topic", "image")
        self.declare_parameter("output_topic", "image_echo")
        in_topic = self.get_parameter("input_topic").value
        out_topic = self.get_parameter("output_topic").value
        self._pub = self.create_publisher(Image, out_topic, 10)
        self.create_subscription(Image, in_topic, self._pub.publish, 10)
        self.get_logger().info(f"echoing {in_topic} -> {out_topic}")


def main(args: list[str] | None = None) -> None:
    run_node(ImageEcho, "image echo", args)


if __name__ == "__main__":
    main()
