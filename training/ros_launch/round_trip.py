"""A real camera-image round trip through a node in another process: proof that ROS 2 works."""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np

from training.ros_launch.environment import discovery_env
from training.ros_launch.processes import NodeProcess, ros_package_path


def image_round_trip(count: int = 50, size: tuple[int, int] = (84, 84), timeout_s: float = 20.0) -> dict:
    """Send `count` mono8 images through the image_echo node; return latency figures (ms).

    Raises RuntimeError naming the problem if the node does not start or nothing comes back.
    """
    import sys

    sys.path.insert(0, str(ros_package_path()))
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    from asymlearn_ros.ros_image import to_image_msg

    log_dir = tempfile.mkdtemp(prefix="asymlearn-roundtrip-")
    env = discovery_env(log_dir, domain_id=int(os.environ.get("ROS_DOMAIN_ID", "0")) or None)
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR")})
    rng = np.random.default_rng(0)
    latencies: list[float] = []
    with NodeProcess("asymlearn_ros.image_echo", env=env) as echo:
        if not echo.wait_for_output("echoing", timeout=timeout_s):
            raise RuntimeError(f"image_echo node did not start:\n{echo.output()}")
        context = rclpy.Context()
        rclpy.init(context=context)
        try:
            node = Node("round_trip_demo", context=context)
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            inbox: list = []
            pub = node.create_publisher(Image, "image", 10)
            node.create_subscription(Image, "image_echo", inbox.append, 10)
            deadline = time.monotonic() + timeout_s
            while not inbox and time.monotonic() < deadline:  # wait for discovery
                pub.publish(to_image_msg(np.zeros((*size, 1), np.uint8), "mono8"))
                executor.spin_once(timeout_sec=0.1)
            if not inbox:
                raise RuntimeError(f"no image came back from image_echo within {timeout_s} s")
            for _ in range(count):
                inbox.clear()
                frame = rng.integers(0, 256, (*size, 1), dtype=np.uint8)
                t0 = time.perf_counter()
                pub.publish(to_image_msg(frame, "mono8"))
                while not inbox and time.perf_counter() - t0 < 5.0:
                    executor.spin_once(timeout_sec=0.01)
                if not inbox or bytes(inbox[-1].data) != frame.tobytes():
                    raise RuntimeError("an echoed image was lost or corrupted")
                latencies.append((time.perf_counter() - t0) * 1e3)
            executor.shutdown()
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)
    return {
        "count": count,
        "median_ms": statistics.median(latencies),
        "p99_ms": float(np.percentile(latencies, 99)),
    }
