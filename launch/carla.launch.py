"""Occluded pedestrian on a CARLA server with carla-ros-bridge topic names (config/carla.yaml).

The bridge (profile carla) publishes /carla/ego_vehicle/rgb_front/image, .../camera_info,
.../odometry and .../speedometer and takes /carla/ego_vehicle/vehicle_control_cmd; the
policy node reads and writes those topics (parameters image_topic / action_topic).

Kept declarative on purpose: `asymlearn deploy carla` reads the Node(...) calls of this
file without importing launch (see training/deploy.py for the supported subset), so
both runners start the same nodes with the same parameters.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch_ros.actions import Node

from launch import LaunchDescription

CONFIG = os.path.join(get_package_share_directory("asymlearn_ros"), "config", "carla.yaml")


def generate_launch_description():
    return LaunchDescription(
        [
            Node(
                package="asymlearn_ros",
                executable="sim_bridge_node",
                name="sim_bridge",
                parameters=[CONFIG],
                output="screen",
            ),
            Node(
                package="asymlearn_ros",
                executable="policy_node",
                name="policy_node",
                parameters=[CONFIG],
                output="screen",
            ),
        ]
    )
