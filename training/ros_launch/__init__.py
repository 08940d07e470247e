"""Starting ROS 2 processes safely: network discipline, private namespaces, guaranteed cleanup.

Used by tests, benchmarks, the demo and `asymlearn deploy` on machines without `ros2 launch`.
"""

from training.ros_launch.environment import (
    discovery_env,
    in_private_netns,
    isolation_problem,
    reexec_in_private_netns,
)
from training.ros_launch.processes import NodeProcess, clean_fastdds_shm, ros_package_path

__all__ = [
    "NodeProcess",
    "clean_fastdds_shm",
    "discovery_env",
    "in_private_netns",
    "isolation_problem",
    "reexec_in_private_netns",
    "ros_package_path",
]
