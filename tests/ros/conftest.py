"""Fixtures for the ROS node tests: exported test policies and a probe node."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny deterministic ONNX policies, exported once per test session."""
    from policy_models import export_fixed_policy

    root = tmp_path_factory.mktemp("models")
    return {
        "grid_a": export_fixed_policy(root / "grid_a.onnx", frame_window=2, seed=1),
        "grid_b": export_fixed_policy(root / "grid_b.onnx", frame_window=2, seed=2),
        "mono84": export_fixed_policy(root / "mono84.onnx", encoding="mono8", height=84, width=84, seed=3),
        "twist": export_fixed_policy(
            root / "twist.onnx",
            encoding="mono8",
            height=84,
            width=84,
            actions=2,
            discrete=False,
            seed=4,
            message={"type": "geometry_msgs/Twist", "fields": {"linear.x": 0, "angular.z": 1}},
        ),
        # [steer, pedal] from the driving scenario's 64x64 mono8 camera
        "drive": export_fixed_policy(
            root / "drive.onnx", encoding="mono8", height=64, width=64, actions=2, discrete=False, seed=5
        ),
        # 9 normalised D'Claw joint targets from its 128x128 rgb8 camera
        "claw": export_fixed_policy(
            root / "claw.onnx", height=128, width=128, actions=9, discrete=False, seed=6
        ),
    }


class Probe:
    """A node in the test process that publishes, collects and calls services."""

    def __init__(self, context: Any) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        self.node = Node("probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.received: dict[str, list[Any]] = {}

    def collect(self, msg_type: type, topic: str, qos: Any = 10) -> list[Any]:
        box: list[Any] = []
        self.received[topic] = box
        self.node.create_subscription(msg_type, topic, box.append, qos)
        return box

    def spin_until(
        self,
        done: Callable[[], bool],
        timeout: float = 10.0,
        each: Callable[[], None] | None = None,
        period: float = 0.05,
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            if each is not None:
                each()
            self.executor.spin_once(timeout_sec=period)
        return done()

    def call(self, srv_type: type, name: str, request: Any, timeout: float = 10.0) -> Any:
        client = self.node.create_client(srv_type, name)
        assert self.spin_until(client.service_is_ready, timeout), f"service {name} not available"
        future = client.call_async(request)
        assert self.spin_until(future.done, timeout), f"service {name} did not answer"
        return future.result()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


@pytest.fixture
def probe(rclpy_context: Any) -> Iterator[Probe]:
    p = Probe(rclpy_context)
    yield p
    p.close()
