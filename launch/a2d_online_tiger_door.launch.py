"""Online A2D on Tiger Door: two batch bridges + the A2D trainer (config/a2d_online_tiger_door.yaml).

Declarative like the other launch files, so `asymlearn deploy a2d_online_tiger_door` can read
it without `launch`; `asymlearn train-online --bridges N` starts the same nodes for any N.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch_ros.actions import Node

from launch import LaunchDescription

CONFIG = os.path.join(get_package_share_directory("asymlearn_ros"), "config", "a2d_online_tiger_door.yaml")


def generate_launch_description():
    return LaunchDescription(
        [
            Node(
                package="asymlearn_ros",
                executable="batch_bridge_node",
                name="batch_bridge",
                namespace="bridge0",
                parameters=[CONFIG],
                output="screen",
            ),
            Node(
                package="asymlearn_ros",
                executable="batch_bridge_node",
                name="batch_bridge",
                namespace="bridge1",
                parameters=[CONFIG],
                output="screen",
            ),
            Node(
                package="asymlearn_ros",
                executable="a2d_trainer_node",
                name="a2d_trainer",
                parameters=[CONFIG],
                output="screen",
            ),
        ]
    )
