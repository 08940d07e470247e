"""Starting batch bridges and the online trainer for the online A2D tests."""

from __future__ import annotations

from pathlib import Path

from training.ros_launch import NodeProcess


def bridge(ros_env: dict[str, str], ns: str, num_envs: int, log_dir: Path) -> NodeProcess:
    """A batch_bridge node in namespace ``ns`` holding ``num_envs`` Tiger Door copies."""
    args = ["--ros-args", "-r", f"__ns:=/{ns}", "-p", f"num_envs:={num_envs}", "-p", "env_name:=tiger_door"]
    return NodeProcess("asymlearn_ros.batch_bridge_node", args, env=ros_env, log_path=log_dir / f"{ns}.out")


def trainer(ros_env: dict[str, str], params: dict[str, object], log_path: Path) -> NodeProcess:
    """The a2d_trainer node in its own process, with the given parameters."""
    args = ["--ros-args"]
    for key, value in params.items():
        args += ["-p", f"{key}:={value}"]
    return NodeProcess("asymlearn_ros.a2d_trainer_node", args, env=ros_env, log_path=log_path)
