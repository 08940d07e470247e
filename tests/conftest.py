"""Shared fixtures: the ROS 2 harness (network discipline, isolation, cleanup) and a tiny demo set."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "ros2_ws" / "src" / "asymlearn_ros"))

from training.ros_launch import clean_fastdds_shm, discovery_env, isolation_problem  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """ROS tests never run outside a private namespace: skip them, naming why."""
    problem = isolation_problem()
    if problem is None:
        return
    skip = pytest.mark.skip(reason=problem)
    for item in items:
        if "ros" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _fastdds_shm_cleanup() -> Iterator[None]:
    yield
    clean_fastdds_shm()


@pytest.fixture
def ros_env(tmp_path: Path) -> dict[str, str]:
    """Environment for child ROS processes: localhost discovery, a fresh domain id, own log dir."""
    return discovery_env(tmp_path / "ros_log", domain_id=(os.getpid() % 100) + 1)


@pytest.fixture
def rclpy_context(ros_env: dict[str, str]) -> Iterator[object]:
    """An rclpy context in this process with the same discipline as the child processes."""
    import rclpy

    saved = {k: os.environ.get(k) for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "ROS_LOG_DIR")}
    for key in saved:
        os.environ[key] = ros_env[key]
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scripted cartpole-swingup demo at 16 px: real frames, cheap enough for any module."""
    from training.demos.collect import collect_demos

    out = tmp_path_factory.mktemp("demos") / "cartpole16"
    collect_demos("cartpole_swingup", 1, out, image_size=16)
    return out
